"""The `leian` command as a user runs it: a real process, real files, exit codes and messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES
from tests.service.conftest import Built

LEIAN = [sys.executable, "-m", "service.cli"]


def run(*args: str, data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEIAN_DATABASE_URL": "", "PYTHONIOENCODING": "utf-8"}
    env.pop("LEIAN_DATABASE_URL")
    return subprocess.run(
        [*LEIAN, *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, input=stdin, env=env, timeout=300, check=False,
    )


def test_ingest_then_export_round_trip(tmp_path: Path) -> None:
    sources = [SAMPLES / "lecard_v1_sample.jsonl", SAMPLES / "traffic_cards_2019.csv"]
    done = run("ingest", *map(str, sources), "--json", "-q", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["read"] == 530 and report["stored"] == 530 and report["rejected"] == 0
    assert report["by_charge"]["交通肇事罪"] == 503  # 500 cards + 3 LeCaRD queries

    again = run("ingest", *map(str, sources), "--json", "-q", data_dir=tmp_path)
    assert json.loads(again.stdout)["unchanged"] == 530

    exported = run("export", data_dir=tmp_path)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(x) for x in exported.stdout.splitlines()]
    assert len(lines) == 530
    assert {"case_id", "facts", "charges", "outcome", "circumstances", "quantities", "flags"} <= set(lines[0])


def test_ingest_human_report_names_quarantine_file(tmp_path: Path) -> None:
    line = (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[0]
    src = tmp_path / "two.jsonl"
    src.write_text(line + "\n" + line[:40] + "\n", encoding="utf-8")
    done = run("ingest", str(src), "-q", data_dir=tmp_path / "d")
    assert done.returncode == 0, done.stderr
    assert "rejected" in done.stdout and "quarantine" in done.stdout
    q = next((tmp_path / "d" / "quarantine").glob("*.jsonl"))
    entry = json.loads(q.read_text(encoding="utf-8").splitlines()[0])
    assert entry["location"] == f"{src}:2" and entry["field"] == "json"


def test_missing_source_fails_with_message(tmp_path: Path) -> None:
    done = run("ingest", str(tmp_path / "nope.jsonl"), "-q", data_dir=tmp_path)
    assert done.returncode != 0
    assert "nope.jsonl" in done.stderr and "no such file" in done.stderr


def test_search_without_index_says_to_build(tmp_path: Path) -> None:
    done = run("search", "被告人张某盗窃他人财物", data_dir=tmp_path)
    assert done.returncode != 0
    assert "leian build" in done.stderr


def _demo_draft() -> str:
    return json.loads((SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])["q"]


def test_search_prints_shared_charges_and_says_when_a_hit_states_no_outcome(built: Built) -> None:
    """The demo's example search, as a user runs it (README's -k): the LeCaRD paragraph is itself an
    ingested sample with facts only, so it comes first and must read "outcome not stated", not "None"."""
    done = run("search", _demo_draft(), "--charge", "危险驾驶", "-k", "5", data_dir=built.data_dir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("draft: charge 危险驾驶罪 (given)")
    hits = [line for line in lines if line.split(".")[0].strip().isdigit()]
    assert len(hits) == 5
    assert "outcome not stated" in hits[0]
    assert not any("| None" in line or "None |" in line for line in hits)
    whys = [line.strip() for line in lines if line.strip().startswith("why:")]
    assert len(whys) == 5 and all(w.startswith("why: same charge 危险驾驶罪") for w in whys)


def test_search_and_assess_print_words_not_python_lists(built: Built) -> None:
    """A newcomer saw `why: charges ['危险驾驶罪'] articles [] …`: lists are joined with 、, empty parts
    left out, articles spelled as the statute does, and key terms hold no bare numbers."""
    searched = run("search", _demo_draft(), "-c", "危险驾驶", "-k", "10", data_dir=built.data_dir)
    assessed = run("assess", _demo_draft(), "-c", "危险驾驶", "--type", "拘役", "--months", "5", data_dir=built.data_dir)
    for done in (searched, assessed):
        assert done.returncode == 0, done.stderr
        assert not re.search(r"\[\]|\['|None|\{", done.stdout), done.stdout
    whys = [line.strip() for line in searched.stdout.splitlines() if line.strip().startswith("why:")]
    assert not any(re.search(r"articles;|circumstances;|terms $", w) for w in whys)
    terms = [t for w in whys if "terms " in w for t in w.split("terms ")[1].split("、")]
    assert terms and not [t for t in terms if any(ch.isdigit() for ch in t)]
    lines = assessed.stdout.splitlines()
    assert lines[0].startswith("draft: charge 危险驾驶罪 (given)")
    assert lines[1].startswith("expected: detention") and "calibration group 危险驾驶罪" in lines[1]
    assert any(line.startswith("deviation: ") for line in lines)


def test_why_in_words() -> None:
    from service.cli import _why_text

    why = {"shared_charges": ["危险驾驶罪"], "shared_articles": ["133之一"], "shared_circumstances": ["坦白", "自首"],
           "circumstances_only_in_draft": ["谅解"], "circumstances_only_in_case": [],
           "quantities": {"blood_alcohol_mg_100ml": {"draft": 150.0, "case": 224.5, "ratio": 1.5}},
           "key_terms": ["醉酒驾驶", "酒精"]}
    assert _why_text(why) == ("same charge 危险驾驶罪; articles 第一百三十三条之一; circumstances 坦白、自首 (draft only: 谅解); "
                              "blood alcohol 150 vs 224.5 mg/100ml; terms 醉酒驾驶、酒精")
    assert _why_text({key: [] for key in why} | {"quantities": {}}) == "similar wording only"


_IN_PROCESS = """
import json, sys
from indexing.charge_model import ChargePredictor
from indexing.sentencing import SentencingModel

loaded = []
for cls in (ChargePredictor, SentencingModel):
    def load(c, *args, _original=cls.load.__func__, **kwargs):
        loaded.append(c.__name__)
        return _original(c, *args, **kwargs)
    cls.load = classmethod(load)
from service.cli import app
app(sys.argv[1:], standalone_mode=False)
print(json.dumps({"loaded": loaded, "heavy": sorted(m for m in ("torch", "sentence_transformers", "transformers")
                                                       if m in sys.modules)}))
"""


def test_a_search_without_a_server_loads_only_what_the_answer_needs(built: Built) -> None:
    """`leian search` took 11-14 s: the in-process app loaded the whole index (the embedder through
    torch and sentence-transformers, the charge and sentencing models) and warmed it up, for one answer.
    Now a search with a charge loads neither model nor torch, and one without a charge adds only the
    charge model; the numbers are the model's (the numpy encoder is checked against the stored vectors)."""
    def answer(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-c", _IN_PROCESS, *args, "--data-dir", str(built.data_dir), "--server", "off"],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    assert answer("search", _demo_draft(), "-c", "危险驾驶", "-k", "3") == {"loaded": [], "heavy": []}
    assert answer("search", _demo_draft(), "-k", "3") == {"loaded": ["ChargePredictor"], "heavy": []}
    assessed = answer("assess", _demo_draft(), "-c", "危险驾驶")
    assert assessed == {"loaded": ["SentencingModel"], "heavy": []}


def test_the_lazy_index_answers_as_the_served_one(built: Built) -> None:
    """The CLI's one-shot index (no torch) finds the same cases with the same scores as the server's."""
    from indexing.artifacts import current_dir
    from indexing.search_index import SearchIndex
    from service.retrieve import prepare_draft, retrieve

    directory = current_dir(built.data_dir)
    served, lazy = SearchIndex(directory), SearchIndex(directory, lazy=True)
    texts = [json.loads(line)["q"] for line in (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()]
    for text in texts[:10]:
        expected = [(h.row, round(h.score, 5)) for h in retrieve(prepare_draft(text, served), served, 10)]
        assert [(h.row, round(h.score, 5)) for h in retrieve(prepare_draft(text, lazy), lazy, 10)] == expected
    assert lazy.embedder.dim == served.embedder.dim and "_array" in vars(lazy.embedder)
    assert vars(lazy.embedder)["_array"] is not None and vars(lazy.embedder)["_full"] is None  # torch never loaded


def test_search_uses_a_running_server_and_answers_the_same(built: Built, server: str) -> None:
    """With `leian serve` up, the CLI sends the request there (milliseconds instead of loading the index)
    and prints what the in-process answer prints."""
    here = run("search", _demo_draft(), "-c", "危险驾驶", "-k", "5", "--server", "off", data_dir=built.data_dir)
    there = run("search", _demo_draft(), "-c", "危险驾驶", "-k", "5", "--server", server, data_dir=built.data_dir)
    assert here.returncode == there.returncode == 0, there.stderr
    assert f"answered by the LeiAn server at {server}" in there.stderr and "answered by" not in here.stderr
    assert there.stdout == here.stdout
    bad = run("search", _demo_draft(), "-c", "不是罪名", "--server", server, data_dir=built.data_dir)
    assert bad.returncode == 2 and "unknown charge '不是罪名'" in bad.stderr


_THROUGH_SERVER = """
import json, sys
from service.cli import app
app(sys.argv[1:], standalone_mode=False)
print(json.dumps(sorted(m for m in ("fastapi", "faiss", "numpy", "sqlalchemy", "torch", "httpx") if m in sys.modules)))
"""


def test_an_answer_through_a_server_imports_no_heavy_library(built: Built, server: str) -> None:
    """Well under a second: the CLI process only reads the data dir's CURRENT and talks HTTP."""
    done = subprocess.run([sys.executable, "-c", _THROUGH_SERVER, "search", "被告人张某盗窃他人手机一部", "-k", "2",
                           "--server", server, "--data-dir", str(built.data_dir)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_a_server_is_used_unnamed_only_when_it_serves_this_data_dir(built: Built, server: str, tmp_path: Path) -> None:
    from service.cli import _live_server

    assert _live_server(server, built.data_dir, explicit=False) == server
    assert _live_server(server, tmp_path, explicit=False) is None  # another data dir (no index here)
    assert _live_server("http://127.0.0.1:9", built.data_dir, explicit=False) is None  # nothing listens
    down = run("search", "被告人张某盗窃他人财物", "--server", "http://127.0.0.1:9", data_dir=built.data_dir)
    assert down.returncode == 2 and "no LeiAn server answers at http://127.0.0.1:9" in down.stderr


def test_every_flag_the_readme_shows_exists() -> None:
    """README's `leian search … [-k 10]` failed with `No such option: -k`."""
    import typer

    from service.cli import app

    root = typer.main.get_command(app)
    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    checked = 0
    for line in (line.split("#")[0] for block in blocks for line in block.splitlines()):
        words = line.split()
        if not words or words[0] != "leian":
            continue
        command = root.commands[words[1]]  # type: ignore[attr-defined]
        if hasattr(command, "commands") and len(words) > 2:
            command = command.commands[words[2]]
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line):
            assert flag in known, f"README: `{line.strip()}`: {flag} is not an option of that command"
            checked += 1
    assert checked > 30


def test_cli_roles_are_the_key_roles() -> None:
    from service.cli_admin import RoleOption
    from service.keys import Role

    assert [r.value for r in RoleOption] == [r.value for r in Role]


def test_ingest_report_adds_up_and_says_what_is_not_searchable(tmp_path: Path) -> None:
    """On a fresh store the report said read 1898 / stored 1898 / stored new 1897 / unchanged 1, and
    nothing said why 500 stored cases would never be found. A record repeated across two sample files
    is now "repeated in this run", and the case cards are named as stored but not searchable."""
    done = run("ingest", str(SAMPLES), "-q", "--json", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    rep = json.loads(done.stdout)
    assert rep["read"] == rep["stored_new"] + rep["updated"] + rep["unchanged"] + rep["repeated"] + rep["rejected"]
    assert (rep["stored"], rep["stored_new"], rep["unchanged"], rep["repeated"]) == (1897, 1897, 0, 1)
    assert rep["repeated_at"] == {f"{SAMPLES}/judge_second_instance.jsonl:3": f"{SAMPLES}/judge_sample.jsonl:77"}
    assert rep["without_facts"] == {"traffic_card": 500}
    assert rep["statutes"] == rep["statutes_distinct"] == 452  # the file's last line has no newline: `wc -l` says 451
    again = run("ingest", str(SAMPLES), "-q", data_dir=tmp_path)
    assert again.returncode == 0, again.stderr
    text = " ".join(again.stdout.split())
    assert "unchanged │ 1897" in text and "repeated in this run │ 1" in text
    assert "500 traffic_card case cards carry no facts text: stored for sentencing statistics, not searchable" in text


def test_build_says_what_it_leaves_out(built: Built) -> None:
    from indexing.artifacts import current_dir, read_manifest
    from indexing.db import count_cases, make_engine
    from service.cli import not_indexed

    engine = make_engine(built.database_url)
    left_out = not_indexed(engine)
    assert list(left_out.values()) == [500]
    assert next(iter(left_out)).startswith("500 traffic_card case cards carry no facts text")
    assert read_manifest(current_dir(built.data_dir))["cases"] + 500 == count_cases(engine)
    engine.dispose()


def test_train_embedder_saves_a_loadable_sentence_transformers_model(tmp_path: Path) -> None:
    sources = [SAMPLES / "judge_sample.jsonl", SAMPLES / "lecard_v1_sample.jsonl"]
    assert run("ingest", *map(str, sources), "-q", data_dir=tmp_path).returncode == 0
    out = tmp_path / "model"
    done = run("train-embedder", str(out), "--epochs", "0", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    from indexing.embed import Embedder

    vectors = Embedder.load(str(out)).encode(["被告人醉酒驾驶机动车", "被告人盗窃他人财物"])
    assert vectors.shape[0] == 2 and abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4


_SERVE_UNTIL_UVICORN = """
import json, sys
import uvicorn
from threadpoolctl import threadpool_info

def report_instead_of_serving(app, **options):
    print(json.dumps([[pool["internal_api"], pool["num_threads"]] for pool in threadpool_info()]))

uvicorn.run = report_instead_of_serving
from service.cli import app
app(["serve", "--data-dir", sys.argv[1], "--workers", "1"], standalone_mode=False)
"""


def test_single_worker_serve_loads_numpy_with_one_blas_thread(tmp_path: Path) -> None:
    """`leian serve` limits OpenMP/BLAS to one thread before the app's imports load numpy and FAISS.

    With the limit set too late, OpenBLAS kept a second thread that spun on the other core after
    every matrix product. The real ``serve`` command runs here, up to the moment uvicorn would start.
    """
    if (os.cpu_count() or 1) < 2:
        import pytest

        pytest.skip("one core: the libraries default to one thread anyway")
    from service.cli import NATIVE_THREAD_VARS

    env = {k: v for k, v in os.environ.items() if k not in NATIVE_THREAD_VARS}
    env["LEIAN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'leian.db'}"
    done = subprocess.run([sys.executable, "-c", _SERVE_UNTIL_UVICORN, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    pools = json.loads(done.stdout.strip().splitlines()[-1])
    assert any(api == "openblas" for api, _n in pools), pools  # numpy's BLAS was loaded by then
    assert all(n == 1 for _api, n in pools), pools


def test_building_the_app_imports_no_model_library() -> None:
    """A one-shot CLI search builds the whole app; scikit-learn (with the sentencing model, 1.3 s of imports)
    and torch load only when an assessment or the full embedder needs them."""
    code = ("import sys, service.main; print(sorted(m for m in ('sklearn', 'torch', 'sentence_transformers', "
            "'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout

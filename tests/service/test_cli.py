"""The `leian` command as a user runs it: a real process, real files, exit codes and messages."""

from __future__ import annotations

import json
import os
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


def test_search_prints_shared_charges_and_says_when_a_hit_states_no_outcome(built: Built) -> None:
    """The demo's example search, as a user runs it: the LeCaRD paragraph is itself an ingested sample
    with facts only, so it comes first and must read "outcome not stated", not "None"."""
    draft = json.loads((SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])["q"]
    done = run("search", draft, "--charge", "危险驾驶", "--k", "5", data_dir=built.data_dir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "危险驾驶罪" in lines[0] and "(given)" in lines[0]
    hits = [line for line in lines if line.split(".")[0].strip().isdigit()]
    assert len(hits) == 5
    assert "outcome not stated" in hits[0]
    assert not any("| None" in line or "None |" in line for line in hits)
    assert all("why: charges ['危险驾驶罪']" in line for line in lines if "why:" in line)


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

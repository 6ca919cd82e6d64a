"""Crash safety with real signals: `leian ingest`, `leian build` and `leian serve` killed as real processes.

Each test runs the real command as a subprocess and sends SIGKILL (no clean-up possible) or SIGTERM
(clean stop) at a known point: after N cases are stored (read from the database itself), or when the
build reports a stage on stderr (embedding, FAISS write, sentencing fit, publishing). Then it checks
that the store and the served index are consistent (every stored case whole, every indexed case in
the store, CURRENT naming a complete version) and that re-running the command completes the work.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from evaluation.live_server import free_port, wait_until_serving
from indexing.artifacts import current_dir, indexes_dir
from indexing.build import BuildConfig, build_index
from indexing.db import case_row, cases, make_engine
from indexing.errors import ArtifactError
from indexing.pipeline import ingest
from indexing.schema import CaseRecord
from service.deps import IndexHolder
from tests.conftest import SAMPLES, copy_data_dir
from tests.service.conftest import Built

LEIAN = [sys.executable, "-m", "service.cli"]
CAIL_RECORDS = 400  # real CAIL records: enough batches to kill an ingest midway, few enough to be quick
SMALL = [SAMPLES / "lecard_v1_sample.jsonl", SAMPLES / "judge_sample.jsonl", SAMPLES / "cjrc_sample.json"]
SECOND = SAMPLES / "judge_second_instance.jsonl"


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    env.pop("LEIAN_DATABASE_URL", None)  # the store is the SQLite file in --data-dir
    return env


def _start(*args: str, data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([*LEIAN, *args, "--data-dir", str(data_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True)


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*LEIAN, *args, "--data-dir", str(data_dir)], capture_output=True, text=True,
                          env=_env(), timeout=600, check=False)


def _stored_count(data_dir: Path) -> int:
    """Cases committed so far, read the way any other process would (WAL: never blocks the writer)."""
    db = data_dir / "leian.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from cases").fetchone()[0]
    except sqlite3.OperationalError:  # the tables do not exist yet
        return 0


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 240) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"process ended (exit {proc.returncode}) before {what}: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _ingest_until_stored(source: Path, data_dir: Path, n: int) -> subprocess.Popen:
    """`leian ingest` in batches of 20, returned still running once at least ``n`` cases are committed."""
    proc = _start("ingest", str(source), "-q", "--json", "--batch", "20", data_dir=data_dir)
    _wait_for(lambda: _stored_count(data_dir) >= n, proc, f"{n} cases stored")
    return proc


def _assert_store_consistent(data_dir: Path) -> dict[str, dict]:
    """Every stored row is one whole case: its record parses and its columns are derived from it."""
    engine = make_engine(f"sqlite:///{data_dir / 'leian.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(cases)).mappings().all()
    finally:
        engine.dispose()
    out = {}
    for row in rows:
        record = CaseRecord.model_validate(row["record"])
        expected = case_row(record, row["ingested_at"])
        assert {k: row[k] for k in expected} == expected, f"case {row['case_id']} is not whole"
        out[row["case_id"]] = row["record"]
    return out


@pytest.fixture(scope="module")
def cail(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """A source of real CAIL records, and the store an uninterrupted ingest of it produces."""
    root = tmp_path_factory.mktemp("cail")
    source = root / "cail.jsonl"
    lines = (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:CAIL_RECORDS]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ref = root / "reference"
    ref.mkdir()
    engine = make_engine(f"sqlite:///{ref / 'leian.db'}")
    ingest([source], engine, ref / "quarantine", progress=False)
    engine.dispose()
    return source, _assert_store_consistent(ref)


def test_sigkill_during_ingest_leaves_whole_cases_and_a_rerun_completes(tmp_path: Path, cail) -> None:  # type: ignore[no-untyped-def]
    source, reference = cail
    data_dir = tmp_path / "d"
    proc = _ingest_until_stored(source, data_dir, 100)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = _assert_store_consistent(data_dir)
    assert 100 <= len(partial) < len(reference), "the kill must land midway for this test to mean anything"
    assert all(partial[cid] == reference[cid] for cid in partial)

    engine = make_engine(f"sqlite:///{data_dir / 'leian.db'}")
    with pytest.raises(ArtifactError, match="has not finished.*re-run the same `leian ingest`"):
        build_index(engine, BuildConfig(data_dir=data_dir, epochs=1))
    engine.dispose()

    again = _run("ingest", str(source), "-q", "--json", data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["stored_new"] == len(reference) - len(partial)
    assert report["unchanged"] == len(partial) and not report["interrupted"]
    assert _assert_store_consistent(data_dir) == reference


def test_sigterm_stops_ingest_cleanly_with_a_message(tmp_path: Path, cail) -> None:  # type: ignore[no-untyped-def]
    source, reference = cail
    data_dir = tmp_path / "d"
    proc = _ingest_until_stored(source, data_dir, 60)
    proc.send_signal(signal.SIGTERM)
    out, errs = proc.communicate(timeout=120)
    assert proc.returncode == 130, errs
    assert "interrupted after" in errs and "re-run the same command" in errs
    report = json.loads(out)
    assert report["interrupted"] and 60 <= report["stored"] < len(reference)
    partial = _assert_store_consistent(data_dir)
    assert len(partial) == report["total_in_store"]

    # the run finished cleanly (flags recomputed), so a build is allowed on what was stored
    engine = make_engine(f"sqlite:///{data_dir / 'leian.db'}")
    built = build_index(engine, BuildConfig(data_dir=data_dir, epochs=1))
    engine.dispose()
    indexed = {json.loads(x)["case_id"] for x in (built / "cases.jsonl").read_text(encoding="utf-8").splitlines()}
    assert indexed <= set(partial)

    again = _run("ingest", str(source), "-q", "--json", data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    assert _assert_store_consistent(data_dir) == reference


class _Stages:
    """Reads a build's stderr as it runs and records which progress stages it has announced."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()

    def wait(self, text: str, timeout: float = 300) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: any(text in line for line in self.lines), timeout=timeout)

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store with one published version (v1), and new cases ingested after it; built once."""
    root = tmp_path_factory.mktemp("v1")
    engine = make_engine(f"sqlite:///{root / 'leian.db'}")
    ingest(SMALL, engine, root / "quarantine", progress=False)
    build_index(engine, BuildConfig(data_dir=root, epochs=1))
    ingest([SECOND], engine, root / "quarantine", progress=False)
    engine.dispose()
    return root


@pytest.fixture()
def built_store(first_build: Path, tmp_path: Path) -> tuple[Path, Path]:
    """This test's own copy of ``first_build``, and its current version."""
    data_dir = tmp_path / "d"
    copy_data_dir(first_build, data_dir)
    return data_dir, current_dir(data_dir)


def _assert_served_index_consistent(data_dir: Path) -> Path:
    """CURRENT names a complete version, it loads, and every case it serves is in the store."""
    served = current_dir(data_dir)
    index = IndexHolder(data_dir).get()
    assert index.directory == served and len(index) > 0
    stored = set(_assert_store_consistent(data_dir))
    assert {row["case_id"] for row in index.rows} <= stored
    return served


#: (build arguments, the stage it is killed at): a full build killed while it embeds the corpus, then
#: incremental ones killed while writing FAISS, while fitting the sentencing model, and between the
#: last file and the CURRENT swap. One store takes the kills in turn, so one re-run checks they all
#: left it whole (a re-run per kill cost the suite a build each).
KILLS = [
    (["--epochs", "1"], "embedding"),
    (["--incremental"], "writing the FAISS index"),
    (["--incremental"], "finding similar cases"),
    (["--incremental"], "publishing version"),
]


def test_sigkill_during_build_leaves_a_complete_version_current(built_store) -> None:  # type: ignore[no-untyped-def]
    data_dir, first = built_store
    for args, stage in KILLS:
        proc = _start("build", *args, data_dir=data_dir)
        stages = _Stages(proc)
        assert stages.wait(stage), f"build never reached {stage!r}: {stages.text()}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        served = _assert_served_index_consistent(data_dir)
        if stage != "publishing version":
            assert served == first, f"killed at {stage!r}, yet the current version changed"
        # else: the kill may land before or after the CURRENT swap; either version is complete

    again = _run("build", "--incremental", data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    newest = _assert_served_index_consistent(data_dir)
    assert newest != first
    before = json.loads((first / "manifest.json").read_text(encoding="utf-8"))["cases"]
    after = json.loads((newest / "manifest.json").read_text(encoding="utf-8"))
    assert after["cases"] > before, "cases ingested after v1 are picked up by the re-run"
    assert not list(indexes_dir(data_dir).glob(".tmp-*")), "the killed builds' leftovers are cleaned up"


def test_sigterm_stops_build_cleanly_with_a_message(built_store) -> None:  # type: ignore[no-untyped-def]
    data_dir, first = built_store
    proc = _start("build", "--incremental", data_dir=data_dir)
    stages = _Stages(proc)
    assert stages.wait("finding similar cases"), stages.text()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    text = stages.text()
    assert proc.returncode == 130, text
    assert "build interrupted: nothing of it was published" in text and first.name in text
    assert current_dir(data_dir) == first
    assert not list(indexes_dir(data_dir).glob(".tmp-*")), "a clean stop removes its temporary folder itself"


def _serve(data_dir: Path, workers: int = 1, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([*LEIAN, "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", str(workers),
                             *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    if wait_until_serving(base, within_s=120, request_timeout_s=60):
        return proc, base
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("server did not come up")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)


DRAFT = json.loads((SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])["q"]


def test_server_keeps_answering_from_the_previous_version_during_rebuilds(built_store) -> None:  # type: ignore[no-untyped-def]
    data_dir, first = built_store
    proc, base = _serve(data_dir)
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                r = client.post("/v1/search", json={"text": DRAFT, "k": 3})
                h = client.get("/healthz")
                seen.append((r.status_code, r.json().get("index_version") if r.status_code == 200 else r.text))
                seen.append((h.status_code, h.json().get("index_version") if h.status_code == 200 else h.text))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        killed = _start("build", "--incremental", data_dir=data_dir)  # first a rebuild that is killed
        assert _Stages(killed).wait("finding similar cases")
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        n_killed = len(seen)
        done = _run("build", "--incremental", data_dir=data_dir)  # then one that completes
        assert done.returncode == 0, done.stderr
        second = current_dir(data_dir)
        deadline = time.time() + 60
        while time.time() < deadline and seen[-1][1] != second.name:
            time.sleep(0.2)
    finally:
        stop.set()
        poller.join(timeout=60)
        _stop(proc)
    assert len(seen) > 4 and n_killed > 0
    assert all(status == 200 for status, _ in seen), [s for s in seen if s[0] != 200][:3]
    versions = [v for _, v in seen]
    assert set(versions[:n_killed]) == {first.name}, "a killed rebuild never reaches the service"
    assert set(versions) == {first.name, second.name}
    switch = versions.index(second.name)
    assert all(v == second.name for v in versions[switch:]), "once switched, the service never goes back"


def test_alerts_the_api_answered_survive_a_killed_server(built: Built, tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    copy_data_dir(built.data_dir, data_dir)  # the session's index has a sentencing model; its alerts stay there
    proc, base = _serve(data_dir)
    body = {"text": DRAFT, "charges": ["危险驾驶"], "proposed": {"type": "有期徒刑", "months": 60},
            "court": "crash-test", "case_ref": "kill"}
    ids = []
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(5):
                r = client.post("/v1/assess", json=body)
                assert r.status_code == 200, r.text
                ids.append(r.json()["alert_id"])
    finally:
        _stop(proc, signal.SIGKILL)  # right after the last answer: no shutdown, no flush
    assert all(ids), "60 months for 危险驾驶 (at most 拘役 6 months) must be an alert"
    with sqlite3.connect(data_dir / "leian.db") as conn:
        rows = conn.execute("select id, status from assessments where court = 'crash-test'").fetchall()
    assert sorted(rows) == sorted((i, "open") for i in ids)

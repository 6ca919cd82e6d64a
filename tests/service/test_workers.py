"""`leian serve --workers 2`: both worker processes serve the same index, mapped read-only, and
concurrent assessments from both are all stored (SQLite WAL with a busy timeout, a pool per worker)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio.to_thread
import httpx

from service.config import Settings
from service.main import create_app
from tests.conftest import SAMPLES, copy_data_dir
from tests.service.conftest import Built
from tests.service.test_crash_safety import _serve, _stop

REQUESTS = 48


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _workers(supervisor: int) -> list[int]:
    """uvicorn's worker processes: multiprocessing-spawned children of the `leian serve` process."""
    return [c for c in _children(supervisor) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]


def _drafts() -> list[str]:
    lines = (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x)["q"] for x in lines[:6]]


def test_two_workers_share_the_index_and_store_every_assessment(built: Built, tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    copy_data_dir(built.data_dir, data_dir)
    proc, base = _serve(data_dir, 2, "--threads", "2")
    drafts = _drafts()

    def call(i: int) -> tuple[int, dict]:
        body = {"text": drafts[i % len(drafts)], "proposed": {"type": "fixed_term", "months": 120},
                "court": "workers-test", "case_ref": f"w-{i}"}
        # one connection per request, so the kernel hands them to either worker
        with httpx.Client(base_url=base, timeout=120) as client:
            resp = client.post("/v1/assess", json=body)
        return i, resp.json() if resp.status_code == 200 else {"status": resp.status_code, "text": resp.text}

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = dict(pool.map(call, range(REQUESTS)))
        workers = _workers(proc.pid)
        maps = {w: Path(f"/proc/{w}/maps").read_text() for w in workers}
    finally:
        _stop(proc)

    assert all("expected" in a for a in answers.values()), [a for a in answers.values() if "expected" not in a][:2]
    # both workers serve one and the same index: equal drafts get equal answers whichever worker took them
    for d in range(len(drafts)):
        same = [answers[i] for i in range(d, REQUESTS, len(drafts))]
        assert all(a["similar_cases"] == same[0]["similar_cases"] and a["expected"] == same[0]["expected"] for a in same)
    assert len(workers) == 2, f"expected 2 worker processes, found {workers}"
    mapped = [w for w, text in maps.items() if "embeddings.npy" in text]
    assert len(mapped) == 2, "each worker loaded the index, its embeddings memory-mapped (one copy in the page cache)"

    with sqlite3.connect(data_dir / "leian.db") as conn:
        rows = dict(conn.execute("select case_ref, id from assessments where court = 'workers-test'").fetchall())
    assert len(rows) == REQUESTS, "every answered assessment is stored, whichever worker wrote it"
    alerts = {a["alert_id"] for a in answers.values() if a.get("alert_id")}
    assert alerts and alerts <= set(rows.values())


def test_request_threads_per_worker_are_set_when_the_app_starts(built: Built) -> None:
    """``leian serve --threads N`` / LEIAN_REQUEST_THREADS: the event loop's thread limiter gets N tokens."""
    app = create_app(Settings(data_dir=built.data_dir, database_url=built.database_url, request_threads=3))

    async def tokens_while_serving() -> float:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert asyncio.run(tokens_while_serving()) == 3
    app.state.engine.dispose()

"""The app's write queue (service/write_queue.py): concurrent writes share commits, each is acknowledged
only once committed, one bad row fails only its own caller, and the audit chain stays whole."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from indexing.db import assessments, make_engine
from service import audit, write_queue
from service.store import assessment_row
from service.write_queue import WriteQueue

VALUES = {"court": "queue-test", "judge_id": None, "case_ref": None, "charge": "盗窃罪", "charges": ["盗窃罪"],
          "proposed": {"type": "fixed_term", "months": 60}, "proposed_months": 60.0,
          "expected": {}, "level": "severe", "reasons": ["test"], "threshold": None, "index_version": "v"}


def _entry(i: int, actor: str = "judge-1") -> dict:
    return {"actor": actor, "role": "judge", "action": "assess", "target": "/v1/assess",
            "request_hash": "0" * 64, "request_size": i, "status": 200}


def _stored(engine: Engine, like: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(assessments.c.case_ref, assessments.c.id).where(
            assessments.c.case_ref.like(like))).all())


def test_concurrent_rows_and_records_share_commits_and_every_one_is_stored(engine: Engine) -> None:
    writes = WriteQueue(engine)
    commits = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))

    def one(i: int) -> tuple[dict, dict]:
        row = writes.write("assessment", assessment_row({**VALUES, "case_ref": f"c-{i}"}))
        return row, writes.write("audit", _entry(i))

    with ThreadPoolExecutor(max_workers=16) as pool:
        done = list(pool.map(one, range(64)))
    assert _stored(engine, "c-%") == {row["case_ref"]: row["id"] for row, _ in done} and len(done) == 64
    assert sorted(record["seq"] for _, record in done) == list(range(1, 65))  # each caller got its own record
    assert len(commits) < 128, "writes of concurrent requests went into shared transactions"
    verdict = audit.verify(engine)
    assert verdict.ok and verdict.records == 64


def test_a_row_the_database_refuses_fails_only_its_own_write(engine: Engine) -> None:
    writes = WriteQueue(engine)
    bad = assessment_row({**VALUES, "case_ref": "bad", "level": None})  # level is NOT NULL
    gate = threading.Event()
    # the first transaction waits until all are queued, so that the others share a batch with the bad one
    event.listen(engine, "begin", lambda _conn: gate.wait(5), once=True)
    futures = [writes.submit("assessment", bad if i == 3 else assessment_row({**VALUES, "case_ref": f"d-{i}"}))
               for i in range(8)] + [writes.submit("audit", _entry(99))]
    gate.set()
    errors = [f.exception(timeout=30) for f in futures]
    assert isinstance(errors[3], IntegrityError) and all(e is None for i, e in enumerate(errors) if i != 3)
    assert len(_stored(engine, "d-%")) == 7
    assert audit.verify(engine).ok and audit.count(engine) == 1


def test_writes_submitted_together_commit_together_or_not_at_all(engine: Engine) -> None:
    writes = WriteQueue(engine)
    good = assessment_row({**VALUES, "case_ref": "t-good"})
    bad = assessment_row({**VALUES, "case_ref": "t-bad", "level": None})  # level is NOT NULL
    gate = threading.Event()
    # the first transaction waits until all three are queued, so that the others share a batch
    event.listen(engine, "begin", lambda _conn: gate.wait(5), once=True)
    together_ok = writes.submit_together([("assessment", good), ("audit", _entry(1))])
    together_bad = writes.submit_together([("assessment", bad), ("audit", _entry(2))])
    alone = writes.submit("audit", _entry(3))
    gate.set()
    row, record = together_ok.result(timeout=30)
    assert row["id"] == good["id"] and record["request_size"] == 1 and record["seq"] >= 1
    assert isinstance(together_bad.exception(timeout=30), IntegrityError)
    assert alone.result(timeout=30)["request_size"] == 3
    assert set(_stored(engine, "t-%")) == {"t-good"}  # the refused row's audit record went with it
    with engine.connect() as conn:
        sizes = sorted(conn.execute(select(audit.audit_log.c.request_size)).scalars())
    assert sizes == [1, 3] and audit.verify(engine).ok
    with pytest.raises(ValueError, match="nothing to write"):
        writes.submit_together([])


def test_a_failed_transaction_reaches_the_caller(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'leian.db'}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_head"))
    with pytest.raises(DBAPIError):
        WriteQueue(engine).write("audit", _entry(0))
    with pytest.raises(ValueError, match="unknown write kind"):
        WriteQueue(engine).submit("delete", {})  # type: ignore[arg-type]
    engine.dispose()


def test_async_writers_wait_for_the_commit_without_a_thread_each(engine: Engine) -> None:
    writes = WriteQueue(engine)

    async def many() -> list[dict]:
        return await asyncio.gather(*(writes.write_async("audit", _entry(i, actor=f"a{i}")) for i in range(50)))

    before = threading.active_count()
    records = asyncio.run(many())
    assert sorted(r["seq"] for r in records) == list(range(1, 51))
    assert threading.active_count() <= before + 1  # the one writer thread, not one per waiting request
    assert audit.verify(engine).ok


def test_the_writer_thread_stops_when_idle_and_comes_back(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_queue, "IDLE_SECONDS", 0.05)
    writes = WriteQueue(engine)
    writes.write("audit", _entry(1))
    thread = writes._thread
    assert thread is not None
    thread.join(timeout=5)
    assert not thread.is_alive() and writes._thread is None
    assert writes.write("audit", _entry(2))["seq"] == 2  # a new write starts a new thread
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit.audit_log)).scalar_one() == 2

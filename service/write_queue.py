"""One writer thread per server app: the rows of concurrent requests are committed together.

Why: every assessment with a proposal stores a row and every audited request an audit record, and
each must be committed before its response goes out (SQLite runs ``synchronous=FULL``: a disk
flush per commit). Done in the request, a transaction per write made the flushes the limit under
load, and a request waiting for its flush held one of the worker's few request threads while the
CPU stood idle. Here writes are handed to one thread, which commits whatever is waiting in a single
transaction (assessment rows first, then the audit records in chain order), and each request waits
on a future: an ``async`` route or middleware awaits it without holding a thread.

A write is acknowledged only once its transaction has committed, so nothing the API answered is
lost. When a batch fails, its writes are retried one by one (those a caller submitted together stay
together), so each caller gets its own result or its own error (one malformed row does not fail the
others). The thread stops after a few idle
seconds and is started again by the next write, so apps that come and go (tests) leave none behind.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from service import audit
from service.store import insert_assessments

Kind = Literal["assessment", "audit"]
IDLE_SECONDS = 5.0


@dataclass(eq=False)
class _Write:
    """One caller's writes, committed together or not at all; ``done`` gets one result, or the list of them."""

    parts: list[tuple[Kind, dict[str, Any]]]
    single: bool = True
    done: Future = field(default_factory=Future)


class WriteQueue:
    """Group commit of assessment rows and audit records for one engine (one per app / process).

    Args:
        engine: The database the rows go to.
        max_batch: Most writes committed in one transaction.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 500) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, kind: Kind, payload: dict[str, Any]) -> Future:
        """Queue one write; the future gets the committed row (an audit record with its seq and hash)."""
        return self._submit(_Write([(kind, payload)]))

    def submit_together(self, parts: list[tuple[Kind, dict[str, Any]]]) -> Future:
        """Queue writes that must be committed in one transaction or not at all (an assessment's row and
        the audit record of its request); the future gets their committed rows, in order."""
        if not parts:
            raise ValueError("nothing to write")
        return self._submit(_Write(list(parts), single=False))

    async def write_together_async(self, parts: list[tuple[Kind, dict[str, Any]]]) -> list[dict[str, Any]]:
        """:meth:`submit_together` and await the commit without holding a thread."""
        return await asyncio.wrap_future(self.submit_together(parts))

    def _submit(self, job: _Write) -> Future:
        for kind, _payload in job.parts:
            if kind not in ("assessment", "audit"):
                raise ValueError(f"unknown write kind {kind!r}")
        with self._lock:  # with _run's idle exit under the same lock, no write is left without a thread
            self._queue.put(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="leian-writes", daemon=True)
                self._thread.start()
        return job.done

    def write(self, kind: Kind, payload: dict[str, Any], *, timeout: float = 60.0) -> dict[str, Any]:
        """:meth:`submit` and wait for the commit (for threads); raises the write's own error."""
        return self.submit(kind, payload).result(timeout=timeout)

    async def write_async(self, kind: Kind, payload: dict[str, Any]) -> dict[str, Any]:
        """:meth:`submit` and await the commit without holding a thread (for routes and middleware)."""
        return await asyncio.wrap_future(self.submit(kind, payload))

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit_or_split(batch)

    def _commit_or_split(self, batch: list[_Write]) -> None:
        try:
            results = self._commit(batch)
        except Exception as exc:  # noqa: BLE001 - find whose write failed: each alone
            if len(batch) == 1:
                batch[0].done.set_exception(exc)
                return
            for job in batch:
                self._commit_or_split([job])
            return
        for job, result in zip(batch, results, strict=True):
            job.done.set_result(result[0] if job.single else result)

    def _commit(self, batch: list[_Write]) -> list[list[dict[str, Any]]]:
        """One transaction for the whole batch; per job, its parts' results in order."""
        parts = [part for job in batch for part in job.parts]
        rows = [payload for kind, payload in parts if kind == "assessment"]
        entries = [payload for kind, payload in parts if kind == "audit"]
        with self.engine.connect() as conn:
            try:
                audit.lock_chain(conn)  # first: SQLite takes the write lock now, not mid-transaction
                if rows:
                    insert_assessments(conn, rows)
                records = audit.append_locked(conn, entries) if entries else []
                conn.commit()
            except BaseException:
                _rollback(conn)
                raise
        out_rows, out_records = iter(rows), iter(records)
        return [[next(out_rows) if kind == "assessment" else next(out_records) for kind, _payload in job.parts]
                for job in batch]


def _rollback(conn: Connection) -> None:
    try:
        conn.rollback()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass

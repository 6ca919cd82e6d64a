"""Concurrent callers of one costly operation share a single call of it (leader/follower, no wait).

Why: some operations cost about the same for one item as for many, so that under load the service
should do them for all waiting requests at once (service/model_batch.py: the sentencing model, whose
boosters cost 55 ms for 1 case and 50 ms for 16 before their fast views). Database writes have their
own writer thread (service/write_queue.py), which request coroutines await without a thread.
Nobody waits for a batch to fill: a caller arriving while nothing runs runs at once, alone; callers
arriving while a call runs queue up, and the next call takes all of them (up to ``max_batch``).

No extra thread: the first caller to find the operation idle leads. It runs calls on what is pending
until its own item is done, hands every follower its result as soon as its call ends, then passes
the lead to the oldest waiting caller, if any, and returns. One call at a time per combiner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Job(Generic[T]):
    item: T
    wake: threading.Event = field(default_factory=threading.Event)  # result is in, or this job now leads
    finished: bool = False
    result: object = None
    error: BaseException | None = None


class Combiner(Generic[T, R]):
    """``combiner(item)`` returns ``run_many([... item ...])``'s result for it, sharing calls.

    ``run_many`` takes a list of items and returns one result per item, in order. When it raises, the
    items of that call are retried one at a time, so each caller gets its own result or its own error.
    """

    def __init__(self, run_many: Callable[[list[T]], Sequence[R]], *, max_batch: int = 32) -> None:
        self.run_many = run_many
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Job[T]] = []
        self._busy = False

    def __call__(self, item: T) -> R:
        job: _Job[T] = _Job(item)
        with self._lock:
            self._pending.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.wake.wait()
        if not job.finished:  # leading (at once, or handed the lead): call until our own item is done
            try:
                while not job.finished:
                    with self._lock:
                        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                    self._run(batch)
            finally:
                with self._lock:
                    if self._pending:
                        self._pending[0].wake.set()  # not finished: it wakes as the next leader
                    else:
                        self._busy = False
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _run(self, batch: list[_Job[T]]) -> None:
        try:
            results: list[object] = list(self.run_many([j.item for j in batch]))
        except Exception:  # noqa: BLE001 - find which item failed: run them one by one
            results = []
            for j in batch:
                try:
                    results.append(self.run_many([j.item])[0])
                except Exception as exc:  # noqa: BLE001 - that item's caller gets its own error
                    results.append(exc)
        for j, r in zip(batch, results, strict=True):
            if isinstance(r, BaseException):
                j.error = r
            else:
                j.result = r
            j.finished = True
            j.wake.set()

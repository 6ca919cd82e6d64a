"""Concurrent assessments share one call of the sentencing model (micro-batching without a wait).

Why: the model's boosters cost the same for one case as for sixteen (measured on the CAIL build:
55 ms for 1 row, 50 ms for 16 rows; per-call overhead, not per-row work, dominates), and under load
a service worker has several assessments in flight. Requests that arrive while the model runs queue
up, and the next call takes all of them. Nobody waits for a batch to fill: an assessment arriving at
an idle model runs at once, alone.

Leader/follower, no extra thread: the first caller to find the model idle leads; it takes what is
pending, runs one vectorized call, hands each follower its result, and once its own result is in,
passes the lead to the oldest waiting caller (if any) and returns. One model call at a time per
index and process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from indexing.schema import CaseRecord, Outcome
from indexing.search_index import SearchIndex

MAX_BATCH = 32  # a bound on one call's latency; more waiting requests go in the next call


@dataclass(eq=False)
class _Job:
    record: CaseRecord
    months: Sequence[float]
    proposed: Outcome | None
    neighbours: Sequence[CaseRecord] | None
    wake: threading.Event = field(default_factory=threading.Event)  # result is in, or this job now leads
    finished: bool = False
    result: Any = None
    error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class SentencingBatcher:
    """Runs the sentencing model of one loaded index for many concurrent callers at once."""

    def __init__(self, model: Any) -> None:  # indexing.sentencing.SentencingModel
        self.model = model
        self._lock = threading.Lock()
        self._pending: list[_Job] = []
        self._busy = False

    def predict(self, record: CaseRecord, months: Sequence[float]) -> Any:
        """``SentencingModel.predict``, batched with concurrent callers."""
        return self._submit(_Job(record, months, None, None))

    def deviation(self, record: CaseRecord, months: Sequence[float], proposed: Outcome,
                  neighbours: Sequence[CaseRecord] | None) -> Any:
        """``SentencingModel.deviation``, batched with concurrent callers (its ``expected`` is predict's)."""
        return self._submit(_Job(record, months, proposed, neighbours))

    def _submit(self, job: _Job) -> Any:
        with self._lock:
            self._pending.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.wake.wait()
            if job.finished:
                return job.outcome()
        try:  # leading: run calls until our own job is among the finished
            while not job.finished:
                with self._lock:
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._run(batch)
        finally:
            with self._lock:
                if self._pending:
                    self._pending[0].wake.set()  # not finished: it wakes as the next leader
                else:
                    self._busy = False
        return job.outcome()

    def _run(self, batch: list[_Job]) -> None:
        for with_proposal in (True, False):
            jobs = [j for j in batch if (j.proposed is not None) == with_proposal]
            if not jobs:
                continue
            try:
                results: list[Any] = self._call(jobs)
            except Exception:  # noqa: BLE001 - find which job failed: run them one by one
                results = []
                for j in jobs:
                    try:
                        results.append(self._call([j])[0])
                    except Exception as exc:  # noqa: BLE001 - that job's caller gets its own error
                        results.append(exc)
            for j, r in zip(jobs, results, strict=True):
                if isinstance(r, BaseException):
                    j.error = r
                else:
                    j.result = r
                j.finished = True
                j.wake.set()

    def _call(self, jobs: list[_Job]) -> list[Any]:
        if jobs[0].proposed is None:
            return self.model.predict_many([j.record for j in jobs], [j.months for j in jobs])
        return self.model.deviation_many([j.record for j in jobs], [j.months for j in jobs], [j.proposed for j in jobs],
                                         neighbours=[j.neighbours for j in jobs])


_BATCHERS: WeakKeyDictionary[SearchIndex, SentencingBatcher] = WeakKeyDictionary()
_BATCHERS_LOCK = threading.Lock()


def batcher_for(index: SearchIndex) -> SentencingBatcher:
    """The batcher of an index's sentencing model (one per loaded index; it goes when the index goes)."""
    with _BATCHERS_LOCK:
        batcher = _BATCHERS.get(index)
        if batcher is None:
            batcher = _BATCHERS[index] = SentencingBatcher(index.sentencing)
        return batcher

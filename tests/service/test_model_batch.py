"""Concurrent callers share model calls and commits (service/combine.py) and get exactly their own answers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from indexing.neighbours import neighbour_hits, neighbour_months
from indexing.schema import Outcome, OutcomeType
from service.deps import IndexHolder
from service.model_batch import SentencingBatcher
from service.retrieve import prepare_draft
from tests.conftest import SAMPLES
from tests.service.conftest import Built


class CountingBatcher(SentencingBatcher):
    """The real batcher on the real model, counting how many model calls it makes."""

    calls = 0

    def _predict_many(self, jobs: list) -> list[Any]:  # type: ignore[type-arg]
        self.calls += 1
        return super()._predict_many(jobs)

    def _deviation_many(self, jobs: list) -> list[Any]:  # type: ignore[type-arg]
        self.calls += 1
        return super()._deviation_many(jobs)


def test_concurrent_assessments_share_calls_and_match_single_ones(built: Built) -> None:
    index = IndexHolder(built.data_dir).get()
    model = index.sentencing
    assert model is not None
    jobs = []
    for i, line in enumerate((SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:40]):
        draft = prepare_draft(json.loads(line)["fact"], index)
        rows = [index.rows[h.row] for h in neighbour_hits(draft, index)]
        proposed = Outcome(type=OutcomeType.FIXED_TERM, months=float(6 + 7 * i)) if i % 4 else None
        jobs.append((draft.record, neighbour_months(rows), proposed, [r["circumstances"] for r in rows]))

    def alone(job: tuple) -> Any:  # type: ignore[type-arg]
        record, months, proposed, circumstances = job
        if proposed is None:
            return model.predict(record, months)
        return model.deviation(record, months, proposed, neighbour_circumstances=circumstances)

    batcher = CountingBatcher(model)

    def together(job: tuple) -> Any:  # type: ignore[type-arg]
        record, months, proposed, circumstances = job
        if proposed is None:
            return batcher.predict(record, months)
        return batcher.deviation(record, months, proposed, circumstances)

    expected = [alone(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(together, jobs))
    assert got == expected
    assert batcher.calls < len(jobs), "callers arriving while the model ran shared the next call"

    # an idle batcher runs a lone caller at once, alone
    lone = CountingBatcher(model)
    assert lone.predict(jobs[0][0], jobs[0][1]) == expected[0] and lone.calls == 1

"""Concurrent callers share model calls and commits (service/combine.py) and get exactly their own answers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from indexing.db import make_engine
from indexing.neighbours import neighbour_hits, neighbour_months
from indexing.schema import Outcome, OutcomeType
from service.assess import _record_of
from service.deps import IndexHolder
from service.model_batch import SentencingBatcher
from service.retrieve import prepare_draft
from service.store import assessments, ensure_tables, record_assessment
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
        jobs.append((draft.record, neighbour_months(rows), proposed, [_record_of(r) for r in rows]))

    def alone(job: tuple) -> Any:  # type: ignore[type-arg]
        record, months, proposed, neighbours = job
        if proposed is None:
            return model.predict(record, months)
        return model.deviation(record, months, proposed, neighbours=neighbours)

    batcher = CountingBatcher(model)

    def together(job: tuple) -> Any:  # type: ignore[type-arg]
        record, months, proposed, neighbours = job
        if proposed is None:
            return batcher.predict(record, months)
        return batcher.deviation(record, months, proposed, neighbours)

    expected = [alone(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(together, jobs))
    assert got == expected
    assert batcher.calls < len(jobs), "callers arriving while the model ran shared the next call"

    # an idle batcher runs a lone caller at once, alone
    lone = CountingBatcher(model)
    assert lone.predict(jobs[0][0], jobs[0][1]) == expected[0] and lone.calls == 1


def test_concurrent_alerts_share_commits_and_every_one_is_stored(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'leian.db'}")
    ensure_tables(engine)
    commits = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    values = {"court": "combine-test", "judge_id": None, "case_ref": None, "charge": "盗窃罪", "charges": ["盗窃罪"],
              "proposed": {"type": "fixed_term", "months": 60}, "proposed_months": 60.0,
              "expected": {}, "level": "severe", "reasons": ["test"], "threshold": None, "index_version": "v"}
    with ThreadPoolExecutor(max_workers=16) as pool:
        rows = list(pool.map(lambda i: record_assessment(engine, values={**values, "case_ref": f"c-{i}"}), range(64)))
    with engine.connect() as conn:
        stored = dict(conn.execute(select(assessments.c.case_ref, assessments.c.id)).all())
    assert stored == {r["case_ref"]: r["id"] for r in rows} and len(stored) == 64
    assert len(commits) < 64, "rows of concurrent requests went into shared transactions"

    # a row the database refuses fails its own request only; the others of its batch are stored
    bad = {**values, "case_ref": "bad", "level": None}  # level is NOT NULL
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(record_assessment, engine, values=bad if i == 3 else {**values, "case_ref": f"d-{i}"})
                   for i in range(8)]
    errors = [f.exception() for f in futures]
    assert isinstance(errors[3], IntegrityError) and all(e is None for i, e in enumerate(errors) if i != 3)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(assessments).where(
            assessments.c.case_ref.like("d-%"))).scalar_one() == 7
    engine.dispose()

"""Concurrent assessments share one call of the sentencing model (see service/combine.py).

With scikit-learn's own predict the boosters' cost was per call, not per case (CAIL build: 55 ms
for 1 case, 50 ms for 16), so a worker's in-flight assessments went through the model together.
Since the fast views (indexing/fast_predict.py) the cost is mostly per case (0.56 ms for 1, 6.4 ms
for 16), so sharing saves little, and with one request thread per worker (the default) there is
never a second caller: then this is a pass-through. It still pays with ``--threads N``. Predictions
with and without a proposal are two combiners, since they are two model methods.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from indexing.schema import CaseRecord, Outcome
from indexing.search_index import SearchIndex
from service.combine import Combiner

#: (record, neighbour months) for predict; plus (proposal, neighbour records) for deviation
PredictJob = tuple[CaseRecord, Sequence[float]]
DeviationJob = tuple[CaseRecord, Sequence[float], Outcome, Sequence[Collection[str]] | None]


class SentencingBatcher:
    """The sentencing model of one loaded index, called for many concurrent callers at once."""

    def __init__(self, model: Any) -> None:  # indexing.sentencing.SentencingModel
        self.model = model
        self._predict: Combiner[PredictJob, Any] = Combiner(self._predict_many)
        self._deviation: Combiner[DeviationJob, Any] = Combiner(self._deviation_many)

    def predict(self, record: CaseRecord, months: Sequence[float]) -> Any:
        """``SentencingModel.predict``, batched with concurrent callers."""
        return self._predict((record, months))

    def deviation(self, record: CaseRecord, months: Sequence[float], proposed: Outcome,
                  neighbour_circumstances: Sequence[Collection[str]] | None) -> Any:
        """``SentencingModel.deviation``, batched with concurrent callers (its ``expected`` is predict's)."""
        return self._deviation((record, months, proposed, neighbour_circumstances))

    def _predict_many(self, jobs: list[PredictJob]) -> list[Any]:
        return self.model.predict_many([j[0] for j in jobs], [j[1] for j in jobs])

    def _deviation_many(self, jobs: list[DeviationJob]) -> list[Any]:
        return self.model.deviation_many([j[0] for j in jobs], [j[1] for j in jobs], [j[2] for j in jobs],
                                         neighbour_circumstances=[j[3] for j in jobs])


_BATCHERS: WeakKeyDictionary[SearchIndex, SentencingBatcher] = WeakKeyDictionary()
_BATCHERS_LOCK = threading.Lock()


def batcher_for(index: SearchIndex) -> SentencingBatcher:
    """The batcher of an index's sentencing model (one per loaded index; it goes when the index goes)."""
    with _BATCHERS_LOCK:
        batcher = _BATCHERS.get(index)
        if batcher is None:
            batcher = _BATCHERS[index] = SentencingBatcher(index.sentencing)
        return batcher

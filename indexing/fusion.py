"""Hybrid fusion of dense and BM25 candidates with charge agreement: the ranking core.

It lives in indexing/ because the build uses it too: each corpus case's similar cases (whose
sentences feed the sentencing model) are found by exactly the ranking the service uses for drafts.
Candidates are the union of the dense top-N and the BM25 top-N; each candidate's score mixes the two
(each scaled to [0, 1] within the candidates) with the agreement of charges: the judge's charges when
given, else the ones extracted from the text. The weights are set by evaluation/search_benchmark.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexing.schema import CaseRecord
from indexing.search_index import Filters, SearchIndex

CANDIDATES = 200


@dataclass(frozen=True)
class Fusion:
    """Weights of the fused score; the benchmark runs single methods by zeroing the others."""

    dense: float = 0.55
    bm25: float = 0.45
    charge: float = 0.35


HYBRID = Fusion()
DENSE_ONLY = Fusion(dense=1.0, bm25=0.0, charge=0.0)
BM25_ONLY = Fusion(dense=0.0, bm25=1.0, charge=0.0)


@dataclass(frozen=True)
class Draft:
    """A query after the corpus pipeline: anonymized record, tokens and embedding."""

    record: CaseRecord
    tokens: list[str]
    vector: np.ndarray
    charges_given: bool


@dataclass(frozen=True)
class Hit:
    row: int
    score: float
    dense: float
    bm25: float
    charge_overlap: float


def _scaled(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    hi = max(values.values())
    lo = min(values.values())
    span = (hi - lo) or 1.0
    return {k: (v - lo) / span for k, v in values.items()}


def retrieve(
    draft: Draft, index: SearchIndex, k: int, filters: Filters | None = None, fusion: Fusion = HYBRID
) -> list[Hit]:
    """The k best rows for a draft, best first."""
    mask = index.mask(filters or Filters())
    dense = index.dense_candidates(draft.vector, CANDIDATES, mask)
    lexical = index.bm25_candidates(draft.tokens, CANDIDATES, mask)
    if mask is not None:
        dense = {r: s for r, s in dense.items() if mask[r]}
    candidates = set(dense) | set(lexical)
    if not candidates:
        return []
    # a candidate found by one method only is scored by the other too, so fusion compares like with like
    missing_dense = [r for r in candidates if r not in dense]
    if missing_dense:
        scores = np.asarray(index.embeddings[missing_dense]) @ draft.vector
        dense.update(zip(missing_dense, scores.tolist(), strict=True))
    dense_s, bm25_s = _scaled(dense), _scaled({r: lexical.get(r, 0.0) for r in candidates})
    query_charges = set(draft.record.charges)
    hits = []
    for r in candidates:
        case_charges = set(index.rows[r]["charges"])
        overlap = len(query_charges & case_charges) / len(query_charges | case_charges) if query_charges else 0.0
        score = fusion.dense * dense_s[r] + fusion.bm25 * bm25_s[r] + fusion.charge * overlap
        hits.append(Hit(row=r, score=score, dense=dense[r], bm25=lexical.get(r, 0.0), charge_overlap=overlap))
    hits.sort(key=lambda h: (-h.score, h.row))
    return hits[:k]

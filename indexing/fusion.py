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

    dense: float = 1.0
    bm25: float = 0.1
    charge: float = 0.05
    elements: float = 0.2  # agreement of the quantities that drive sentences and of circumstances
    # Charges the judge states are facts, not guesses: a weight above every other term together
    # makes them a filter that still falls back to other charges when too few cases share them.
    given_charge: float = 2.0


#: chosen by evaluation/tune_fusion.py on a validation split inside the benchmark's corpus part
#: (NDCG@10 0.5048 vs 0.4957 dense-only; neighbour MAE 13.19 vs 14.17 months)
HYBRID = Fusion()
DENSE_ONLY = Fusion(dense=1.0, bm25=0.0, charge=0.0, elements=0.0, given_charge=0.0)
BM25_ONLY = Fusion(dense=0.0, bm25=1.0, charge=0.0, elements=0.0, given_charge=0.0)


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


def _closeness(a: float | None, b: float | None) -> float | None:
    """1 for equal magnitudes, the min/max ratio otherwise (2x apart: 0.5); None if either is missing."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return min(a, b) / max(a, b)


def element_similarity(draft: CaseRecord, row: dict) -> float:
    """How alike the legal elements are: amounts, drugs, blood alcohol, injuries, circumstances.

    Why: within one charge, the sentence follows these elements (量刑指导意见: baseline from amount or
    harm, then circumstance adjustments), which text similarity captures only loosely.
    """
    q = draft.quantities
    c = row.get("quantities") or {}
    parts = [
        _closeness(q.amount_yuan, c.get("amount_yuan")),
        _closeness(q.drug_grams, c.get("drug_grams")) if q.drug_type == c.get("drug_type") else None,
        _closeness(q.blood_alcohol_mg_100ml, c.get("blood_alcohol_mg_100ml")),
    ]
    qi, ci = q.injuries, c.get("injuries") or {}
    if qi.deaths or qi.serious or qi.minor or ci.get("deaths") or ci.get("serious") or ci.get("minor"):
        parts.append(float((qi.deaths, qi.serious, qi.minor) == (ci.get("deaths", 0), ci.get("serious", 0), ci.get("minor", 0))))
    dc = {x.value for x in draft.circumstances}
    cc = set(row.get("circumstances") or [])
    if dc or cc:
        parts.append(len(dc & cc) / len(dc | cc))
    known = [p for p in parts if p is not None]
    return sum(known) / len(known) if known else 0.0


def retrieve(
    draft: Draft, index: SearchIndex, k: int, filters: Filters | None = None, fusion: Fusion = HYBRID
) -> list[Hit]:
    """The k best rows for a draft, best first."""
    mask = index.mask(filters or Filters())
    dense = index.dense_candidates(draft.vector, CANDIDATES, mask)
    lexical = index.bm25_candidates(draft.tokens, CANDIDATES, mask)
    if draft.charges_given and fusion.given_charge:
        # the judge's charges may be rare in the corpus: their cases join the pool even when neither
        # method's global top-N reaches them (scored exactly over the cases with those charges)
        same = index.mask(Filters(charges=list(draft.record.charges)))
        if mask is not None and same is not None:
            same &= mask
        dense.update(index.dense_candidates(draft.vector, CANDIDATES, same))
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
        w_charge = fusion.given_charge if draft.charges_given else fusion.charge
        score = fusion.dense * dense_s[r] + fusion.bm25 * bm25_s[r] + w_charge * overlap
        if fusion.elements:
            score += fusion.elements * element_similarity(draft.record, index.rows[r])
        hits.append(Hit(row=r, score=score, dense=dense[r], bm25=lexical.get(r, 0.0), charge_overlap=overlap))
    hits.sort(key=lambda h: (-h.score, h.row))
    return hits[:k]

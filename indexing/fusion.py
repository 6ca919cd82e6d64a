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

from indexing.columns import RowColumns
from indexing.rows import IndexRow
from indexing.schema import CaseRecord, CaseType
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
    # Charges the charge model predicted for a draft that names none (indexing.charge_model): a
    # guess (its held-out accuracy: docs/benchmarks/charges.json), weighted in between. Chosen by
    # `python -m evaluation.tune_fusion --predicted` on the inner validation split, by its rule (the best
    # NDCG@10; the runs: docs/benchmarks/tune_fusion_predicted.jsonl)
    predicted_charge: float = 1.0
    # A civil draft (its type read from its head or its own words, never a default) ranks civil cases
    # first, the way stated charges rank their cases: the type is a fact of the draft, and in a mostly
    # criminal corpus a civil draft's nearest texts by wording are often criminal ones
    # (docs/benchmarks/civil.json, civil_plus_criminal_sample).
    civil_type: float = 1.0


#: chosen by evaluation/tune_fusion.py on a validation split inside the benchmark's corpus part (its runs:
#: docs/benchmarks/tune_fusion_validation.jsonl; the held-out figures: docs/benchmarks/search.json)
HYBRID = Fusion()
DENSE_ONLY = Fusion(dense=1.0, bm25=0.0, charge=0.0, elements=0.0, given_charge=0.0, predicted_charge=0.0, civil_type=0.0)
BM25_ONLY = Fusion(dense=0.0, bm25=1.0, charge=0.0, elements=0.0, given_charge=0.0, predicted_charge=0.0, civil_type=0.0)


@dataclass(frozen=True)
class Draft:
    """A query after the corpus pipeline: anonymized record, tokens and embedding."""

    record: CaseRecord
    tokens: list[str]
    vector: np.ndarray
    charges_given: bool
    # where the record's charges came from: "given" (the caller's), "extracted" (犯X罪 in the text),
    # "predicted" (indexing.charge_model, with their probabilities in ``predicted``) or "none"
    charges_source: str = "extracted"
    predicted: tuple[tuple[str, float], ...] = ()


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


def element_similarity(draft: CaseRecord, row: IndexRow) -> float:
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


def _columns(index: SearchIndex) -> RowColumns:
    """The version's row columns (built with it: indexing.columns), which fusion scores candidates on."""
    return index.store.columns


def _closeness_many(a: float | None, b: np.ndarray) -> np.ndarray:
    """:func:`_closeness` of one value against many (nan where it is None)."""
    if a is None or a <= 0:
        return np.full(len(b), np.nan)
    with np.errstate(invalid="ignore"):
        return np.where(b > 0, np.minimum(a, b) / np.maximum(a, b), np.nan)


def element_similarities(draft: CaseRecord, index: SearchIndex, rows: np.ndarray) -> np.ndarray:
    """:func:`element_similarity` of the draft with each of ``rows``, computed on arrays (same values)."""
    cols = _columns(index)
    q = draft.quantities
    drug = _closeness_many(q.drug_grams, cols.drug_grams[rows])
    drug[cols.drug_type[rows] != cols.drug_type_code(q.drug_type)] = np.nan
    parts = [_closeness_many(q.amount_yuan, cols.amount[rows]), drug, _closeness_many(q.blood_alcohol_mg_100ml, cols.alcohol[rows])]
    qi = np.array([q.injuries.deaths, q.injuries.serious, q.injuries.minor])
    ci = cols.injuries[rows]
    harmed = ci.any(axis=1) | bool(qi.any())
    parts.append(np.where(harmed, (ci == qi).all(axis=1).astype(np.float64), np.nan))
    dc = np.zeros(cols.circumstances.shape[1], dtype=bool)
    unseen = 0  # a circumstance no row of this version holds (a kind added after it was built)
    for c in {x.value for x in draft.circumstances}:
        if c in cols.kind_of:
            dc[cols.kind_of[c]] = True
        else:
            unseen += 1
    cc = cols.circumstances[rows]
    union = (cc | dc).sum(axis=1) + unseen
    with np.errstate(invalid="ignore", divide="ignore"):
        parts.append(np.where(union > 0, (cc & dc).sum(axis=1) / union, np.nan))
    # summed in the same order as element_similarity, so the floats are the same
    total = np.zeros(len(rows))
    known = np.zeros(len(rows), dtype=np.int64)
    for part in parts:
        ok = ~np.isnan(part)
        total = np.where(ok, total + np.where(ok, part, 0.0), total)
        known += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known > 0, total / np.maximum(known, 1), 0.0)


def retrieve(
    draft: Draft, index: SearchIndex, k: int, filters: Filters | None = None, fusion: Fusion = HYBRID
) -> list[Hit]:
    """The k best rows for a draft, best first.

    Candidates come from the version's backend: FAISS and BM25 in process, or one Milvus hybrid request
    (:mod:`indexing.milvus_backend`) with the filters evaluated by Milvus; either way every candidate is
    then scored here in the same way.
    """
    filters = filters or Filters()
    mask = index.mask(filters)
    # every candidate gets its exact BM25 score: one found by the dense search alone is fused with its
    # real BM25 score, not 0 (which read as "shares no term with the draft")
    bm25 = index.bm25.query(draft.tokens)
    milvus = index.milvus
    if milvus is not None:
        from indexing.milvus_backend import filter_expr

        dense: dict[int, float] = {}
        candidates = set(milvus.hybrid(draft.vector, draft.record.facts or "", CANDIDATES, filter_expr(filters)))
    else:
        dense = index.dense_candidates(draft.vector, CANDIDATES, mask)
        candidates = set(dense) | set(bm25.top_rows(CANDIDATES, mask).tolist())
    # narrower pools join the candidates even when neither method's global top-N reaches them (scored
    # exactly over their rows): the cases of the judge's (or the predicted) charges, which may be rare in
    # the corpus, and for a civil draft the civil cases, which a mostly criminal corpus crowds out
    narrowed: list[Filters] = []
    if (draft.charges_given and fusion.given_charge) or (draft.charges_source == "predicted" and fusion.predicted_charge):
        narrowed.append(Filters(charges=list(draft.record.charges)))
    civil_draft = draft.record.case_type == CaseType.CIVIL and fusion.civil_type > 0
    if civil_draft:
        narrowed.append(Filters(case_type=CaseType.CIVIL.value))
    for narrow in narrowed:
        if milvus is not None:
            candidates.update(milvus.dense(draft.vector, CANDIDATES,
                                           filter_expr(filters, charges=narrow.charges, case_type=narrow.case_type)))
            continue
        same = index.mask(narrow)
        if mask is not None and same is not None:
            same = same & mask
        found = index.dense_candidates(draft.vector, CANDIDATES, same)
        dense.update(found)
        candidates.update(found)
    if not candidates:
        return []
    # a candidate found by one method only is scored by the other too, so fusion compares like with like
    # (its BM25 score is read below)
    missing_dense = [r for r in candidates if r not in dense]
    if missing_dense:
        scores = index.dense.vectors(missing_dense) @ draft.vector
        dense.update(zip(missing_dense, scores.tolist(), strict=True))
    rows = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
    row_list = rows.tolist()
    dense_raw = np.fromiter(map(dense.__getitem__, row_list), dtype=np.float64, count=len(row_list))
    bm25_raw = bm25.scores_of(rows).astype(np.float64)
    overlap = _columns(index).charge_overlap(draft.record.charges, rows)
    w_charge = (fusion.given_charge if draft.charges_given
                else fusion.predicted_charge if draft.charges_source == "predicted" else fusion.charge)
    score = fusion.dense * _scaled_array(dense_raw) + fusion.bm25 * _scaled_array(bm25_raw) + w_charge * overlap
    if fusion.elements and draft.record.case_type != CaseType.CIVIL:
        # the elements are a crime's (amount taken, drugs, injuries, circumstances): a civil case's sums
        # are a loan's or a claim's, and ranking civil drafts by them cost NDCG (docs/benchmarks/civil.json)
        score += fusion.elements * element_similarities(draft.record, index, rows)
    if civil_draft:
        score += fusion.civil_type * _columns(index).civil[rows]
    order = np.lexsort((rows, -score))[:k]
    # each column to Python numbers at once: five numpy scalar reads per hit were half its cost
    return list(map(Hit, rows[order].tolist(), score[order].tolist(), dense_raw[order].tolist(),
                    bm25_raw[order].tolist(), overlap[order].tolist()))


def _scaled_array(values: np.ndarray) -> np.ndarray:
    """:func:`_scaled` on an array: min-max to [0, 1] (all equal: all 0)."""
    lo = float(values.min())
    span = (float(values.max()) - lo) or 1.0
    return (values - lo) / span

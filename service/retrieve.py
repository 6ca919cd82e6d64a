"""Draft -> ranked similar cases: the corpus's own extract/anonymize/embed path, then hybrid fusion.

A draft goes through exactly the code the corpus went through (extract, anonymize, segment, embed),
so there is no second preprocessing path to drift. Candidates are the union of the dense top-N and
the BM25 top-N; each candidate's score mixes the two (each scaled to [0, 1] within the candidates)
with the agreement of charges: the judge's charges when given, else the ones extracted from the draft
text. The weights are set by the benchmark in evaluation/ (see README for the figures).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexing.anonymize import anonymize
from indexing.errors import RecordError
from indexing.extract import extract, normalize_charge, split_sections
from indexing.schema import CaseRecord, RawJudgment
from indexing.search_index import Filters, SearchIndex
from indexing.segment import tokenize

CANDIDATES = 200
W_DENSE = 0.55
W_BM25 = 0.45
W_CHARGE = 0.35


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


def normalize_charges(charges: list[str] | None, field: str = "charges") -> list[str]:
    """Canonical charge names; an unknown name is a 4xx-worthy RecordError naming it."""
    out: list[str] = []
    for name in charges or []:
        canonical = normalize_charge(name)
        if canonical is None:
            raise RecordError("request", field, f"unknown charge {name!r}")
        if canonical not in out:
            out.append(canonical)
    return out


def draft_record(text: str, *, location: str = "request") -> CaseRecord:
    """Extract and anonymize a pasted draft (a full judgment, a head+facts, or bare facts)."""
    sections = split_sections(text)
    if sections.facts:
        raw = RawJudgment(source="draft", source_id="draft", location=location, full_text=text)
    else:
        raw = RawJudgment(source="draft", source_id="draft", location=location, facts=text)
    record = extract(raw)
    record, _report = anonymize(record, head=sections.head)
    return record


def prepare_draft(text: str, index: SearchIndex, charges: list[str] | None = None) -> Draft:
    record = draft_record(text, location="text")
    given = normalize_charges(charges)
    if given:
        record = record.model_copy(update={"charges": given})
    vector = index.embedder.encode([record.facts])[0]
    return Draft(record=record, tokens=tokenize(record.facts), vector=vector, charges_given=bool(given))


def _scaled(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    hi = max(values.values())
    lo = min(values.values())
    span = (hi - lo) or 1.0
    return {k: (v - lo) / span for k, v in values.items()}


def retrieve(draft: Draft, index: SearchIndex, k: int, filters: Filters | None = None) -> list[Hit]:
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
        score = W_DENSE * dense_s[r] + W_BM25 * bm25_s[r] + W_CHARGE * overlap
        hits.append(Hit(row=r, score=score, dense=dense[r], bm25=lexical.get(r, 0.0), charge_overlap=overlap))
    hits.sort(key=lambda h: (-h.score, h.row))
    return hits[:k]

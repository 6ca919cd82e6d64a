"""Draft -> the corpus's own extract/anonymize/segment/embed path, ready for indexing.fusion.

A draft goes through exactly the code the corpus went through, so there is no second preprocessing
path to drift.
"""

from __future__ import annotations

from indexing.anonymize import anonymize
from indexing.charges import is_canonical, resolve_charge
from indexing.errors import RecordError
from indexing.extract import extract, split_sections, statutory_brackets
from indexing.fusion import BM25_ONLY, DENSE_ONLY, HYBRID, Draft, Fusion, Hit, retrieve
from indexing.schema import CaseRecord, RawJudgment
from indexing.search_index import SearchIndex
from indexing.segment import tokenize

__all__ = ["BM25_ONLY", "DENSE_ONLY", "HYBRID", "Draft", "Fusion", "Hit", "retrieve", "prepare_draft", "draft_record",
           "normalize_charges", "resolve_given_charges"]


def normalize_charges(charges: list[str] | None, field: str = "charges") -> list[str]:
    """Canonical charge names; an unknown name is a 4xx-worthy RecordError naming it."""
    return resolve_given_charges(charges, field)[0]


def resolve_given_charges(charges: list[str] | None, field: str = "charges") -> tuple[list[str], dict[str, str]]:
    """Canonical charge names, and the former names among those given (current -> as given).

    Unlike ingestion, which keeps a plausible unlisted name so that nothing is lost, a request's
    charge must be on the canonical list, an alias or a former name of one (非法获取公民个人信息罪 is
    answered as 侵犯公民个人信息罪, the name since 刑法修正案（九）): a made-up name would silently
    match nothing.
    """
    out: list[str] = []
    written: dict[str, str] = {}
    for name in charges or []:
        canonical, former = resolve_charge(name) if isinstance(name, str) else (None, None)
        if canonical is None or not is_canonical(canonical):
            raise RecordError("request", field, f"unknown charge {name!r}: not a charge of the 刑法 (see GET /v1/charges)")
        if canonical not in out:
            out.append(canonical)
        if former:
            written.setdefault(canonical, former)
    return out, written


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
    given, written = resolve_given_charges(charges)
    if given:
        record = record.model_copy(update={
            "charges": given, "charges_as_written": written,
            "brackets": statutory_brackets(given, record.quantities, record.circumstances),
        })
    vector = index.embedder.encode([record.facts])[0]
    return Draft(record=record, tokens=tokenize(record.facts), vector=vector, charges_given=bool(given))



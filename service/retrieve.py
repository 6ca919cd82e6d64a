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


#: Similar cases whose charges vote in the charge prediction (the charge model learned their weight).
CHARGE_VOTERS = 10


def prepare_draft(text: str, index: SearchIndex, charges: list[str] | None = None) -> Draft:
    """A draft through the corpus pipeline, with its charges: the caller's, the text's, or predicted.

    A criminal draft that names no charge (plain facts, a litigant's account) gets the charge model's
    prediction from its facts and its nearest cases' charges (dense top 10), shown as predicted.
    """
    record = draft_record(text, location="text")
    given, written = resolve_given_charges(charges)
    vector = index.embedder.encode([record.facts])[0]
    source = "given" if given else "extracted" if record.charges else "none"
    predicted: tuple[tuple[str, float], ...] = ()
    if given:
        record = record.model_copy(update={"charges": given, "charges_as_written": written})
    elif not record.charges and index.charge_model is not None and record.case_type.value == "criminal":
        voters = sorted(index.dense_candidates(vector, CHARGE_VOTERS, None).items(), key=lambda kv: -kv[1])
        votes = [index.rows[row]["charges"] for row, _score in voters]
        predicted = tuple(index.charge_model.predict([record.facts], [votes])[0])
        record = record.model_copy(update={"charges": [c for c, _p in predicted]})
        source = "predicted"
    if record.charges:
        record = record.model_copy(update={"brackets": statutory_brackets(record.charges, record.quantities,
                                                                           record.circumstances)})
    return Draft(record=record, tokens=tokenize(record.facts), vector=vector, charges_given=bool(given),
                 charges_source=source, predicted=predicted)

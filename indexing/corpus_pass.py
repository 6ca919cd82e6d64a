"""The corpus-level flags (duplicate, near-duplicate, overturned) recomputed from the store in streams.

``indexing.quality.corpus_flags`` defines the flags over records held in memory; this pass computes the
same flags with memory that grows with the number of flagged cases, not with the corpus, so a million
cases ingest on one machine:

- exact duplicates: the database groups ``content_hash``; only hashes shared by two cases come back;
- near duplicates: each case's MinHash LSH band keys are in ``minhash_bands`` (written with the case,
  filled in here for cases stored without them); the database orders the band keys, and each run of
  equal keys is one LSH bucket, read one at a time;
- overturned: the second-instance and retrial judgments that name 撤销/改判/发回重审 are read (a small
  share of the corpus), then the case numbers of all cases are streamed past the numbers they cite.

Only cases whose flags change are rewritten. The canonical copy of a group is its smallest case_id,
as in the in-memory definition, so the result does not depend on ingest order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select, update

from indexing import db
from indexing.quality import (
    CARD_SOURCES,
    CASE_NUMBER,
    OVERTURN_WORDS,
    minhash_bands,
    normalize_case_number,
)
from indexing.schema import CaseRecord, Procedure

READ_BATCH = 2000  # rows fetched per round trip while streaming
_TEXT_CASES = db.cases.c.source.not_in(sorted(CARD_SOURCES))  # structured cards have no text to compare


@dataclass
class FlagCounts:
    """How many stored cases carry each corpus-level flag after the pass (cards included, as in the report)."""

    exact_duplicates: int = 0
    near_duplicates: int = 0
    overturned: int = 0
    superseded: int = 0
    changed: int = 0  # cases whose flags this pass rewrote
    bands_filled: int = 0  # cases stored without LSH bands (an older release) whose bands were computed


def _stream(engine: Engine, query) -> Iterator:  # type: ignore[no-untyped-def]
    """Rows of ``query`` fetched in batches (a server-side cursor on PostgreSQL), never all at once."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=READ_BATCH).execute(query)
        for partition in result.partitions():
            yield from partition


def fill_missing_bands(engine: Engine) -> int:
    """Compute the LSH bands of text cases stored without them (stores from before revision 0003)."""
    filled = 0
    last = ""
    band0 = db.minhash_bands.alias("b0")
    while True:
        query = (
            select(db.cases.c.case_id, db.cases.c.record)
            .outerjoin(band0, and_(band0.c.case_id == db.cases.c.case_id, band0.c.band == 0))
            .where(band0.c.case_id.is_(None), _TEXT_CASES, db.cases.c.case_id > last)
            .order_by(db.cases.c.case_id)
            .limit(READ_BATCH)
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return filled
        bands = {cid: minhash_bands(CaseRecord.model_validate(rec).facts or "") for cid, rec in rows}
        with engine.begin() as conn:
            db.write_bands(conn, bands)
        filled += len(rows)
        last = rows[-1][0]


def exact_duplicates(engine: Engine) -> dict[str, str]:
    """case_id -> its canonical copy (the smallest case_id with the same normalized facts), for copies only."""
    shared = (
        select(db.cases.c.content_hash)
        .where(_TEXT_CASES, db.cases.c.content_hash.is_not(None))
        .group_by(db.cases.c.content_hash)
        .having(func.count() > 1)
        .subquery()
    )
    query = (
        select(db.cases.c.content_hash, db.cases.c.case_id)
        .where(_TEXT_CASES, db.cases.c.content_hash.in_(select(shared.c.content_hash)))
        .order_by(db.cases.c.content_hash)
    )
    copies: dict[str, str] = {}
    group: list[str] = []
    current = None
    for content_hash, case_id in [*_stream(engine, query), (None, None)]:
        if content_hash != current and group:
            canonical = min(group)
            copies.update({cid: canonical for cid in group if cid != canonical})
            group = []
        current = content_hash
        if case_id is not None:
            group.append(case_id)
    return copies


def near_duplicates(engine: Engine, copies: dict[str, str]) -> dict[str, str]:
    """case_id -> the smallest smaller canonical case_id sharing an LSH bucket with it.

    The same as inserting canonical cases into a MinHashLSH in case_id order and querying each before
    its insertion (indexing.quality.corpus_flags): a case's hits are the canonical cases before it in
    any of its buckets, and their minimum is the smallest bucket minimum below it.
    """
    b = db.minhash_bands
    query = (
        select(b.c.band, b.c.key, b.c.case_id)
        .join(db.cases, db.cases.c.case_id == b.c.case_id)
        .where(_TEXT_CASES)
        .order_by(b.c.band, b.c.key)
    )
    near: dict[str, str] = {}
    bucket: list[str] = []
    current = None

    def close(ids: list[str]) -> None:
        ids = [cid for cid in ids if cid not in copies]  # exact copies are flagged as such, not near
        if len(ids) < 2:
            return
        first = min(ids)
        for cid in ids:
            if cid != first and (cid not in near or first < near[cid]):
                near[cid] = first

    for band, key, case_id in _stream(engine, query):
        if (band, key) != current:
            close(bucket)
            bucket = []
            current = (band, key)
        bucket.append(case_id)
    close(bucket)
    return near


def overturned(engine: Engine) -> dict[str, str]:
    """case_id -> the smallest case_id of a second-instance or retrial judgment that overturned it."""
    appeals = select(db.cases.c.case_id, db.cases.c.record).where(
        _TEXT_CASES, db.cases.c.procedure.in_([Procedure.SECOND.value, Procedure.RETRIAL.value])
    )
    cited: dict[str, str] = {}  # normalized case number -> the smallest judgment that overturned it
    for case_id, rec in _stream(engine, appeals):
        r = CaseRecord.model_validate(rec)
        if not r.judgment or not OVERTURN_WORDS.search(r.judgment):
            continue
        own = normalize_case_number(r.case_number or "")
        text = " ".join(t for t in (r.facts, r.reasoning, r.judgment) if t)
        for number in {normalize_case_number(m) for m in CASE_NUMBER.findall(text)} - {own}:
            if number not in cited or case_id < cited[number]:
                cited[number] = case_id
    if not cited:
        return {}
    numbered = select(db.cases.c.case_id, db.cases.c.case_number).where(
        _TEXT_CASES, db.cases.c.case_number.is_not(None)
    )
    return {
        case_id: cited[number]
        for case_id, case_number in _stream(engine, numbered)
        if (number := normalize_case_number(case_number)) in cited
    }


def apply_corpus_flags(engine: Engine) -> FlagCounts:
    """Recompute the corpus-level flags of every stored case and rewrite those that changed."""
    counts = FlagCounts(bands_filled=fill_missing_bands(engine))
    copies = exact_duplicates(engine)
    near = near_duplicates(engine, copies)
    overturned_by = overturned(engine)
    flagged_now = select(db.cases.c.case_id).where(
        _TEXT_CASES,
        or_(
            db.cases.c.duplicate_of.is_not(None),
            db.cases.c.near_duplicate_of.is_not(None),
            db.cases.c.overturned.is_(True),
        ),
    )
    # Every case whose flags may change: flagged now, or flagged before. All others stay unflagged.
    candidates = sorted({*copies, *near, *overturned_by, *(cid for (cid,) in _stream(engine, flagged_now))})
    for start in range(0, len(candidates), READ_BATCH):
        ids = candidates[start : start + READ_BATCH]
        with engine.connect() as conn:
            rows = conn.execute(
                select(db.cases.c.case_id, db.cases.c.record).where(db.cases.c.case_id.in_(ids))
            ).all()
        with engine.begin() as conn:
            for case_id, rec in rows:
                record = CaseRecord.model_validate(rec)
                flags = record.flags.model_copy(
                    update={
                        "duplicate_of": copies.get(case_id),
                        "near_duplicate_of": near.get(case_id),
                        "overturned": case_id in overturned_by,
                        "overturned_by": overturned_by.get(case_id),
                    }
                )
                if flags == record.flags:
                    continue
                counts.changed += 1
                conn.execute(
                    update(db.cases)
                    .where(db.cases.c.case_id == case_id)
                    .values(
                        record=record.model_copy(update={"flags": flags}).model_dump(mode="json"),
                        duplicate_of=flags.duplicate_of,
                        near_duplicate_of=flags.near_duplicate_of,
                        overturned=flags.overturned,
                    )
                )
    with engine.connect() as conn:
        c = db.cases.c
        row = conn.execute(
            select(
                func.count(c.duplicate_of),
                func.count(c.near_duplicate_of),
                func.count().filter(c.overturned.is_(True)),
                func.count().filter(c.superseded.is_(True)),
            )
        ).one()
    counts.exact_duplicates, counts.near_duplicates, counts.overturned, counts.superseded = (
        int(v) for v in row
    )
    return counts

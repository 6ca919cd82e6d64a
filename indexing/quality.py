"""Data quality: per-record validation, and corpus-level duplicate, overturned and superseded flags.

Per record (``check``): a case without usable facts or with an impossible outcome is rejected with a
``RecordError`` naming the field; a good one gets its content hash and its superseded flag.

Corpus level (``corpus_flags``): exact duplicates (same normalized facts), near duplicates (MinHash
LSH over character 5-gram shingles, Jaccard >= 0.8) and overturned cases (a second-instance or retrial
judgment in the store that names the case number and 撤销/改判/发回重审). Flags are stored, never used to
delete: flagged cases stay findable and are left out of sentencing statistics by default.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from indexing.amendments import superseding_amendment
from indexing.errors import RecordError
from indexing.law import GENERAL_BOUNDS
from indexing.schema import CaseRecord, Flags, OutcomeType, Procedure

MIN_FACT_CHARS = 15
# 数罪并罚 caps fixed-term imprisonment at 25 years (刑法第69条), from the law table
MAX_FIXED_TERM_MONTHS = GENERAL_BOUNDS.terms[OutcomeType.FIXED_TERM].combined_max_months_long or 300
_NON_CONTENT = re.compile(r"[\s\W_]+", re.UNICODE)
CASE_NUMBER = re.compile(r"[（(]\d{4}[）)][^，。；、\s（(]{1,20}?号")
OVERTURN_WORDS = re.compile(r"撤销|改判|发回.{0,6}重(?:新)?审")
NEAR_DUP_THRESHOLD = 0.8
SHINGLE = 5
NUM_PERM = 64

CARD_SOURCES = {"traffic_card"}

#: Flags that keep a stored case out of sentencing statistics (the model, the similar cases' sentences,
#: the corpus statistics): copies, overturned judgments, superseded provisions, synthetic cases. Such
#: cases stay stored and findable; this is the one place that says which cases count.
NOT_FOR_SENTENCING = ("duplicate_of", "near_duplicate_of", "overturned", "superseded", "synthetic")


def counts_for_sentencing(flags: Flags | dict) -> bool:
    """Whether a case with these flags (a Flags or its JSON) counts for sentencing statistics."""
    values = flags if isinstance(flags, dict) else flags.model_dump()
    return not any(values.get(name) for name in NOT_FOR_SENTENCING)  # structured case cards have no text by nature


def normalize_case_number(text: str) -> str:
    return text.replace("(", "（").replace(")", "）").replace(" ", "")


def content_hash(facts: str) -> str:
    """Hash of the facts with whitespace and punctuation removed: reformatted copies hash equal."""
    return hashlib.sha1(_NON_CONTENT.sub("", facts).encode("utf-8")).hexdigest()


def check(record: CaseRecord, location: str) -> CaseRecord:
    """Validate one extracted, anonymized record and add its hash and superseded flag."""
    if record.source not in CARD_SOURCES:
        body = _NON_CONTENT.sub("", record.facts or "")
        if not body:
            raise RecordError(location, "facts", "missing facts")
        if len(body) < MIN_FACT_CHARS:
            raise RecordError(location, "facts", f"facts too short to use ({len(body)} characters, need {MIN_FACT_CHARS})")
    outcome = record.outcome
    if outcome is not None and outcome.months is not None:
        if outcome.months < 0:
            raise RecordError(location, "outcome.months", f"negative term {outcome.months}")
        if outcome.type == OutcomeType.FIXED_TERM and outcome.months > MAX_FIXED_TERM_MONTHS:
            raise RecordError(location, "outcome.months", f"fixed term of {outcome.months} months exceeds 25 years")
    flags = record.flags
    amendment = superseding_amendment(record.articles, record.date)
    if amendment is not None:
        changed = "、".join(f"第{n}条" for n in amendment["changed"])
        flags = flags.model_copy(
            update={
                "superseded": True,
                "superseded_reason": f"{changed} amended by {amendment['amendment']} in force {amendment['effective_date']}",
            }
        )
    return record.model_copy(update={"content_hash": content_hash(record.facts or ""), "flags": flags})


@dataclass(frozen=True)
class FlagUpdate:
    case_id: str
    flags: Flags


def _shingles(text: str) -> list[bytes]:
    body = _NON_CONTENT.sub("", text)
    return [g.encode() for g in {body[i : i + SHINGLE] for i in range(max(1, len(body) - SHINGLE + 1))}]


def _shingle_hashes(text: str) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each shingle (the first 4 bytes of its SHA-1, little-endian), computed
    in one pass: a Python call and a ``struct.unpack`` per shingle were a third of an ingest's CPU."""
    sha1 = hashlib.sha1
    return np.frombuffer(b"".join([sha1(g).digest()[:4] for g in _shingles(text)]), dtype="<u4").astype(np.uint32)


#: The LSH banding datasketch chooses for NEAR_DUP_THRESHOLD and NUM_PERM (5 bands of 11 rows): two
#: cases are near-duplicate candidates when all rows of any one band agree. ``minhash_bands`` gives a
#: case's bands so the store can keep them (the ``minhash_bands`` table) instead of an in-memory LSH.
LSH_BANDS: tuple[tuple[int, int], ...] = tuple(MinHashLSH(threshold=NEAR_DUP_THRESHOLD, num_perm=NUM_PERM).hashranges)


_EMPTY_MINHASH = MinHash(num_perm=NUM_PERM, seed=1)  # copied: drawing the permutations is a third of the cost
_PERM_A, _PERM_B = (np.asarray(x, dtype=np.uint32) for x in _EMPTY_MINHASH.permutations)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, which datasketch's "affine32" scheme applies to each hash first."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash(facts: str) -> MinHash:
    """The MinHash of a case's facts: datasketch's ``MinHash(num_perm=NUM_PERM, seed=1)`` fed each shingle's
    bytes, computed here in numpy (the same values, tested against datasketch: band keys stores already
    hold stay comparable) instead of through its per-value Python loop."""
    mixed = _fmix32(_shingle_hashes(facts)).reshape(-1, 1)
    mh = _EMPTY_MINHASH.copy()
    mh.hashvalues = np.minimum(mh.hashvalues, (mixed * _PERM_A + _PERM_B).min(axis=0))
    return mh


def minhash_bands(facts: str) -> list[tuple[int, bytes]]:
    """The LSH band keys of a case's facts: (band number, its 32-bit hash values as big-endian bytes)."""
    values = minhash(facts).hashvalues
    return [(i, values[start:end].astype(">u4").tobytes()) for i, (start, end) in enumerate(LSH_BANDS)]


def corpus_flags(records: Iterable[CaseRecord]) -> list[FlagUpdate]:
    """Recompute duplicate and overturned flags over ``records``, held in memory; return only the changed ones.

    The definition of the corpus flags, for a few thousand cases at most: ``leian ingest`` computes the
    same flags from the store in streams (indexing/corpus_pass.py), so memory does not grow with it.

    Why over the whole store: a duplicate or an overturning judgment may arrive in a later ingest
    than the case it concerns. The canonical copy of a duplicate group is its smallest case_id, so the
    choice does not depend on ingest order.
    """
    records = [r for r in records if r.source not in CARD_SOURCES]
    by_hash: dict[str, list[str]] = {}
    by_number: dict[str, list[str]] = {}
    for r in records:
        by_hash.setdefault(r.content_hash, []).append(r.case_id)
        if r.case_number:
            by_number.setdefault(normalize_case_number(r.case_number), []).append(r.case_id)
    canonical = {cid: min(ids) for ids in by_hash.values() for cid in ids}

    lsh = MinHashLSH(threshold=NEAR_DUP_THRESHOLD, num_perm=NUM_PERM)
    near: dict[str, str] = {}
    for r in sorted(records, key=lambda r: r.case_id):
        if canonical[r.case_id] != r.case_id:
            continue  # exact duplicates are already flagged; only canonical copies enter the LSH
        mh = minhash(r.facts)
        hits = lsh.query(mh)
        if hits:
            near[r.case_id] = min(hits)
        lsh.insert(r.case_id, mh)

    overturned: dict[str, str] = {}
    for r in records:
        if r.procedure not in (Procedure.SECOND, Procedure.RETRIAL) or not r.judgment:
            continue
        if not OVERTURN_WORDS.search(r.judgment):
            continue
        own = normalize_case_number(r.case_number or "")
        text = " ".join(t for t in (r.facts, r.reasoning, r.judgment) if t)
        for number in {normalize_case_number(m) for m in CASE_NUMBER.findall(text)} - {own}:
            for target in by_number.get(number, []):
                overturned.setdefault(target, r.case_id)

    updates = []
    for r in records:
        dup = canonical[r.case_id] if canonical[r.case_id] != r.case_id else None
        flags = r.flags.model_copy(
            update={
                "duplicate_of": dup,
                "near_duplicate_of": near.get(r.case_id),
                "overturned": r.case_id in overturned,
                "overturned_by": overturned.get(r.case_id),
            }
        )
        if flags != r.flags:
            updates.append(FlagUpdate(r.case_id, flags))
    return updates

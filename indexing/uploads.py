"""Cases uploaded in batches (POST /v1/cases): each record read, anonymized and checked as ingest does,
then stored as a new version of its case with who sent it, or kept in quarantine with the reason.

The stages are the ingest's own: :func:`indexing.parse.exchange_record` reads an exchange record and
:func:`indexing.pipeline.process` extracts, anonymizes and checks it. What differs is the bookkeeping
an upload needs and a file does not: per record an answer (accepted with its case id, or rejected
with the field and the reason), every version kept (``case_versions``), refused records kept as sent
(``upload_quarantine``). The corpus flags (duplicates, overturned) are recomputed by the build that
serves the uploads (``indexing.pipeline.refresh_corpus_flags``), not per batch: that pass reads the
whole store.

A record with the source and source id of a stored case is a correction: it becomes the case's next
version, and the version it supersedes stays stored. A record equal to the stored case (all but its
corpus flags) is accepted as ``unchanged`` and adds nothing. A record whose anonymized facts are
those of another stored case (the same content hash) is accepted as ``new`` and names that case in
``duplicate_of``; the build indexes one copy (indexing/quality.py's corpus flags).

:func:`prepare` is the CPU work (outside any transaction); :func:`plan` and :func:`write` run inside
the caller's transaction, between which the caller appends the audit records whose sequence numbers
the versions keep (service/uploads.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from indexing import db
from indexing.errors import RecordError
from indexing.parse import exchange_record
from indexing.pipeline import process
from indexing.schema import CaseRecord, Quarantined

MAX_BATCH = 500  # records per upload: a batch is one transaction, and its answer lists every record
Status = Literal["new", "corrected", "unchanged"]


def canonical_sha256(value: Any) -> tuple[str, int]:
    """SHA-256 and size of ``value`` as canonical JSON (sorted keys, UTF-8, no spaces).

    An uploader recomputes it from the record they sent to match the hash the audit log binds to them.
    """
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode(
        "utf-8"
    )
    return hashlib.sha256(raw).hexdigest(), len(raw)


@dataclass(frozen=True)
class Accepted:
    index: int
    record: CaseRecord  # anonymized and checked
    sent_sha256: str
    sent_size: int


@dataclass(frozen=True)
class Rejected:
    index: int
    field: str
    reason: str
    sent: Any  # the record as sent
    sent_sha256: str


@dataclass(frozen=True)
class Prepared:
    accepted: list[Accepted]
    rejected: list[Rejected]


def _exchange_field(name: str) -> str:
    """The exchange record's name for a field the pipeline names (``labels.outcome`` is ``outcome``)."""
    return name.removeprefix("labels.")


def _nul_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding U+0000, or None.

    Why refused up front: PostgreSQL refuses the character in text, so such a record could be
    neither stored nor quarantined (and its key names would be the field a refusal names).
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return path or "record"
            if (found := _nul_at(item, here)) is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            if (found := _nul_at(item, f"{path}.{n}" if path else str(n))) is not None:
                return found
    return None


def prepare(items: Sequence[Any]) -> Prepared:
    """Read, extract, anonymize and check each record of a batch; the refused ones with field and reason."""
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        sent_sha256, size = canonical_sha256(item)

        def refuse(name: str, reason: str, i: int = i, item: Any = item, sha: str = sent_sha256) -> None:
            rejected.append(Rejected(i, name[:200], reason, item, sha))

        if (where := _nul_at(item)) is not None:
            refuse(where or "record", "contains a NUL character (U+0000), which no judgment text has")
            continue
        parsed = exchange_record(item, f"cases[{i}]")
        if isinstance(parsed, Quarantined):
            refuse(parsed.field, parsed.reason)
            continue
        try:
            record, _masked = process(parsed)
        except RecordError as exc:
            refuse(_exchange_field(exc.field), exc.reason)
            continue
        if record.case_id in first:
            refuse(
                "source_id",
                f"the same case (source and source_id) as cases[{first[record.case_id]}] of this batch: "
                "send one version of a case per batch",
            )
            continue
        first[record.case_id] = i
        accepted.append(Accepted(i, record, sent_sha256, size))
    return Prepared(accepted, rejected)


def _content(record: dict) -> dict:
    """A stored record without the flags the corpus pass sets: what an uploader can change."""
    return {k: v for k, v in record.items() if k != "flags"}


@dataclass
class Outcome:
    """What storing one accepted record does."""

    accepted: Accepted
    status: Status
    version: int | None  # None: an unchanged case that has no version (stored by an ingest, never uploaded)
    supersedes: int | None = None
    duplicate_of: str | None = None
    stored_sha256: str = ""


@dataclass
class Plan:
    batch_id: str
    actor: str
    role: str | None
    at: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    baselines: list[dict] = field(
        default_factory=list
    )  # version rows for ingested records a correction supersedes
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def stored(self) -> list[Outcome]:
        """The outcomes that add a version (and get an audit record)."""
        return [o for o in self.outcomes if o.status != "unchanged"]


def plan(
    conn: Connection, prepared: Prepared, *, batch_id: str, actor: str, role: str | None, at: datetime
) -> Plan:
    """Decide each accepted record's status and version against the store (inside the caller's locked transaction)."""
    ids = [a.record.case_id for a in prepared.accepted]
    result = Plan(batch_id, actor, role, at, rejected=list(prepared.rejected))
    if not ids:
        return result
    stored = {
        row.case_id: row
        for row in conn.execute(
            select(db.cases.c.case_id, db.cases.c.record, db.cases.c.ingested_at).where(
                db.cases.c.case_id.in_(ids)
            )
        )
    }
    latest = dict(
        conn.execute(
            select(db.case_versions.c.case_id, func.max(db.case_versions.c.version))
            .where(db.case_versions.c.case_id.in_(ids))
            .group_by(db.case_versions.c.case_id)
        ).all()
    )
    hashes = {a.record.content_hash for a in prepared.accepted if a.record.content_hash}
    same_facts: dict[str, list[str]] = {}
    if hashes:
        for case_id, content_hash in conn.execute(
            select(db.cases.c.case_id, db.cases.c.content_hash)
            .where(db.cases.c.content_hash.in_(hashes))
            .order_by(db.cases.c.case_id)
        ):
            same_facts.setdefault(content_hash, []).append(case_id)
    for a in prepared.accepted:
        record = a.record.model_dump(mode="json")
        case_id = a.record.case_id
        duplicate_of = next((c for c in same_facts.get(a.record.content_hash, []) if c != case_id), None)
        old = stored.get(case_id)
        if old is not None and _content(_as_dict(old.record)) == _content(record):
            result.outcomes.append(
                Outcome(
                    a,
                    "unchanged",
                    latest.get(case_id),
                    duplicate_of=duplicate_of,
                    stored_sha256=canonical_sha256(record)[0],
                )
            )
            continue
        previous = latest.get(case_id)
        if old is not None and previous is None:  # an ingested case: its record becomes version 1, kept
            previous = 1
            old_record = _as_dict(old.record)
            result.baselines.append(
                {
                    "case_id": case_id,
                    "version": 1,
                    "origin": "ingest",
                    "batch_id": None,
                    "uploaded_by": None,
                    "role": None,
                    "at": old.ingested_at,
                    "sent_sha256": None,
                    "stored_sha256": canonical_sha256(old_record)[0],
                    "audit_seq": None,
                    "record": old_record,
                }
            )
        status: Status = "corrected" if old is not None else "new"
        version = (previous or 0) + 1
        result.outcomes.append(
            Outcome(
                a,
                status,
                version,
                supersedes=previous,
                duplicate_of=duplicate_of,
                stored_sha256=canonical_sha256(record)[0],
            )
        )
    return result


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else json.loads(value)


def audit_entry(p: Plan, outcome: Outcome) -> dict[str, Any]:
    """The audit record that binds a stored version to its uploader: the hash of the record as sent
    (``request_hash``) and, in ``target``, the case, the version and the hash of the record as stored."""
    a = outcome.accepted
    return {
        "actor": p.actor,
        "role": p.role,
        "action": "case.upload" if outcome.status == "new" else "case.correct",
        "target": f"case {a.record.case_id} v{outcome.version} stored sha256:{outcome.stored_sha256} batch {p.batch_id}",
        "request_hash": a.sent_sha256,
        "request_size": a.sent_size,
        "status": 201,
    }


def quarantine_entry(p: Plan, rejected: Rejected) -> dict[str, Any]:
    """The audit record of a refused record: who sent what (its hash), and where it is kept."""
    return {
        "actor": p.actor,
        "role": p.role,
        "action": "case.quarantine",
        "target": f"batch {p.batch_id} cases[{rejected.index}] {rejected.field}",
        "request_hash": rejected.sent_sha256,
        "request_size": canonical_sha256(rejected.sent)[1],
        "status": 422,
    }


def write(conn: Connection, p: Plan, audit_seqs: Sequence[int | None]) -> None:
    """Store the plan inside the caller's transaction: the cases' newest versions, every version, the
    quarantined records and the batch as a finished run. ``audit_seqs`` aligns with :attr:`Plan.stored`."""
    stored = p.stored
    if len(audit_seqs) != len(stored):
        raise ValueError(f"{len(audit_seqs)} audit records for {len(stored)} stored versions")
    db.upsert_cases_in(conn, [o.accepted.record for o in stored], p.at)
    rows = list(p.baselines)
    for outcome, seq in zip(stored, audit_seqs, strict=True):
        rows.append(
            {
                "case_id": outcome.accepted.record.case_id,
                "version": outcome.version,
                "origin": "upload",
                "batch_id": p.batch_id,
                "uploaded_by": p.actor,
                "role": p.role,
                "at": p.at,
                "sent_sha256": outcome.accepted.sent_sha256,
                "stored_sha256": outcome.stored_sha256,
                "audit_seq": seq,
                "record": outcome.accepted.record.model_dump(mode="json"),
            }
        )
    if rows:
        conn.execute(db.case_versions.insert(), rows)
    if p.rejected:
        conn.execute(
            db.upload_quarantine.insert(),
            [
                {
                    "batch_id": p.batch_id,
                    "item": r.index,
                    "field": r.field,
                    "reason": r.reason,
                    "uploaded_by": p.actor,
                    "role": p.role,
                    "at": p.at,
                    "sent_sha256": r.sent_sha256,
                    "record": r.sent,
                }
                for r in p.rejected
            ],
        )
    conn.execute(
        db.ingest_runs.insert().values(
            run_id=p.batch_id, started_at=p.at, finished_at=p.at, report=summary(p)
        )
    )


def summary(p: Plan) -> dict[str, Any]:
    """The batch in numbers, as ``ingest_runs`` keeps each run's report."""
    statuses = [o.status for o in p.outcomes]
    return {
        "kind": "upload",
        "by": p.actor,
        "role": p.role,
        "read": len(p.outcomes) + len(p.rejected),
        "stored_new": statuses.count("new"),
        "updated": statuses.count("corrected"),
        "unchanged": statuses.count("unchanged"),
        "rejected": len(p.rejected),
    }


def provenance(conn: Connection, case_id: str) -> dict[str, Any] | None:
    """Every version of a case with who uploaded it and when, newest last; None when the store has no such case.

    A case that was only ever ingested has no version rows: it is shown as one version of origin
    ``ingest`` (its record as stored now).
    """
    keys = {r.id: r.name for r in conn.execute(select(db.api_keys.c.id, db.api_keys.c.name))}
    rows = (
        conn.execute(
            select(db.case_versions)
            .where(db.case_versions.c.case_id == case_id)
            .order_by(db.case_versions.c.version)
        )
        .mappings()
        .all()
    )
    current = conn.execute(
        select(db.cases.c.record, db.cases.c.ingested_at).where(db.cases.c.case_id == case_id)
    ).first()
    if current is None and not rows:
        return None
    versions = []
    for row in rows:
        versions.append(
            {
                "version": row["version"],
                "origin": row["origin"],
                "uploaded_by": row["uploaded_by"],
                "uploader_name": keys.get(row["uploaded_by"]),
                "role": row["role"],
                "at": _iso(row["at"]),
                "batch_id": row["batch_id"],
                "sent_sha256": row["sent_sha256"],
                "stored_sha256": row["stored_sha256"],
                "audit_seq": row["audit_seq"],
                "supersedes": row["version"] - 1 if row["version"] > 1 else None,
                "superseded_by": None,
                "current": False,
            }
        )
    if not versions:
        record = _as_dict(current.record)
        versions.append(
            {
                "version": 1,
                "origin": "ingest",
                "uploaded_by": None,
                "uploader_name": None,
                "role": None,
                "at": _iso(current.ingested_at),
                "batch_id": None,
                "sent_sha256": None,
                "stored_sha256": canonical_sha256(record)[0],
                "audit_seq": None,
                "supersedes": None,
                "superseded_by": None,
                "current": False,
            }
        )
    for older, newer in zip(versions, versions[1:], strict=False):
        older["superseded_by"] = newer["version"]
    versions[-1]["current"] = True
    first = versions[0]
    return {
        "case_id": case_id,
        "current_version": versions[-1]["version"],
        "origin": first["origin"],
        "uploaded_by": first["uploaded_by"],
        "uploader_name": first["uploader_name"],
        "uploaded_at": first["at"],
        "versions": versions,
        "corrections": versions[1:],
    }


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def quarantined(conn: Connection, *, limit: int = 100, batch_id: str | None = None) -> list[dict[str, Any]]:
    """The newest refused records first: where, why, who and when, and the SHA-256 of the record as sent.

    Not the record itself: it is kept as sent, not anonymized, and stays in the store for the admin.
    """
    query = select(*(c for c in db.upload_quarantine.c if c.name != "record"))
    if batch_id:
        query = query.where(db.upload_quarantine.c.batch_id == batch_id)
    rows = conn.execute(query.order_by(db.upload_quarantine.c.id.desc()).limit(limit)).mappings().all()
    return [{**dict(r), "at": _iso(r["at"])} for r in rows]

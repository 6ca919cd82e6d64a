"""An upload batch in one transaction: its cases, every version, its quarantined records and one audit
record per stored version and per refused record, all committed together or not at all.

Why here and not in indexing/uploads.py: the audit chain is the service's (service/audit.py), and a
version must never be stored without the audit record that binds it to its uploader (nor the other
way round). The chain's lock is taken first, so concurrent uploads (several workers) get their
version numbers one batch after another.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from service import audit
from service.auth import User


def new_batch_id() -> str:
    return "upload-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def store_batch(engine: Engine, items: list[Any], user: User) -> dict[str, Any]:
    """Prepare, store and audit one batch; the API's answer: accepted and rejected records by index."""
    # with the extraction pipeline: imported by the first upload, not with the app
    from indexing import uploads

    prepared = uploads.prepare(items)
    batch_id = new_batch_id()
    with engine.connect() as conn:
        try:
            audit.lock_chain(conn)
            plan = uploads.plan(
                conn,
                prepared,
                batch_id=batch_id,
                actor=user.actor,
                role=user.role.value,
                at=datetime.now(UTC),
            )
            stored = plan.stored
            entries = [uploads.audit_entry(plan, o) for o in stored] + [
                uploads.quarantine_entry(plan, r) for r in plan.rejected
            ]
            records = audit.append_locked(conn, entries) if entries else []
            uploads.write(conn, plan, [r["seq"] for r in records[: len(stored)]])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    seqs = {o.accepted.index: r["seq"] for o, r in zip(stored, records, strict=False)}
    accepted = [
        {
            "index": o.accepted.index,
            "case_id": o.accepted.record.case_id,
            "status": o.status,
            "version": o.version,
            "supersedes": o.supersedes,
            "duplicate_of": o.duplicate_of,
            "sent_sha256": o.accepted.sent_sha256,
            "stored_sha256": o.stored_sha256,
            "audit_seq": seqs.get(o.accepted.index),
        }
        for o in plan.outcomes
    ]
    rejected = [{"index": r.index, "field": r.field, "reason": r.reason} for r in plan.rejected]
    return {
        "batch_id": batch_id,
        "accepted": sorted(accepted, key=lambda a: a["index"]),
        "rejected": rejected,
        "served_after": "the next build: POST /v1/admin/build (admin)",
    }

"""Append-only, hash-chained audit log in the case-store database, and its verification.

Each record holds who (key id, "local" or "cli:<user>"), the role, when, the action and its
target, the SHA-256 and size of the request, and the outcome status. Query texts are never kept
(they are court data): only their hash and size. Each record's ``hash`` is the SHA-256 of its
fields and the previous record's hash, so editing, deleting or reordering any record breaks the
chain at that seq; ``audit_head`` (written in the same transaction) holds the last seq and hash, so
deleting the newest records is detected too. Someone who can rewrite the whole table *and* the head
can forge a consistent chain; against that, note the head ``leian audit verify`` prints somewhere
else and pass it back with ``--anchor SEQ:HASH``.

Appends are serialized across processes (several server workers, the CLI): PostgreSQL takes a
transaction-level advisory lock, SQLite a write lock (``BEGIN IMMEDIATE``) before reading the head.
This module has no update or delete function: the application only ever appends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select

from indexing.db import audit_head, audit_log

GENESIS = "0" * 64
_PG_LOCK = 0x1E1A_A0D1  # advisory lock id of the audit chain
FIELDS = ("seq", "at", "actor", "role", "action", "target", "request_hash", "request_size", "status", "prev_hash")


def canonical_request(method: str, path: str, query: str, body: bytes) -> bytes:
    """Method, path, query and the body (JSON re-serialized with sorted keys when it parses)."""
    try:
        canon = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (ValueError, UnicodeDecodeError, RecursionError):
        canon = body
    return f"{method} {path}?{query}\n".encode() + canon


def request_digest(payload: Any) -> tuple[str, int]:
    """Hash and size of a request given as JSON-able data (what the CLI commands audit)."""
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest(), len(raw)


def record_hash(row: dict[str, Any]) -> str:
    fields = [row[k] for k in FIELDS]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


# The statements of every append, built once: constructing them per batch was a fifth of the write
# queue's CPU per transaction (the values are bound parameters either way).
_PG_LOCK_CHAIN = select(func.pg_advisory_xact_lock(_PG_LOCK))
_READ_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
_MOVE_HEAD = audit_head.update().where(audit_head.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
_FIRST_HEAD = audit_head.insert().values(id=1, seq=bindparam("new_seq"), hash=bindparam("new_hash"))
_APPEND = audit_log.insert()


def lock_chain(conn: Connection) -> None:
    """Serialize appends across processes; must be the transaction's first statement (SQLite's write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_LOCK_CHAIN)
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite passes it through; COMMIT on conn.commit()
    else:
        raise ValueError(f"unsupported database {conn.dialect.name!r}: use SQLite or PostgreSQL")


def append(
    engine: Engine, *, actor: str, role: str | None, action: str, target: str | None,
    request_hash: str, request_size: int, status: int,
) -> dict[str, Any]:
    """Append one record at the end of the chain; returns it with its seq and hash."""
    return append_many(engine, [{"actor": actor, "role": role, "action": action, "target": target,
                                 "request_hash": request_hash, "request_size": request_size, "status": status}])[0]


def append_many(engine: Engine, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append records in order, in one transaction: all of them are in the chain, or none."""
    with engine.connect() as conn:
        try:
            lock_chain(conn)
            rows = append_locked(conn, entries)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return rows


def append_locked(conn: Connection, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append records inside the caller's transaction, which took :func:`lock_chain` first.

    The caller commits (service.write_queue commits them with the assessment rows of the same batch).
    """
    head = conn.execute(_READ_HEAD).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    rows = []
    for e in entries:
        seq += 1
        row = {
            "seq": seq, "at": datetime.now(UTC).isoformat(timespec="microseconds"), "actor": e["actor"][:64],
            "role": e["role"], "action": e["action"][:32], "target": (e["target"] or "")[:500] or None,
            "request_hash": e["request_hash"], "request_size": int(e["request_size"]), "status": int(e["status"]),
            "prev_hash": prev,
        }
        row["hash"] = prev = record_hash(row)
        rows.append(row)
    conn.execute(_APPEND, rows)
    conn.execute(_MOVE_HEAD if head else _FIRST_HEAD, {"new_seq": seq, "new_hash": prev})
    return rows


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    last_seq: int
    last_hash: str
    broken_seq: int | None = None
    reason: str | None = None


def _rows(engine: Engine, batch: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)).mappings().all()
        if not rows:
            return
        yield from (dict(r) for r in rows)
        last = rows[-1]["seq"]


def verify(engine: Engine, *, anchor: tuple[int, str] | None = None) -> Verdict:
    """Recompute the chain; the first seq where it breaks (edited, deleted or reordered), or ok."""
    expected_seq, prev, n = 1, GENESIS, 0
    anchor_seen = False

    def broken(seq: int, reason: str) -> Verdict:
        return Verdict(False, n, expected_seq - 1, prev, seq, reason)

    for row in _rows(engine):
        if row["seq"] != expected_seq:
            return broken(expected_seq, f"seq {expected_seq} is missing (deleted); the next record is seq {row['seq']}")
        if row["prev_hash"] != prev:
            return broken(row["seq"], f"seq {row['seq']} does not follow seq {row['seq'] - 1} (prev_hash differs: deleted, reordered or edited)")
        if record_hash(row) != row["hash"]:
            return broken(row["seq"], f"seq {row['seq']} was edited (its contents no longer match its hash)")
        if anchor and row["seq"] == anchor[0]:
            if row["hash"] != anchor[1]:
                return broken(row["seq"], f"seq {row['seq']} differs from the anchor (the chain was rewritten from here or before)")
            anchor_seen = True
        prev, n, expected_seq = row["hash"], n + 1, expected_seq + 1
    with engine.connect() as conn:
        head = conn.execute(_READ_HEAD).first()
    head_seq, head_hash = (head[0], head[1]) if head else (0, GENESIS)
    if (head_seq, head_hash) != (expected_seq - 1, prev):
        if head_seq > expected_seq - 1:
            return broken(expected_seq, f"records seq {expected_seq}..{head_seq} are missing (deleted from the end)")
        return broken(head_seq, f"the chain head (seq {head_seq}) does not match the last record (seq {expected_seq - 1})")
    if anchor and not anchor_seen:
        return broken(anchor[0], f"anchor seq {anchor[0]} is not in the log (deleted)")
    return Verdict(True, n, expected_seq - 1, prev)


def list_records(
    engine: Engine, *, actor: str | None = None, action: str | None = None, since: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest records first, filtered by actor, action and time (ISO date or datetime, UTC)."""
    query = select(audit_log)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    if since:
        query = query.where(audit_log.c.at >= since)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(audit_log.c.seq.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

"""API keys: roles, creation (the secret is shown once), lookup by hash, revocation.

Why a plain SHA-256 and not bcrypt/argon2: a key is 32 random bytes (256 bits), so nobody can
brute-force a stored hash, whatever its speed; slow salted hashes exist to protect low-entropy
passwords and would cost ~100 ms on every request. An unsalted hash also lets a request find its key
with one indexed lookup instead of trying every stored hash. The key itself is never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, and_, bindparam, select, update

from indexing.db import api_keys

KEY_PREFIX = "leian_"


class Role(StrEnum):
    judge = "judge"
    litigant = "litigant"
    manager = "manager"
    admin = "admin"
    clerk = "clerk"  # uploads cases (POST /v1/cases) and reads the exchange schema, nothing else


@dataclass(frozen=True)
class ApiKey:
    id: str
    role: Role
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row(r: dict) -> ApiKey:
    return ApiKey(id=r["id"], role=Role(r["role"]), name=r["name"], created_at=r["created_at"], revoked_at=r["revoked_at"])


def create_key(engine: Engine, *, role: Role, name: str | None = None) -> tuple[ApiKey, str]:
    """A new key for ``role``; returns the stored record and the secret (which is not kept anywhere)."""
    key_id = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    row = {"id": key_id, "key_hash": hash_key(secret), "role": role.value, "name": name,
           "created_at": datetime.now(UTC), "revoked_at": None}
    with engine.begin() as conn:
        conn.execute(api_keys.insert().values(**row))
    return _row(row), secret


def list_keys(engine: Engine) -> list[ApiKey]:
    with engine.connect() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)).mappings().all()
    return [_row(dict(r)) for r in rows]


def revoke_key(engine: Engine, *, key_id: str) -> ApiKey | None:
    """Revoke a key from now on; None when no such key exists (revoking twice keeps the first time)."""
    with engine.begin() as conn:
        conn.execute(update(api_keys).where(and_(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)))
                     .values(revoked_at=datetime.now(UTC)))
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
    return _row(dict(row)) if row else None


# Every request runs one of these two queries; built once, since constructing the expressions
# cost more CPU than running them against the small key table.
_ACTIVE_BY_HASH = select(api_keys).where(and_(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None)))
_ANY_ACTIVE = select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None)).limit(1)


def lookup_key(engine: Engine, *, key: str) -> ApiKey | None:
    """The active key with this secret, or None (unknown, malformed or revoked)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(_ACTIVE_BY_HASH, {"key_hash": hash_key(key)}).mappings().first()
    return _row(dict(row)) if row else None


def active_keys_exist(engine: Engine) -> bool:
    """Whether any key is active (local single-user mode ends with the first one)."""
    with engine.connect() as conn:
        return conn.execute(_ANY_ACTIVE).first() is not None

"""/v1/charges, /v1/me and /v1/schema/case: the served index's charge names and the caller's role, for the
web page, and the JSON Schema of the case exchange record (indexing.exchange)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel

from indexing.exchange import exchange_schema
from indexing.rows import IndexRow
from service.deps import ALL_ROLES, READERS, CurrentUser, IndexDep, require

router = APIRouter(tags=["meta"])

# Counting walks every row; an index version never changes once published, so count it once.
_counts: dict[Path, list[dict]] = {}


class ChargeCount(BaseModel):
    charge: str
    count: int


class ChargesOut(BaseModel):
    data: list[ChargeCount]
    count: int
    index_version: str


class MeOut(BaseModel):
    role: str
    local: bool  # keyless local single-user mode


def charge_counts(rows: Sequence[IndexRow]) -> list[dict]:
    """Canonical charge names with the number of cases carrying each, most frequent first."""
    counter = Counter(charge for row in rows for charge in row["charges"])
    return [{"charge": c, "count": n} for c, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


@router.get("/charges", response_model=ChargesOut, dependencies=[require(*READERS)])
def charges(index: IndexDep) -> dict:
    """Canonical charge names in the served index with their case counts, most frequent first."""
    if index.directory not in _counts:
        _counts[index.directory] = charge_counts(index.rows)
    data = _counts[index.directory]
    return {"data": data, "count": len(data), "index_version": index.version}


@router.get("/me", response_model=MeOut, dependencies=[require(*ALL_ROLES)])
def me(user: CurrentUser) -> dict:
    """The caller's role, so that the web page shows only the views that role may use."""
    return {"role": user.role.value, "local": user.actor == "local"}


@router.get("/schema/case", dependencies=[require(*ALL_ROLES)])
def case_schema() -> dict:
    """The JSON Schema of the case exchange record that leian export --format exchange writes and leian ingest reads."""
    return exchange_schema()

"""/v1/cases/{case_id}: one indexed case in full (anonymized), for the page's expandable facts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from service.deps import READERS, IndexDep, require

router = APIRouter(tags=["search"], dependencies=[require(*READERS)])  # as search: the store is anonymized

#: The display fields a search result shows, plus the full facts instead of an excerpt.
CASE_FIELDS = ("case_id", "charges", "articles", "outcome", "court", "date", "case_number", "circumstances",
               "quantities", "flags", "facts")


class CaseOut(BaseModel):
    case_id: str
    charges: list[str]
    articles: list[int]
    outcome: dict | None
    court: str | None
    date: str | None
    case_number: str | None
    circumstances: list[str]
    quantities: dict
    flags: dict
    facts: str
    index_version: str


@router.get("/cases/{case_id}", response_model=CaseOut)
def case(case_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")],
         index: IndexDep) -> dict:
    """One case of the served index with its whole anonymized facts (search results carry an excerpt)."""
    row = index.row_of.get(case_id)
    if row is None:
        raise HTTPException(404, f"no case {case_id!r} in index version {index.version}")
    return {**{k: index.rows[row][k] for k in CASE_FIELDS}, "facts": index.rows[row]["facts"] or "",
            "index_version": index.version}

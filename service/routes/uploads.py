"""/v1/cases (POST: clerks and admins upload cases), their provenance and the quarantine (managers, admins).

The batch's work (extraction, anonymization, one transaction with its audit records) runs in a
request thread: service/uploads.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from service.deps import CurrentUser, EngineDep, require
from service.keys import Role
from service.schemas import ProvenanceOut, QuarantineOut, UploadIn, UploadOut
from service.uploads import store_batch

router = APIRouter(tags=["uploads"])
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]


@router.post("/cases", response_model=UploadOut, dependencies=[require(Role.clerk, Role.admin)])
async def upload(body: UploadIn, engine: EngineDep, user: CurrentUser) -> dict:
    """Upload up to 500 case exchange records: each is anonymized and stored as a new version of its case
    (bound to your key in the audit log), or refused naming the field and kept in quarantine. Stored
    cases are served after the next build (POST /v1/admin/build)."""
    return await run_in_threadpool(store_batch, engine, body.cases, user)


@router.get(
    "/cases/quarantine", response_model=QuarantineOut, dependencies=[require(Role.manager, Role.admin)]
)
def quarantine(
    engine: EngineDep,
    batch_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    """Uploaded records that were refused, newest first: field, reason, uploader, time (the records
    themselves are kept as sent, not anonymized, in the store's upload_quarantine table)."""
    from indexing import uploads

    with engine.connect() as conn:
        rows = uploads.quarantined(conn, limit=limit, batch_id=batch_id)
    return {"data": rows, "count": len(rows)}


@router.get(
    "/cases/{case_id}/provenance",
    response_model=ProvenanceOut,
    dependencies=[require(Role.manager, Role.admin)],
)
def provenance(case_id: CaseId, engine: EngineDep) -> dict:
    """Who uploaded a case, when, with which content hash, and its corrections (every version is kept)."""
    from indexing import uploads

    with engine.connect() as conn:
        found = uploads.provenance(conn, case_id)
    if found is None:
        raise HTTPException(404, f"no case {case_id!r} in the store")
    return found

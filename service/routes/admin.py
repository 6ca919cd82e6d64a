"""/v1/admin/build (admins): an incremental build in the background, so uploaded cases are served
without a restart (service/builds.py); 409 while one runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.builds import BuildRunner, BuildRunning
from service.deps import CurrentUser, require
from service.errors import Problem
from service.keys import Role
from service.schemas import BuildOut

router = APIRouter(tags=["admin"], dependencies=[require(Role.admin)])
RUNNING = "a build is already running"


def _runner(request: Request) -> BuildRunner:
    return request.app.state.builds


@router.post(
    "/admin/build",
    response_model=BuildOut,
    status_code=202,
    responses={409: {"description": RUNNING + " (its state is in the detail; GET /v1/admin/build)"}},
)
def start_build(request: Request, user: CurrentUser) -> JSONResponse:
    """Start an incremental build of the index from the store (uploaded cases included); the server
    serves the new version once it is published, without a restart. Poll GET /v1/admin/build."""
    try:
        state = _runner(request).start(user.actor)
    except BuildRunning as exc:
        running = exc.args[0] if exc.args else {}
        raise Problem(
            409,
            f"{RUNNING} (started {running.get('started_at')} by {running.get('by')}, "
            f"step: {running.get('step')}): wait for it",
            title="Conflict",
        ) from exc
    return JSONResponse(BuildOut.model_validate(state).model_dump(), status_code=202)


@router.get("/admin/build", response_model=BuildOut)
def build_state(request: Request) -> dict:
    """The state of the last build started through the API or the schedule."""
    return _runner(request).state()

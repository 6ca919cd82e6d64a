"""create_app(): builds the FastAPI app; a server loads the index at start-up (lifespan), never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from indexing.db import make_engine
from indexing.errors import LeiAnError
from service import errors, web
from service.audit_middleware import AuditMiddleware
from service.auth import declare_key_auth
from service.body_limit import BodyLimit
from service.builds import BuildRunner
from service.config import Settings, get_settings
from service.deps import IndexDep, IndexHolder, get_index
from service.ratelimit import RateLimiter
from service.routes import admin, alerts, assess, cases, meta, reports, search, uploads
from service.write_queue import WriteQueue

logger = logging.getLogger(__name__)
DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's scripts and styles, for /docs and /redoc


@asynccontextmanager
async def _load_index_before_serving(app: FastAPI) -> AsyncIterator[None]:
    """A server (each worker of it) loads the current index before it accepts its first request.

    Loading takes seconds; done lazily, it fell on whichever requests came first, in every worker.
    With no index built yet the server still starts (and answers 503 until one is). Here, too, the
    worker's request threads are set (``request_threads``): anyio's limiter belongs to the event loop.
    """
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.settings.request_threads
    try:
        app.state.index_holder.get()
    except LeiAnError as exc:
        logger.warning("serving without an index for now: %s", exc)
    yield


def create_app(settings: Settings | None = None, *, local_actor: str | None = None) -> FastAPI:
    """The API app. ``local_actor`` (the CLI's in-process app only) makes keyless requests the admin."""
    settings = settings or get_settings()
    # /docs and /redoc as FastAPI's own, with their assets served from the fastapi-offline wheel under
    # DOCS_ASSETS: FastAPI's pages load them from cdn.jsdelivr.net, so without internet (a court's
    # network) /docs was a blank page. No key is needed for them, as for /openapi.json. No validator
    # badge either: Swagger UI would have validator.swagger.io fetch the schema (off a loopback host).
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},
        title="LeiAn (类案)",
        version="0.1.0",
        description="Similar-case retrieval and sentencing-deviation warnings for Chinese court judgments.",
        lifespan=_load_index_before_serving,
    )
    app.state.settings = settings
    app.state.index_holder = IndexHolder(settings.data_dir, background=True)
    app.state.engine = make_engine(settings.resolved_database_url())  # migrates the store to this release
    app.state.local_actor = local_actor
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst, workers=settings.workers)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       larger={("POST", "/v1/cases"): max(settings.upload_max_bytes, settings.max_body_bytes)})
    app.state.builds = BuildRunner(settings.data_dir, app.state.engine, embedder=settings.embedder)
    app.state.writes = WriteQueue(app.state.engine)  # group commit of assessment rows and audit records
    app.add_middleware(AuditMiddleware, writes=app.state.writes)  # outermost: refusals are recorded too
    errors.install(app)
    v1 = APIRouter(prefix="/v1")
    # uploads before cases: its /cases/quarantine must not be read as /cases/{case_id}
    for router in (search.router, assess.router, reports.router, alerts.router, meta.router, uploads.router,
                   cases.router, admin.router):
        errors.declare_unavailable(router, get_index)  # before it is included: older FastAPI copies its routes then
        v1.include_router(router)
    app.include_router(v1)

    @app.get("/healthz", tags=["meta"])
    def healthz(index: IndexDep) -> dict:
        """Liveness plus the served index version and size."""
        return {"status": "ok", "index_version": index.version, "cases": len(index)}

    errors.declare_unavailable(app.router, get_index)
    web.install(app)
    declare_key_auth(app)
    return app

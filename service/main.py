"""create_app(): builds the FastAPI app; the index is loaded on first use, never at import."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from indexing.db import make_engine
from service import errors, web
from service.config import Settings, get_settings
from service.deps import IndexDep, IndexHolder
from service.routes import alerts, assess, meta, search
from service.store import ensure_tables


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="LeiAn (类案)",
        version="0.1.0",
        description="Similar-case retrieval and sentencing-deviation warnings for Chinese court judgments.",
    )
    app.state.settings = settings
    app.state.index_holder = IndexHolder(settings.data_dir)
    app.state.engine = make_engine(settings.resolved_database_url())
    ensure_tables(app.state.engine)
    errors.install(app)
    v1 = APIRouter(prefix="/v1")
    v1.include_router(search.router)
    v1.include_router(assess.router)
    v1.include_router(alerts.router)
    v1.include_router(meta.router)
    app.include_router(v1)

    @app.get("/healthz", tags=["meta"])
    def healthz(index: IndexDep) -> dict:
        """Liveness plus the served index version and size."""
        return {"status": "ok", "index_version": index.version, "cases": len(index)}

    web.install(app)
    return app

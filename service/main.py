"""create_app(): builds the FastAPI app; the index is loaded on first use, never at import."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from service import errors
from service.config import Settings, get_settings
from service.deps import IndexDep, IndexHolder
from service.routes import search


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="LeiAn (类案)",
        version="0.1.0",
        description="Similar-case retrieval and sentencing-deviation warnings for Chinese court judgments.",
    )
    app.state.settings = settings
    app.state.index_holder = IndexHolder(settings.data_dir)
    errors.install(app)
    v1 = APIRouter(prefix="/v1")
    v1.include_router(search.router)
    app.include_router(v1)

    @app.get("/healthz", tags=["meta"])
    def healthz(index: IndexDep) -> dict:
        """Liveness plus the served index version and size."""
        return {"status": "ok", "index_version": index.version, "cases": len(index)}

    return app

"""The web page for judges, litigants and trial managers: static files served by the API itself.

Why no separate front end: courts install one service (`leian serve`). The page is plain HTML, CSS
and ES modules under ``static/`` with no build step, calling the same /v1 API as any other client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the page at /ui/ and send / there."""
    app.mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

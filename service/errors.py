"""Map LeiAn errors and validation failures to RFC 9457 problem details; the only code with HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexing.errors import ArtifactError, RecordError

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, field: str | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class Problem(StarletteHTTPException):
    """An HTTP error that names the offending field (or header) in its problem-details body."""

    def __init__(self, status: int, detail: str, *, field: str | None = None, title: str = "Request failed",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.field = field
        self.title = title


def install(app: FastAPI) -> None:
    @app.exception_handler(RecordError)
    async def _record(_request: Request, exc: RecordError) -> JSONResponse:
        return problem(422, "Unusable input", exc.reason, exc.field)

    @app.exception_handler(ArtifactError)
    async def _artifact(_request: Request, exc: ArtifactError) -> JSONResponse:
        return problem(503, "Index not available", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own 400 means the body could not be parsed (e.g. not UTF-8): it is the body's fault
        field = getattr(exc, "field", None) or ("body" if exc.status_code == 400 else None)
        response = problem(exc.status_code, getattr(exc, "title", "Request failed"), str(exc.detail), field)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", [])]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]  # where it came from is clear from the request; the field is the name
        # a JSON syntax error's location is a character offset, not a field
        field = "body" if first.get("type") == "json_invalid" else (".".join(loc) or "body")
        return problem(422, "Invalid request", f"{field}: {first.get('msg', 'invalid value')}", field)

"""Map LeiAn errors and validation failures to RFC 9457 problem details, and declare them so in the OpenAPI
schema; the only code with HTTP statuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexing.errors import ArtifactError, RecordError
from service.schemas import Problem as ProblemBody

PROBLEM = "application/problem+json"
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_REF = "#/components/schemas/{model}"
CLIENT_ERRORS = ("Client error: 400 unreadable body, 401 missing or unknown API key, 403 role not allowed, "
                 "404 not found, 413 body too large, 429 rate limit exceeded (see Retry-After)")
INVALID = "Invalid request: a parameter or body field that does not validate, or unusable input (named in field)"
UNAVAILABLE = "Index not available: none built yet, or it cannot be loaded"


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


def declare_problems(schema: dict[str, Any]) -> None:
    """Make the OpenAPI schema declare the errors as they are sent: problem details (the Problem schema).

    FastAPI declares a 422 with its own ``HTTPValidationError`` body, which this API never sends
    (the handlers above answer every error with :func:`problem`). Every error response an operation
    declares (FastAPI's 422, a route's ``responses``) gets the Problem schema under
    application/problem+json instead, and every operation declares ``4XX``: the client errors that
    any of them may answer (a key that is refused, a rate limit, a body too large, ...). FastAPI's
    validation-error components go once nothing refers to them.
    """
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = ProblemBody.model_json_schema(ref_template=_REF)
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("4XX", {"description": CLIENT_ERRORS})
            if "422" in responses:
                responses["422"]["description"] = INVALID
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM: {"schema": {"$ref": _REF.format(model="Problem")}}}
    for name in ("HTTPValidationError", "ValidationError"):  # the first refers to the second
        if name in schemas and f'"{_REF.format(model=name)}"' not in json.dumps(schema):
            del schemas[name]


def declare_unavailable(router: APIRouter, index: Callable[..., Any]) -> None:
    """Declare a 503 (:func:`_artifact`'s) on the router's operations that depend on ``index``.

    Its body is declared by :func:`declare_problems`. Idempotent: the routers are module-level, and
    every app marks them.
    """

    def uses_index(dependant: Dependant) -> bool:
        return dependant.call is index or any(uses_index(d) for d in dependant.dependencies)

    for route in router.routes:
        if isinstance(route, APIRoute) and uses_index(route.dependant):
            route.responses.setdefault(503, {"description": UNAVAILABLE})

"""Who is calling: an API key's role, or the local single user; 401, 403 and 429 as problem details.

Local single-user mode exists so that `leian serve` on 127.0.0.1 works out of the box for one
person at their own machine: while no active key exists, the server was told it binds a loopback
address, and the request really comes from a loopback address, a request without a key acts as the
local admin. Creating the first key ends local mode at the next request. The in-process app that the
CLI builds (``create_app(local_actor=...)``) is the admin's own tool and always acts as admin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from service.errors import Problem, declare_problems
from service.keys import Role, active_keys_exist, lookup_key
from service.ratelimit import retry_after

STATE_KEY = "leian_user"  # request.state attribute the audit middleware reads
# declared in the OpenAPI schema (declare_key_auth) so that /docs offers "Authorize" and names both
# ways of sending a key; the header itself is parsed by presented_key, which also sees malformed values
_BEARER = HTTPBearer(auto_error=False, description="an API key from `leian keys create`")
_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key, in a header of its own")


@dataclass(frozen=True)
class User:
    actor: str  # key id, "local", or "cli:<os user>"
    role: Role
    name: str | None = None
    limited: bool = True  # subject to the per-key rate limit


def is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; '' when the header is malformed."""
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    return request.headers.get("x-api-key")


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, field="Authorization", title="Unauthorized", headers={"WWW-Authenticate": "Bearer"})


async def current_user(request: Request) -> User:
    """Resolve the caller, or raise 401; the result is kept on ``request.state`` for the audit log.

    Why ``async``, with its one key query on the event loop: a sync dependency is run in the
    worker's request thread, so every request went there and back once more, and waited there behind
    other requests' retrieval work, for an indexed single-row query that takes a tenth of a millisecond
    in SQLite (measured with evaluation/cpu_ab.py: 2-4 % less server CPU per request, and a lower p99).
    With PostgreSQL on another machine the loop waits one network round trip for it instead.
    """
    state = request.app.state
    key = presented_key(request)
    if state.local_actor is not None and key is None:
        user = User(actor=state.local_actor, role=Role.admin, limited=False)
    elif key is not None:
        found = lookup_key(state.engine, key=key)
        if found is None:
            raise _unauthorized("invalid or revoked API key")
        user = User(actor=found.id, role=found.role, name=found.name)
    else:
        client = request.client.host if request.client else None
        if not (is_loopback(state.settings.host) and is_loopback(client)) or active_keys_exist(state.engine):
            raise _unauthorized("an API key is required: send Authorization: Bearer <key> (leian keys create)")
        user = User(actor="local", role=Role.admin, limited=False)
    setattr(request.state, STATE_KEY, user)
    return user


def authorize(request: Request, user: User, roles: frozenset[Role]) -> None:
    """403 for a role the endpoint is not for; 429 with Retry-After when the key's bucket is empty."""
    if user.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Problem(403, f"role {user.role.value!r} may not use {request.url.path} (allowed: {allowed})",
                      field="Authorization", title="Forbidden")
    if user.limited:
        wait = request.app.state.rate_limiter.acquire(user.actor)
        if wait > 0:
            raise Problem(429, f"rate limit of key {user.actor!r} exceeded; retry in {wait:.1f} s",
                          field="Authorization", title="Too many requests", headers={"Retry-After": retry_after(wait)})


def declare_key_auth(app: FastAPI, prefix: str = "/v1/") -> None:
    """Name the two ways of sending a key in the OpenAPI schema, on every operation under ``prefix``;
    declare the errors as the problem details they are (:func:`service.errors.declare_problems`).

    Why not FastAPI's ``Security(HTTPBearer())`` dependencies, which would declare them by
    themselves: they would be two more dependencies solved and called on every request, only to
    tell the documentation what :func:`presented_key` reads anyway. Every ``/v1/`` route resolves
    its caller (tests/service/test_auth.py calls each one without a key and gets 401), so the
    operations are those of the prefix.
    """
    schemes = {s.scheme_name: s.model.model_dump(mode="json", by_alias=True, exclude_none=True) for s in (_BEARER, _HEADER)}
    requirement = [{name: []} for name in schemes]
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            declare_problems(schema)
            schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)
            for path, operations in schema["paths"].items():
                if path.startswith(prefix):
                    for operation in operations.values():
                        operation["security"] = requirement
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

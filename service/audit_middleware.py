"""Records every audited HTTP request (searches, assessments, alert changes, any other write) in the audit log.

Why a middleware: the record needs the outcome status, which only exists once the route (or the
error handler) has answered; the caller comes from ``request.state`` where ``service.auth`` left it.
The record is written before the response starts, so a request whose audit record cannot be written
fails (500) rather than going unrecorded. Attempts that were refused (401, 403, 413, 422, 429) are
recorded too: they are what a security review looks for. The record is committed by the app's
write queue (service.write_queue), awaited here without holding a request thread.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import audit
from service.auth import STATE_KEY
from service.errors import problem
from service.write_queue import Kind, WriteQueue

logger = logging.getLogger(__name__)
DEFERRED = "leian_deferred_writes"  # scope["state"] key: the writes a route left to this request's audit record

ACTIONS = {
    ("POST", "/v1/search"): "search",
    ("POST", "/v1/compare"): "compare",
    ("POST", "/v1/assess"): "assess",
    ("POST", "/v1/expectations"): "expectations",
    ("POST", "/v1/reports"): "report",
    ("POST", "/v1/cases"): "upload",  # and one record per stored or refused case (service/uploads.py)
    ("POST", "/v1/admin/build"): "build",
}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def action_for(method: str, path: str) -> str | None:
    """The audit action of a request, or None for reads that are not audited."""
    if (method, path) in ACTIONS:
        return ACTIONS[(method, path)]
    if method == "PATCH" and path.startswith("/v1/alerts/"):
        return "alert.update"
    if method not in READ_METHODS and path.startswith("/v1/"):
        return f"{method.lower()} {path}"[:32]
    return None


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, writes: WriteQueue) -> None:
        self.app = app
        self.writes = writes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        action = action_for(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if action is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        started = refused = False
        scope.setdefault("state", {})[DEFERRED] = []  # see write_with_audit

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def record_then_send(message: Message) -> None:
            nonlocal started, refused
            if refused:  # the rest of a response that was replaced by the 500 below
                return
            if message["type"] == "http.response.start":
                started = True
                try:
                    await self._record(scope, action, b"".join(chunks), message["status"])
                except Exception:
                    # answered here rather than raised: an exception past the response's start makes
                    # the server drop the connection, and the client would see a reset, not a 500
                    logger.exception("%s %s: its audit record could not be written; answering 500", scope["method"], scope["path"])
                    refused = True
                    await problem(500, "Internal Server Error", "the request could not be recorded in the audit log")(
                        scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive_and_keep, record_then_send)
        except Exception:
            if not started:
                scope["state"][DEFERRED].clear()  # the caller was answered with nothing it could refer to
                await self._record(scope, action, b"".join(chunks), 500)
            raise

    async def _record(self, scope: Scope, action: str, body: bytes, status: int) -> None:
        """Commit the request's audit record, with the writes the route deferred to it, in one transaction.

        If that transaction fails, the request fails: its audit record is written alone with status
        500 and the error is raised, so that the route's response (which may name the row) is replaced
        by a 500.
        """
        user = scope["state"].get(STATE_KEY)
        canon = audit.canonical_request(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), body)
        entry = {
            "actor": user.actor if user else "unauthenticated",
            "role": user.role.value if user else None,
            "action": action,
            "target": scope["path"],
            "request_hash": hashlib.sha256(canon).hexdigest(),
            "request_size": len(body),
            "status": status,
        }
        deferred = scope["state"][DEFERRED]
        if not deferred:
            await self.writes.write_async("audit", entry)
            return
        try:
            await self.writes.write_together_async([*deferred, ("audit", entry)])
        except Exception:
            deferred.clear()
            await self.writes.write_async("audit", {**entry, "status": 500})
            raise
        deferred.clear()


async def write_with_audit(request: Request, kind: Kind, payload: dict[str, Any]) -> None:
    """Have ``payload`` committed in the same transaction as the request's audit record, before the
    response starts (so what the API answers with is stored, as with an awaited write).

    Why: an assessment with a proposal committed its row and then, in a second transaction, its
    audit record; one transaction does both for less (one commit and one hand-over to the writer
    thread fewer). An app without :class:`AuditMiddleware` in front of the route commits it here.
    """
    deferred = request.scope.get("state", {}).get(DEFERRED)
    if deferred is None:
        await request.app.state.writes.write_async(kind, payload)
    else:
        deferred.append((kind, payload))

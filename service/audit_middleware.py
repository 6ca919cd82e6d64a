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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import audit
from service.auth import STATE_KEY
from service.write_queue import WriteQueue

ACTIONS = {
    ("POST", "/v1/search"): "search",
    ("POST", "/v1/compare"): "compare",
    ("POST", "/v1/assess"): "assess",
    ("POST", "/v1/expectations"): "expectations",
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
        started = False

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def record_then_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                await self._record(scope, action, b"".join(chunks), message["status"])
            await send(message)

        try:
            await self.app(scope, receive_and_keep, record_then_send)
        except Exception:
            if not started:
                await self._record(scope, action, b"".join(chunks), 500)
            raise

    async def _record(self, scope: Scope, action: str, body: bytes, status: int) -> None:
        user = scope.get("state", {}).get(STATE_KEY)
        canon = audit.canonical_request(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), body)
        await self.writes.write_async("audit", {
            "actor": user.actor if user else "unauthenticated",
            "role": user.role.value if user else None,
            "action": action,
            "target": scope["path"],
            "request_hash": hashlib.sha256(canon).hexdigest(),
            "request_size": len(body),
            "status": status,
        })

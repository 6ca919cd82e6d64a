"""Request bodies: at most ``max_body_bytes`` (413), and JSON bodies must be UTF-8 (400), as problem details.

Why an ASGI middleware and not a route check: the limit has to hold before anything parses the
body, and a body sent without a Content-Length (chunked) is counted as it arrives.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import problem


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: dict[tuple[str, str], int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # (method, path) -> its own limit (an upload batch)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get((scope.get("method", ""), scope.get("path", "")), self.max_bytes)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, declared, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, str(size) + "+", limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if body and "json" in content_type:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                await problem(400, "Invalid request", f"body: not valid UTF-8 at byte {exc.start}", "body")(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str, limit: int) -> None:
        detail = f"body: request body of {size} bytes is over the limit of {limit} bytes"
        if not size.rstrip("+").isdigit():
            detail = f"body: Content-Length {size!r} is not a number"
            await problem(400, "Invalid request", detail, "body")(scope, receive, send)
            return
        await problem(413, "Request body too large", detail, "body")(scope, receive, send)

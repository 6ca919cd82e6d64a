"""A real server on loopback for benchmarks, screenshots and tests: a free port, a readiness wait, a thread.

One home for what the load test, the screenshot script and the test fixtures each need; the server is
always a real uvicorn serving the real app (no test client).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(base: str, *, within_s: float, request_timeout_s: float = 30.0) -> bool:
    """Poll ``base``/healthz until it answers 200; False when it has not within ``within_s`` seconds.

    A slow first answer is normal (the index loads on start-up), hence the long per-request timeout.
    """
    deadline = time.time() + within_s
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=request_timeout_s).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False


@contextmanager
def serve_in_thread(app: object, *, within_s: float = 60.0, request_timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread on a free loopback port; yields its base URL once it answers.

    Raises:
        RuntimeError: When the server does not answer /healthz within ``within_s`` seconds.
    """
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.config.port}"
    try:
        if not wait_until_serving(base, within_s=within_s, request_timeout_s=request_timeout_s):
            raise RuntimeError(f"server on {base} did not come up within {within_s:g} s")
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=10)

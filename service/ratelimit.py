"""Per-key token buckets: a sustained rate with a burst, answered with 429 and Retry-After.

Why per process and divided by the worker count: a shared bucket in the database would cost a
write per request; with ``--workers N`` each process gets ``rate / N`` and ``burst / N`` (at least
1), so a client spread over the workers gets about the configured total. A client whose keep-alive
connection sticks to one worker gets 1/N of it: the limit errs on the strict side, never the loose.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by identity (a key id); the least recently used are forgotten beyond ``max_keys``."""

    def __init__(self, per_second: float, burst: int, *, workers: int = 1, max_keys: int = 10_000) -> None:
        self.rate = per_second / workers
        self.capacity = max(1.0, burst / workers)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, identity: str, *, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else the seconds until a token is available."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.pop(identity, None) or _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets[identity] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


def retry_after(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is served."""
    return str(max(1, math.ceil(seconds)))

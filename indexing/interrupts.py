"""Hold Ctrl-C / SIGTERM until a database write has finished, then stop.

Why: ``leian ingest`` stops cleanly on an interrupt (what was read is committed, the run finished),
but an interrupt raised *inside* the database driver, between the rows of an ``executemany``, left
SQLite's write lock with the interrupted connection, and the clean-up's own commit then failed with
"database is locked" instead of exiting 130 (seen once in CI, when SIGTERM landed in a batch write).
Inside :func:`interrupts_deferred` the signal is only noted; the write completes (or fails on its
own), and the interrupt is raised as ``KeyboardInterrupt`` right after, at a point where no
transaction is open.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block with SIGINT/SIGTERM held; raise ``KeyboardInterrupt`` after it if one came.

    Signal handlers can only be set from the main thread; elsewhere (a library caller's worker
    thread, which receives no signals anyway) the block just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.getsignal(sig) for sig in HELD}
    for sig in HELD:
        signal.signal(sig, note)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:  # the block completed: now stop, as the signal asked
        raise KeyboardInterrupt

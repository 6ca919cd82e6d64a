"""Index builds started through the API (POST /v1/admin/build): one at a time, in the background.

A build here is what ``leian build --incremental`` does after the corpus flags are recomputed (uploads
do not recompute them per batch: indexing/uploads.py). A server notices the published version by
itself (service/deps.py ``IndexHolder``), so uploaded cases are served without a restart.

One at a time across processes (several workers, the CLI's scheduled builds): an exclusive ``flock``
on ``indexes/.build.lock`` held for the build's whole run; a second start gets :class:`BuildRunning`
(the API answers 409). The state is a JSON file beside it, written atomically, so that every worker
answers GET /v1/admin/build alike; a state that says "running" while nobody holds the lock belongs
to a process that died mid-build, and is shown as "interrupted".
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, func, select

from indexing.artifacts import indexes_dir
from indexing.db import cases
from indexing.errors import LeiAnError

logger = logging.getLogger(__name__)


class BuildRunning(Exception):
    """Another build holds the lock."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class BuildRunner:
    """Starts incremental builds of ``data_dir``'s index from ``engine``'s store, one at a time."""

    def __init__(self, data_dir: Path, engine: Engine, *, embedder: str | None = None) -> None:
        self.data_dir = data_dir
        self.engine = engine
        self.embedder = embedder  # None: the build's default (an embedder trained on the corpus)
        self._dir = indexes_dir(data_dir)
        self._lock_path = self._dir / ".build.lock"
        self._state_path = self._dir / "build-state.json"

    def _try_lock(self) -> TextIO | None:
        self._dir.mkdir(parents=True, exist_ok=True)
        handle = self._lock_path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def _write(self, state: dict[str, Any]) -> None:
        partial = self._state_path.with_suffix(".tmp")
        partial.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self._state_path)

    def state(self) -> dict[str, Any]:
        """The last build's state: idle (none yet), running, succeeded, failed or interrupted."""
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"state": "idle"}
        if state.get("state") == "running":
            probe = self._try_lock()
            if probe is not None:  # nobody builds: the process that did died before it could say so
                probe.close()
                state = {
                    **state,
                    "state": "interrupted",
                    "error": "the process running this build ended before it finished",
                }
        return state

    def start(self, by: str, *, wait: bool = False) -> dict[str, Any]:
        """Start a build (in a thread, or here with ``wait``); :class:`BuildRunning` while one runs."""
        handle = self._try_lock()
        if handle is None:
            raise BuildRunning(self.state())
        state = {
            "state": "running",
            "by": by,
            "started_at": _now(),
            "step": "starting",
            "store_mark": store_mark(self.engine),
        }
        try:
            self._write(state)
        except BaseException:
            handle.close()
            raise
        if wait:
            return self._run(handle, state)
        threading.Thread(target=self._run, args=(handle, state), name="leian-build", daemon=True).start()
        return state

    def _run(self, handle: TextIO, state: dict[str, Any]) -> dict[str, Any]:
        # imported here: the app is built by every one-shot CLI command, which never builds
        from indexing.build import TRAINED, BuildConfig, build_index
        from indexing.pipeline import refresh_corpus_flags

        started = time.perf_counter()

        def step(message: str) -> None:
            state["step"] = message
            self._write(state)

        try:
            step("recomputing the corpus flags (duplicates, overturned)")
            refresh_corpus_flags(self.engine)
            config = BuildConfig(data_dir=self.data_dir, embedder=self.embedder or TRAINED, incremental=True)
            path = build_index(self.engine, config, progress=step)
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            state.update(
                state="succeeded",
                version=path.name,
                cases=manifest.get("cases"),
                added=manifest.get("added_incrementally"),
            )
        except LeiAnError as exc:
            state.update(state="failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the state, and logged with its trace
            logger.exception("build started by %s failed", state.get("by"))
            state.update(state="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            state.update(finished_at=_now(), seconds=round(time.perf_counter() - started, 1))
            state.pop("step", None)
            self._write(state)
            handle.close()
        return state


def store_mark(engine: Engine) -> str:
    """What changes whenever a case is stored or corrected: the number of cases and the newest store time."""
    with engine.connect() as conn:
        n, newest = conn.execute(select(func.count(), func.max(cases.c.ingested_at))).one()
    return f"{n}:{newest}"


def every(
    minutes: float, runner: BuildRunner, *, stop: threading.Event, log: Callable[[str], None] = logger.info
) -> None:
    """Build every ``minutes`` until ``stop`` is set (``leian serve --build-every``), when the store changed
    since the last build that succeeded; a start that finds one running is skipped."""
    while not stop.wait(minutes * 60):
        last = runner.state()
        if last.get("state") == "succeeded" and last.get("store_mark") == store_mark(runner.engine):
            continue
        try:
            runner.start("schedule", wait=True)
        except BuildRunning:
            log("scheduled build skipped: one is running")

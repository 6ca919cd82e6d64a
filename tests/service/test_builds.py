"""service.builds without building: one build at a time across processes (a real flock), a build whose
process died shown as interrupted, and the schedule that skips a store nobody changed. The builds
themselves run in tests/service/test_uploads.py."""

from __future__ import annotations

import fcntl
import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from indexing.artifacts import indexes_dir
from service.builds import BuildRunner, BuildRunning, every, store_mark


def test_a_second_build_is_refused_while_another_process_holds_the_lock(
    engine: Engine, tmp_path: Path
) -> None:
    runner = BuildRunner(tmp_path, engine)
    assert runner.state() == {"state": "idle"}
    indexes_dir(tmp_path).mkdir(parents=True)
    (indexes_dir(tmp_path) / "build-state.json").write_text(
        json.dumps({"state": "running", "by": "another worker", "started_at": "2026-12-04T10:00:00+00:00"}),
        encoding="utf-8",
    )
    with (indexes_dir(tmp_path) / ".build.lock").open(
        "a"
    ) as held:  # another process's open file: its own lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BuildRunning) as refused:
            runner.start("admin")
        assert refused.value.args[0]["by"] == "another worker"
        assert runner.state()["state"] == "running"
    # the lock is free and the state still says running: that process died mid-build
    state = runner.state()
    assert state["state"] == "interrupted" and "ended before it finished" in state["error"]


def test_the_schedule_skips_a_store_that_did_not_change(engine: Engine, tmp_path: Path) -> None:
    runner = BuildRunner(tmp_path, engine)
    indexes_dir(tmp_path).mkdir(parents=True)
    last = {"state": "succeeded", "by": "schedule", "version": "v1", "store_mark": store_mark(engine)}
    path = indexes_dir(tmp_path) / "build-state.json"
    path.write_text(json.dumps(last), encoding="utf-8")
    stop = threading.Event()
    thread = threading.Thread(target=every, args=(0.001, runner), kwargs={"stop": stop})
    thread.start()
    time.sleep(0.5)  # some 8 rounds of the schedule
    stop.set()
    thread.join(timeout=10)
    assert json.loads(path.read_text(encoding="utf-8")) == last  # no build was started

"""The served index follows builds: versioned, atomic, incremental; a killed build leaves the served version intact.

These test the service's holder (service.deps.IndexHolder) over real builds, so they sit with the service tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexing import anonymize
from indexing.artifacts import current_dir, indexes_dir
from indexing.build import BuildConfig, build_index
from indexing.db import make_engine
from indexing.errors import ArtifactError
from indexing.pipeline import ingest
from service.deps import IndexHolder
from service.retrieve import prepare_draft, retrieve
from tests.conftest import SAMPLES

SMALL = [SAMPLES / "lecard_v1_sample.jsonl", SAMPLES / "judge_sample.jsonl", SAMPLES / "cjrc_sample.json"]


@pytest.fixture()
def small_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'leian.db'}")
    ingest(SMALL, engine, tmp_path / "quarantine", progress=False)
    yield tmp_path, engine
    engine.dispose()


def test_incremental_build_adds_new_cases_and_the_service_switches(small_store) -> None:  # type: ignore[no-untyped-def]
    data_dir, engine = small_store
    first = build_index(engine, BuildConfig(data_dir=data_dir, epochs=1))
    holder = IndexHolder(data_dir)
    anonymize._lexicon.cache_clear()  # the ingest above built it; a fresh worker has not
    served = holder.get()
    assert served.directory == first
    assert anonymize._lexicon.cache_info().currsize == 1, "loading a version warms the name lexicon too"

    ingest([SAMPLES / "judge_second_instance.jsonl"], engine, data_dir / "quarantine", progress=False)
    second = build_index(engine, BuildConfig(data_dir=data_dir, incremental=True))
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    new_ids = {json.loads(x)["text_id"] for x in (SAMPLES / "judge_second_instance.jsonl").read_text(encoding="utf-8").splitlines()}
    already = {r["case_id"] for r in served.rows}
    assert manifest["cases"] == len(served) + manifest["added_incrementally"]
    assert 0 < manifest["added_incrementally"] <= len(new_ids)
    assert first.is_dir(), "the previous version stays on disk for requests in flight"

    newer = holder.get()
    assert newer.directory == second and newer is not served
    added = next(r for r in newer.rows if r["case_id"] not in already)
    hits = retrieve(prepare_draft(added["facts"], newer), newer, k=3)
    assert newer.rows[hits[0].row]["case_id"] == added["case_id"]


def test_killed_build_leaves_current_version_serving(small_store) -> None:  # type: ignore[no-untyped-def]
    data_dir, engine = small_store
    first = build_index(engine, BuildConfig(data_dir=data_dir, epochs=1))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "build", "--data-dir", str(data_dir), "--epochs", "3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
    )
    # wait until the build has started writing its temporary folder, then kill it hard
    deadline = time.time() + 120
    while time.time() < deadline and not list(indexes_dir(data_dir).glob(".tmp-*")):
        time.sleep(0.1)
    assert list(indexes_dir(data_dir).glob(".tmp-*")), "build never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert current_dir(data_dir) == first
    assert IndexHolder(data_dir).get().directory == first

    third = build_index(engine, BuildConfig(data_dir=data_dir, epochs=1))
    assert current_dir(data_dir) == third
    assert not list(indexes_dir(data_dir).glob(".tmp-*")), "leftovers of the killed build are cleaned up"


def test_served_pointer_is_reread_only_when_current_changes(tmp_path: Path) -> None:
    """IndexHolder.current() follows every publication (an atomic replace of CURRENT), from a stat."""
    root = indexes_dir(tmp_path)
    for version in ("v1", "v2"):
        (root / version).mkdir(parents=True)
        (root / version / "manifest.json").write_text("{}", encoding="utf-8")
    holder = IndexHolder(tmp_path)
    with pytest.raises(ArtifactError, match="no index built"):
        holder.current()

    def publish(name: str) -> None:
        (root / "CURRENT.tmp").write_text(name, encoding="utf-8")
        os.replace(root / "CURRENT.tmp", root / "CURRENT")

    publish("v1")
    assert holder.current() == root / "v1" == holder.current()
    publish("v2")
    assert holder.current() == root / "v2"
    publish("v3")  # names a folder that is not there
    with pytest.raises(ArtifactError, match="missing or incomplete"):
        holder.current()
    (root / "CURRENT").unlink()
    with pytest.raises(ArtifactError, match="no index built"):
        holder.current()

"""Shared fixtures: real databases (SQLite file and PostgreSQL) and the real sample judgments.

PostgreSQL is reached at LEIAN_TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432).
Each test session creates its own database there and drops it afterwards. If the server cannot be
reached the PostgreSQL tests fail with the reason; set LEIAN_TEST_POSTGRES=off to deselect them
explicitly (never silently).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import Engine, create_engine, text

from indexing.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get("LEIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_KINDS = ["sqlite"] + ([] if os.environ.get("LEIAN_TEST_POSTGRES") == "off" else ["postgresql"])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"leian_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - the message is the point
        pytest.fail(
            f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}. Start it (see README) or set LEIAN_TEST_POSTGRES=off"
        )
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=DB_KINDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty store on each kind of database."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'leian.db'}")
        yield eng
        eng.dispose()
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:8]}"
    setup = create_engine(base, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(f"{base}?options=-csearch_path%3D{schema}")
    yield eng
    eng.dispose()
    with setup.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    setup.dispose()


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A private copy of a data dir that ``build(directory)`` fills, built once per test run.

    Under pytest-xdist (scripts/test runs two workers) every worker has its own session fixtures, so the
    sample build would be made once per worker: the first worker to ask builds it under a file lock in
    the run's shared temporary folder, the others wait and copy it. Each caller gets its own copy
    (servers write alerts and audit rows into the store), the SQLite files through SQLite's backup API.
    """
    private = tmp_path_factory.mktemp(name)
    if os.environ.get("PYTEST_XDIST_WORKER") is None:  # one process: nothing to share
        build(private)
        return private
    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    with FileLock(f"{shared}.lock"):
        if not (shared / ".complete").exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            build(shared)
            (shared / ".complete").touch()
    return copy_data_dir(shared, private)


def copy_data_dir(source: Path, dest: Path) -> Path:
    """A private copy of a data dir that a test may change (uploads, builds, alerts, keys go to the copy).

    The index versions are hard links (a version is never changed once published, and CURRENT is
    replaced, not written in place), so the copy costs no disk; a build's lock and state stay behind;
    the SQLite stores are copied through SQLite's backup API; anything else is copied.
    """
    dest.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns("*.db", "*.db-wal", "*.db-shm", ".complete", ".build.lock", "build-state.json")
    for part in source.iterdir():
        if part.is_dir():
            shutil.copytree(part, dest / part.name, ignore=skip, dirs_exist_ok=True,
                            copy_function=os.link if part.name == "indexes" else shutil.copy2)
        elif not skip(str(source), [part.name]):
            shutil.copy2(part, dest / part.name)
    for db in source.glob("*.db"):
        with sqlite3.connect(db) as src, sqlite3.connect(dest / db.name) as dst:
            src.backup(dst)
    return dest

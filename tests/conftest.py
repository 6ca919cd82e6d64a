"""Shared fixtures: real databases (SQLite file and PostgreSQL) and the real sample judgments.

PostgreSQL is reached at LEIAN_TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432).
Each test session creates its own database there and drops it afterwards. If the server cannot be
reached the PostgreSQL tests fail with the reason; set LEIAN_TEST_POSTGRES=off to deselect them
explicitly (never silently).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
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

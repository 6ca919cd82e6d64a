"""A real index built once from data_samples/, and a real uvicorn server on loopback serving it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from evaluation.live_server import serve_in_thread
from indexing.build import BuildConfig, build_index
from indexing.db import make_engine
from indexing.pipeline import ingest
from service.config import Settings
from service.main import create_app
from tests.conftest import SAMPLES, built_once, copy_data_dir

# a fast-training configuration: the tests check behaviour, evaluation/ measures quality
TEST_EPOCHS = 1


@dataclass(frozen=True)
class Built:
    data_dir: Path
    database_url: str


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """data_samples/ ingested into SQLite and built (one build per test run, a private copy each)."""

    def build(data_dir: Path) -> None:
        engine = make_engine(f"sqlite:///{data_dir / 'leian.db'}")
        ingest([SAMPLES], engine, data_dir / "quarantine", progress=False)
        build_index(engine, BuildConfig(data_dir=data_dir, epochs=TEST_EPOCHS))
        engine.dispose()

    data_dir = built_once(tmp_path_factory, "leian-data", build)
    return Built(data_dir, f"sqlite:///{data_dir / 'leian.db'}")


def copy_of(built: Built, dest: Path) -> Built:
    """A copy of the built data (store and index) that a test may change (:func:`tests.conftest.copy_data_dir`)."""
    copy_data_dir(built.data_dir, dest)
    return Built(dest, f"sqlite:///{dest / 'leian.db'}")


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server on 127.0.0.1; yields its base URL."""
    try:
        with serve_in_thread(app, within_s=60, request_timeout_s=30) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def server(built: Built) -> Iterator[str]:
    """Base URL of a live server on 127.0.0.1 serving the built index (local mode: no keys)."""
    with live_server(create_app(Settings(data_dir=built.data_dir, database_url=built.database_url))) as base:
        yield base


@dataclass(frozen=True)
class Keyed:
    """A live server with API keys on its own copy of the built data (:func:`copy_of`): the local-mode
    ``server`` keeps no keys, and what is uploaded and built here (POST /v1/cases, /v1/admin/build) stays here."""

    base: str
    database_url: str
    keys: dict[str, str]  # role -> secret
    data_dir: Path

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture(scope="session")
def keyed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keyed]:
    from service.keys import Role, create_key

    mine = copy_of(built, tmp_path_factory.mktemp("keyed"))
    engine = make_engine(mine.database_url)
    keys = {role.value: create_key(engine, role=role, name=f"test {role.value}")[1] for role in Role}
    engine.dispose()
    # no rate limit here, so the fuzzer's thousands of requests reach the handlers (test_auth checks the limiter)
    settings = Settings(data_dir=mine.data_dir, database_url=mine.database_url, rate_limit_per_second=0)
    with live_server(create_app(settings)) as base:
        yield Keyed(base, mine.database_url, keys, mine.data_dir)


@pytest.fixture(scope="session")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c

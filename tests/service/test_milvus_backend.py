"""The Milvus backend on the real engine (milvus-lite, embedded): the same answers as FAISS on the sample build,
filters evaluated by Milvus as the row store evaluates them, and an incremental Milvus build that a running
server switches to. Skipped, with the reason, only where pymilvus is not installed (it is in the dev extra)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from indexing.artifacts import current_dir, read_manifest
from indexing.build import BuildConfig, build_index
from indexing.db import make_engine
from indexing.milvus_backend import (
    ALIAS,
    MilvusCandidates,
    connect,
    filter_expr,
    load_version,
    milvus_missing,
    resolve_uri,
)
from indexing.rows import Filters
from indexing.search_index import SearchIndex
from service.cli import app as cli_app
from service.config import Settings
from service.main import create_app
from service.retrieve import prepare_draft, retrieve
from tests.conftest import SAMPLES, copy_data_dir
from tests.service.conftest import Built, live_server

pytestmark = pytest.mark.skipif(milvus_missing() is not None, reason=str(milvus_missing()))

QUERIES = [json.loads(x)["q"] for x in (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()][:30]


@pytest.fixture(scope="module")
def both(built: Built, tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchIndex, SearchIndex]:
    """The sample's current version twice: served by FAISS, and loaded into milvus-lite and served from it."""
    data_dir = copy_data_dir(built.data_dir, tmp_path_factory.mktemp("milvus"))
    version = current_dir(data_dir)
    faiss_index = SearchIndex(version, with_sentencing=False)
    milvus_index = SearchIndex(version, with_sentencing=False)
    spec = load_version(version, read_manifest(version)["version"], "milvus.db")
    milvus_index.milvus = MilvusCandidates(spec, data_dir)
    assert (data_dir / "milvus.db").exists() and spec["uri"] == "milvus.db"  # relative: a copied data dir keeps it
    return faiss_index, milvus_index


def test_top10_agrees_with_faiss_on_real_queries(both: tuple[SearchIndex, SearchIndex]) -> None:
    faiss_index, milvus_index = both
    agreement = []
    for text in QUERIES:
        draft = prepare_draft(text, faiss_index)
        a = [h.row for h in retrieve(draft, faiss_index, 10)]
        b = [h.row for h in retrieve(draft, milvus_index, 10)]
        agreement.append(len(set(a) & set(b)) / max(len(a), 1))
    assert sum(agreement) / len(agreement) >= 0.9, agreement


@pytest.mark.parametrize(
    "filters",
    [Filters(charges=["危险驾驶罪"]), Filters(case_type="civil"), Filters(exclude_flagged=True),
     Filters(year_from=2015, year_to=2018), Filters(court_level="基层", charges=["盗窃罪", "故意伤害罪"])],
    ids=["charge", "case_type", "unflagged", "years", "court+charges"],
)
def test_filters_mean_the_same_in_milvus(both: tuple[SearchIndex, SearchIndex], filters: Filters) -> None:
    """Every case Milvus's filter lets through passes the row store's mask, and none that passes is missing."""
    faiss_index, milvus_index = both
    mask = faiss_index.mask(filters)
    expr = filter_expr(filters)
    passing = {int(r["row"]) for r in milvus_index.milvus.client.query(
        milvus_index.milvus.collection, filter=expr, output_fields=["row"], limit=16_384)}
    assert passing == {int(i) for i in mask.nonzero()[0]}
    draft = prepare_draft(QUERIES[0], faiss_index)
    hits = {h.row for h in retrieve(draft, milvus_index, 10, filters)}
    expected = {h.row for h in retrieve(draft, faiss_index, 10, filters)}
    assert all(mask[row] for row in hits)
    assert len(hits & expected) >= 0.9 * len(expected)


def test_an_incremental_milvus_build_is_served_without_a_restart_and_switches_the_alias(
        built: Built, tmp_path: Path) -> None:
    data_dir = copy_data_dir(built.data_dir, tmp_path / "d")
    first = current_dir(data_dir)
    url = f"sqlite:///{data_dir / 'leian.db'}"
    with live_server(create_app(Settings(data_dir=data_dir, database_url=url))) as base, \
            httpx.Client(base_url=base, timeout=60) as client:
        assert client.get("/healthz").json()["index_version"] == first.name
        engine = make_engine(url)
        second = build_index(engine, BuildConfig(data_dir=data_dir, incremental=True, backend="milvus"))
        engine.dispose()
        manifest = read_manifest(second)
        assert manifest["backend"]["kind"] == "milvus" and manifest["added_incrementally"] == 0
        # no case changed: the switch reuses the version's models rather than fitting them again
        assert manifest["sentencing"] == read_manifest(first)["sentencing"] and (second / "sentencing").is_dir()
        _served(client, second.name)  # the running server loads the new version in the background, then switches
        r = client.post("/v1/search", json={"text": QUERIES[1], "k": 5, "filters": {"charges": ["危险驾驶罪"]}})
        assert r.status_code == 200, r.text
        assert r.json()["index_version"] == second.name  # the running server reloaded: now served by Milvus
        assert all("危险驾驶罪" in hit["charges"] for hit in r.json()["results"])
        milvus = connect(resolve_uri(manifest["backend"]["uri"], data_dir))
        assert milvus.describe_alias(ALIAS)["collection_name"] == manifest["backend"]["collection"]
        refused = CliRunner().invoke(cli_app, ["serve", "--workers", "2", "--data-dir", str(data_dir)])
        assert refused.exit_code == 2 and "milvus-lite" in refused.output and "--workers 1" in refused.output

        engine = make_engine(url)  # and back: FAISS serves again, with nothing re-embedded
        third = build_index(engine, BuildConfig(data_dir=data_dir, incremental=True, backend="faiss"))
        engine.dispose()
        assert "backend" not in read_manifest(third)
        _served(client, third.name)


def _served(client: httpx.Client, version: str, within_s: float = 90) -> None:
    deadline = time.time() + within_s
    while client.get("/healthz").json()["index_version"] != version:
        assert time.time() < deadline, f"the server did not switch to {version} within {within_s} s"
        time.sleep(0.2)

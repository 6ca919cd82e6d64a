"""leian bench's scale parts on a small real index: vector-index comparison and served RSS probe."""

from __future__ import annotations

import json

import numpy as np

from evaluation.ann_benchmark import compare, rerank
from evaluation.bench import marginal_rss
from evaluation.serve_probe import probe, rss
from indexing.artifacts import current_dir
from tests.conftest import SAMPLES


def _texts(n: int) -> list[str]:
    lines = (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["fact"] for line in lines[-n:]]


def test_rss_reads_this_process() -> None:
    before = rss()
    block = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB of heap, touched
    after = rss()
    assert after["anon"] - before["anon"] > 48 * 1024 * 1024
    assert before["total"] >= before["anon"] and block.sum() > 0


def test_rerank_orders_candidates_by_exact_score() -> None:
    vectors = np.eye(4, dtype=np.float16)
    query = np.array([0.1, 0.9, 0.5, 0.0], dtype=np.float32)
    assert rerank(np.array([0, 2, 1, -1]), query, vectors, 2).tolist() == [1, 2]


def test_vector_indexes_compared_against_exact_on_real_embeddings(labelled: dict, tmp_path) -> None:
    emb = np.load(current_dir(labelled["root"]) / "embeddings.npy")
    queries = emb[:20] + 0.01  # near-duplicates of indexed cases: the exact top-1 is known
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    got = compare(emb, queries, tmp_path, log=lambda _m: None)
    assert got["Flat"]["recall_at_10"] == 1.0
    assert got["HNSW32,Flat"]["recall_at_10"] >= 0.9
    assert got["HNSW32,SQ8+rerank"]["recall_at_10"] >= got["HNSW32,SQ8"]["recall_at_10"] - 1e-9
    assert got["HNSW32,SQ8"]["index_file_bytes_per_case"] < got["HNSW32,Flat"]["index_file_bytes_per_case"]
    hnsw = got["HNSW32,Flat"]
    assert hnsw["tie_aware_recall_at_10"] >= hnsw["recall_at_10"] - 1e-9  # an equally close duplicate also counts
    assert hnsw["ef_search"]["512"]["recall_at_10"] >= hnsw["ef_search"]["64"]["recall_at_10"] - 0.05
    for label in ("Flat", "HNSW32,Flat", "HNSW32,SQ8"):
        assert got[label]["rss"]["served_bytes_per_case"] > 0, label


def test_served_probe_measures_a_fresh_process(labelled: dict) -> None:
    directory = current_dir(labelled["root"])
    out = probe(directory, _texts(12), assessments=0)
    assert out["cases"] == 200
    assert out["loaded"]["total_bytes"] > 0 and out["served"]["total_bytes"] >= out["loaded"]["anon_bytes"] * 0.5
    assert out["search"]["queries"] >= 9 and out["search"]["p50_ms"] > 0
    parts = probe(directory, _texts(1), breakdown=True)["parts"]
    assert parts["rows_python_dicts"]["anon_bytes"] > 200 * 500  # decoded display rows live on the heap


def test_marginal_rss_between_sizes() -> None:
    def run(total: int, anon: int) -> dict:
        return {"rss": {"served": {"total_bytes": total, "anon_bytes": anon, "file_bytes": total - anon}}}

    got = marginal_rss({"1000": run(5_000_000, 4_000_000), "3000": run(9_000_000, 7_000_000)})
    assert got == {"1000->3000": {"total": 2000.0, "anon": 1500.0, "file": 500.0}}

"""Exact vs approximate vector indexes on the same vectors, in one run: recall@10, latency, size, RSS.

``leian bench`` runs this at every synthetic size. Every configuration is built from the same
embeddings and asked the same query vectors; recall@10 is against the exact ``Flat`` result of the
same run, so ratios between configurations are like with like. Configurations:

- ``Flat``: exact inner product (the served index below 50k cases).
- ``HNSW32,Flat``: the served index from 50k cases (float32 vectors + graph links).
- ``HNSW32,SQ8``: the same graph over 8-bit scalar-quantized vectors (a quarter of the vector bytes).
- ``HNSW32,SQ8+rerank``: its top 40 re-scored exactly from a float16 copy of the vectors that stays on
  disk (``np.memmap``); only the candidates' rows are read.
- ``IVF{nlist},PQ{m}+rerank``: compressed codes (m bytes per case) in RAM, top 100 re-scored from the
  float16 memmap. (OPQ rotation was left out: its training alone took minutes at 10k cases on the
  shared 2-core machine.)

Per configuration: build seconds, recall@10 vs exact, per-query latency p50/p95/p99 (one query at a
time, as the service asks), bytes of the serialized index per case, and the resident-memory growth
of loading it and answering the queries in a fresh process (``evaluation.serve_probe --faiss``),
split into heap (anon) and file-backed (mmap) pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from evaluation.metrics import latency_percentiles

K = 10
SQ_RERANK = 40
PQ_RERANK = 100


def _pq_m(dim: int, target: int = 52) -> int:
    """Largest sub-quantizer count ≤ ``target`` that divides the dimension (PQ needs it)."""
    return max(m for m in range(1, target + 1) if dim % m == 0)


def configurations(n: int, dim: int) -> list[tuple[str, str, int]]:
    """(label, faiss factory string, re-rank depth or 0) for a corpus of ``n`` vectors."""
    m = _pq_m(dim)
    nlist = 1024 if n <= 200_000 else 4096
    out = [("Flat", "Flat", 0), ("HNSW32,Flat", "HNSW32,Flat", 0), ("HNSW32,SQ8", "HNSW32,SQ8", 0),
           ("HNSW32,SQ8+rerank", "HNSW32,SQ8", SQ_RERANK)]
    if n < 10_000:  # k-means needs at least as many training vectors as centroids (1024 lists, 256 codes)
        return out
    return [*out,
            # "np": no polysemous code training (the factory's default for PQ), which alone took over
            # ten minutes at 10k cases here and serves Hamming filtering LeiAn does not use
            (f"IVF{nlist},PQ{m}+rerank", f"IVF{nlist},PQ{m}np", PQ_RERANK)]


def rerank(candidates: np.ndarray, query: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """Top-k of ``candidates`` by exact inner product against rows read from ``vectors`` (a memmap)."""
    cand = candidates[candidates >= 0]
    order = np.sort(cand)  # ascending row order reads the file forwards
    scores = np.asarray(vectors[order], dtype=np.float32) @ query
    return order[np.argsort(-scores)[:k]]


def _timed_queries(index: faiss.Index, queries: np.ndarray, depth: int, fp16: np.ndarray | None) -> tuple:
    rows, ms = [], []
    for q in queries:
        start = time.perf_counter()
        _, got = index.search(q.reshape(1, -1), depth or K)
        top = rerank(got[0], q, fp16, K) if depth else got[0][got[0] >= 0]
        ms.append((time.perf_counter() - start) * 1000)
        rows.append(set(top.tolist()))
    return rows, ms


def compare(emb: np.ndarray, queries: np.ndarray, work: Path, *, served: tuple[str, Path, float] | None = None,
            only: tuple[str, ...] | None = None, log=print) -> dict:
    """Every configuration on ``emb`` (n × d float32, L2-normalized) with ``queries`` (q × d).

    ``served``: (factory, path, build seconds) of an index already built on the same vectors (the
    synthetic served one), reused instead of building it twice. ``only``: the labels to measure
    (``Flat`` is always measured: recall is against it).
    """
    from indexing.dense import build_faiss, load_faiss, save_faiss, set_search_params

    n, dim = emb.shape
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    fp16_path = work / "vectors.f16"
    np.asarray(emb, dtype=np.float16).tofile(fp16_path)
    fp16 = np.memmap(fp16_path, dtype=np.float16, mode="r", shape=(n, dim))
    out: dict = {"cases": n, "dim": dim, "queries": len(queries), "float16_rerank_file_bytes_per_case": 2 * dim}
    exact: list[set[int]] = []
    built: dict[str, tuple[Path, float]] = {}
    if served:
        built[served[0]] = (served[1], served[2])
    for label, spec, depth in configurations(n, dim):
        if only is not None and label != "Flat" and label not in only:
            continue
        log(f"ann {n}: {label}")
        if spec not in built:
            t = time.perf_counter()
            index = build_faiss(emb, spec)
            build_s = time.perf_counter() - t
            path = work / f"{spec.replace(',', '_')}.faiss"
            save_faiss(index, path)
            built[spec] = (path, build_s)
        path, build_s = built[spec]
        index = load_faiss(path)
        set_search_params(index)
        rows, ms = _timed_queries(index, queries, depth, fp16)
        if label == "Flat":
            exact = rows
        recall = float(np.mean([len(a & b) / K for a, b in zip(rows, exact, strict=True)]))
        del index
        out[label] = {"factory": spec, "rerank_depth": depth, "recall_at_10": round(recall, 4),
                      "build_seconds": round(build_s, 1), **latency_percentiles(ms),
                      "index_file_bytes_per_case": round(path.stat().st_size / n, 1),
                      "rss": faiss_rss(path, queries, depth, fp16_path if depth else None)}
    return out


def faiss_rss(path: Path, queries: np.ndarray, depth: int, fp16_path: Path | None) -> dict:
    """Resident growth of loading ``path`` and answering ``queries`` in a fresh process."""
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as fh:
        np.save(fh, queries)
        qpath = Path(fh.name)
    cmd = [sys.executable, "-m", "evaluation.ann_benchmark", str(path), str(qpath), str(depth), str(fp16_path or "")]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800,
                              cwd=Path(__file__).resolve().parents[1])
    finally:
        qpath.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"faiss RSS probe on {path} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _probe_main(path: Path, qpath: Path, depth: int, fp16_path: str) -> None:
    from evaluation.serve_probe import rss
    from indexing.dense import load_faiss

    queries = np.load(qpath)
    before = rss()
    index = load_faiss(path)
    n = index.ntotal
    fp16 = np.memmap(fp16_path, dtype=np.float16, mode="r", shape=(n, index.d)) if fp16_path else None
    loaded = rss()
    _timed_queries(index, queries, depth, fp16)
    served = rss()
    print(json.dumps({
        "loaded_bytes_per_case": round((loaded["total"] - before["total"]) / n, 1),
        "served_bytes_per_case": round((served["total"] - before["total"]) / n, 1),
        "served_anon_bytes_per_case": round((served["anon"] - before["anon"]) / n, 1),
        "served_file_bytes_per_case": round((served["file"] - before["file"]) / n, 1),
    }))


if __name__ == "__main__":
    _probe_main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])

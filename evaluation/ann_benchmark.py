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
from evaluation.output import emit_json

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


def tie_aware_recall(rows: list[np.ndarray], queries: np.ndarray, emb: np.ndarray, exact_kth: np.ndarray) -> float:
    """Share of returned rows scoring at least the exact 10th score (an equally close duplicate counts).

    Plain recall@10 counts a returned exact duplicate of an expected case as a miss; a corpus with many
    near-identical cases (the synthetic one) then understates what a user gets.
    """
    hits = [np.sum(emb[r] @ q >= kth - 1e-5) / K for r, q, kth in zip(rows, queries, exact_kth, strict=True)]
    return float(np.mean(hits))


def ef_search_sweep(path: Path, emb: np.ndarray, queries: np.ndarray, exact: list[set[int]], exact_kth: np.ndarray,
                    efs: tuple[int, ...] = (64, 128, 256, 512)) -> dict:
    """recall@10 (plain and tie-aware) and latency of one HNSW index at several efSearch values."""
    from indexing.dense import load_faiss, set_search_params

    index = load_faiss(path)
    out = {}
    for ef in efs:
        set_search_params(index, ef_search=ef)
        rows, ms = _timed_queries(index, queries, 0, None)
        arrays = [np.fromiter(r, dtype=np.int64) for r in rows]
        out[str(ef)] = {"recall_at_10": round(float(np.mean([len(a & b) / K for a, b in zip(rows, exact, strict=True)])), 4),
                        "tie_aware_recall_at_10": round(tie_aware_recall(arrays, queries, emb, exact_kth), 4),
                        **latency_percentiles(ms)}
    return out


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
            only: tuple[str, ...] | None = None, sweep: bool = True, log=print) -> dict:
    """Every configuration on ``emb`` (n × d float32, L2-normalized) with ``queries`` (q × d).

    ``served``: (factory, path, build seconds) of an index already built on the same vectors (the
    synthetic served one), reused instead of building it twice. ``only``: the labels to measure
    (``Flat`` is always measured: recall is against it). ``sweep``: also try several efSearch values
    on each HNSW index.
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
            exact_kth = index.search(queries, K)[0][:, K - 1]
        recall = float(np.mean([len(a & b) / K for a, b in zip(rows, exact, strict=True)]))
        tie_aware = tie_aware_recall([np.fromiter(r, dtype=np.int64) for r in rows], queries, emb, exact_kth)
        del index
        out[label] = {"factory": spec, "rerank_depth": depth, "recall_at_10": round(recall, 4),
                      "tie_aware_recall_at_10": round(tie_aware, 4),
                      "build_seconds": round(build_s, 1), **latency_percentiles(ms),
                      "index_file_bytes_per_case": round(path.stat().st_size / n, 1),
                      "rss": faiss_rss(path, queries, depth, fp16_path if depth else None)}
        if spec.startswith("HNSW") and not depth and sweep:
            out[label]["ef_search"] = ef_search_sweep(path, emb, queries, exact, exact_kth)
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


def synthetic_main(argv: list[str]) -> None:
    """``python -m evaluation.ann_benchmark --synthetic N DATA_DIR [--only LABEL ...] [--out FILE]``:
    the vector indexes alone on N SYNTHETIC vectors (no BM25, rows or serving), queries = 150 held-out
    CAIL facts embedded by the real index's embedder."""
    import argparse

    from evaluation.datasets import DEFAULT_CAIL_DIR, cail_split, load_cail_pooled
    from evaluation.search_benchmark import synthetic_pairs
    from indexing.artifacts import current_dir
    from indexing.search_index import SearchIndex

    parser = argparse.ArgumentParser(description=synthetic_main.__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, required=True)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--cail-dir", dest="cail", type=Path, default=DEFAULT_CAIL_DIR)
    parser.add_argument("--only", action="append", default=None,
                        help="a label to compare besides Flat (repeatable; labels contain commas)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    index = SearchIndex(current_dir(args.data_dir), with_sentencing=False)
    _corpus, held_out = cail_split(load_cail_pooled(args.cail))
    queries = np.asarray(index.embedder.encode([q["fact"] for q in held_out[:150]]), dtype=np.float32)
    _a, _b, emb = synthetic_pairs(index, args.synthetic)
    with tempfile.TemporaryDirectory(prefix="leian-ann-") as tmp:
        result = compare(emb, queries, Path(tmp), only=tuple(args.only) if args.only else None,
                         log=lambda m: print(time.strftime("%H:%M:%S"), m, file=sys.stderr, flush=True))
    result["synthetic"] = True
    emit_json(result, args.out, ensure_ascii=True)


if __name__ == "__main__":
    if "--synthetic" in sys.argv:
        synthetic_main(sys.argv[1:])
    else:
        _probe_main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])

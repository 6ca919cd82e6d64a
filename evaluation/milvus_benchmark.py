"""FAISS vs Milvus (milvus-lite) on one real built version: agreement, latency, load time (issue 20).

The same index version (its rows, vectors, BM25 statistics and models) is searched twice: candidates from
FAISS and LeiAn's BM25 in process, and candidates from one Milvus hybrid request
(:mod:`indexing.milvus_backend`); fusion ranks both candidate sets the same way. Reported per query set:

- top-10 agreement (shared rows / 10) between the backends, mean and minimum, without a filter and with a
  charge filter (the draft's own first charge) and ``exclude_flagged``;
- the share of Milvus hits that pass the row store's mask for the filter (must be 1);
- whole-``retrieve`` latency p50/p95 per backend, one query at a time, in this process;
- seconds to load the version into a fresh collection (milvus-lite: insert, flush, index, load) and to
  build the FAISS index of the same vectors.

The corpus is a data dir you built (``--data-dir``); the queries are LeCaRD queries from the shared data
(``--queries N``), drafts none of the corpus cases are. milvus-lite is Milvus for one process on one
machine; its latencies are not a cluster's (docs/sizing.md says how the figures carry over).

Run: ``python -m evaluation.milvus_benchmark --data-dir DIR [--queries 200] [--out docs/benchmarks/milvus.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evaluation.metrics import latency_percentiles
from evaluation.output import emit_json
from evaluation.paths import DEFAULT_BENCHMARK_DATA


def lecard_queries(data_dir: Path, n: int) -> list[str]:
    texts = []
    for path in sorted((data_dir / "lecard_queries").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            text = record.get("q") or record.get("query") or record.get("fact")
            if text:
                texts.append(text)
    return texts[:n]


def run(index_data_dir: Path, queries: list[str], milvus_uri: str | None = None) -> dict:
    from indexing.artifacts import current_dir, read_manifest
    from indexing.dense import build_faiss
    from indexing.milvus_backend import MilvusCandidates, load_version
    from indexing.rows import Filters
    from indexing.search_index import SearchIndex
    from service.retrieve import prepare_draft, retrieve

    version = current_dir(index_data_dir)
    manifest = read_manifest(version)
    faiss_index = SearchIndex(version, with_sentencing=False)
    milvus_index = SearchIndex(version, with_sentencing=False)
    scratch = Path(tempfile.mkdtemp(prefix="leian-milvus-bench-"))
    uri = milvus_uri or str(scratch / "milvus.db")
    started = time.perf_counter()
    spec = load_version(version, manifest["version"] + "_bench", uri)
    load_seconds = time.perf_counter() - started
    milvus_index.milvus = MilvusCandidates(spec, index_data_dir)
    started = time.perf_counter()
    build_faiss(np.asarray(faiss_index.embeddings), manifest["faiss"])
    faiss_seconds = time.perf_counter() - started

    drafts = [prepare_draft(q, faiss_index) for q in queries]
    for draft in drafts[:3]:  # warm-up: milvus-lite's first hybrid request loads its analyzer
        retrieve(draft, milvus_index, 10)
    result: dict = {"cases": len(faiss_index), "queries": len(drafts), "milvus_uri": "milvus-lite (file)" if milvus_uri is None else milvus_uri,
                    "index_version": manifest["version"], "faiss": manifest["faiss"],
                    "milvus_load_seconds": round(load_seconds, 1), "faiss_build_seconds": round(faiss_seconds, 2)}
    for name, make in (("no_filter", lambda d: Filters()),
                       ("charge_filter", lambda d: Filters(charges=d.record.charges[:1] or None, exclude_flagged=True))):
        agreement, passing, times = [], [], {"faiss": [], "milvus": []}
        for draft in drafts:
            filters = make(draft)
            mask = faiss_index.mask(filters)
            rows = {}
            for backend, index in (("faiss", faiss_index), ("milvus", milvus_index)):
                t = time.perf_counter()
                rows[backend] = [h.row for h in retrieve(draft, index, 10, filters)]
                times[backend].append(1000 * (time.perf_counter() - t))
            if rows["faiss"]:
                agreement.append(len(set(rows["faiss"]) & set(rows["milvus"])) / len(rows["faiss"]))
            if mask is not None:
                passing += [bool(mask[r]) for r in rows["milvus"]]
        result[name] = {
            "top10_agreement_mean": round(float(np.mean(agreement)), 4),
            "top10_agreement_min": round(float(np.min(agreement)), 4),
            "queries_with_identical_top10_set": sum(a == 1.0 for a in agreement),
            "milvus_hits_passing_the_filter": None if not passing else round(sum(passing) / len(passing), 4),
            "retrieve_ms": {backend: latency_percentiles(ms) for backend, ms in times.items()},
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a LeiAn data dir with a built index")
    parser.add_argument("--benchmark-data", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--milvus-uri", default=None, help="a Milvus server instead of a scratch milvus-lite file")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not (args.benchmark_data / "lecard_queries").is_dir():
        print(f"milvus benchmark: {args.benchmark_data / 'lecard_queries'} not found (the shared data)", file=sys.stderr)
        sys.exit(2)
    command = "python -m evaluation.milvus_benchmark " + " ".join(sys.argv[1:])
    emit_json(run(args.data_dir, lecard_queries(args.benchmark_data, args.queries), args.milvus_uri), args.out,
              command=command)


if __name__ == "__main__":
    main()

"""Speed and scale of LeiAn on this machine: per-stage throughput, latency, RAM per case.

Two parts, each reported from one run so ratios between configurations are comparable:

1. **Stages on real data** (the CAIL sample): docs/s of parse, extract, anonymize, quality check,
   segmentation and embedding, each timed over the same records with the product's own functions.
2. **Scale on SYNTHETIC corpora** (recombinations of real indexed cases, see
   ``evaluation.search_benchmark.make_synthetic_index``; never used for quality figures): for each
   size, index build time, bytes per case on disk for the FAISS and BM25 parts, search latency
   p50/p95/p99 and throughput through the full search path, and assessment latency.

Run: ``python -m evaluation.bench INDEX_DATA_DIR [--sizes 10000,100000] [--out FILE]`` where the
data dir holds a build of the real corpus (e.g. what ``evaluation.search_benchmark --work DIR`` leaves).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evaluation.assess_latency import timed_assessments
from evaluation.datasets import DEFAULT_CAIL_DIR, cail_split, load_cail_pooled
from evaluation.metrics import latency_percentiles
from evaluation.search_benchmark import make_synthetic_index, timed_search
from indexing.anonymize import anonymize
from indexing.artifacts import current_dir
from indexing.extract import extract, split_sections
from indexing.parse import parse_file
from indexing.quality import check
from indexing.schema import RawJudgment
from indexing.search_index import SearchIndex
from indexing.segment import tokenize


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds else float("inf")


def stage_throughput(files: list[Path], index: SearchIndex) -> dict:
    """docs/s of each ingest and index stage over the same real records (e.g. the CAIL files)."""
    t = time.perf_counter()
    raws = [r for f in files for r in parse_file(f) if isinstance(r, RawJudgment)]
    out = {"records": len(raws), "parse": _rate(len(raws), time.perf_counter() - t)}
    t = time.perf_counter()
    records = [extract(r) for r in raws]
    out["extract"] = _rate(len(records), time.perf_counter() - t)
    t = time.perf_counter()
    records = [anonymize(r, head=split_sections(raw.full_text).head if raw.full_text else raw.head)[0]
               for r, raw in zip(records, raws, strict=True)]
    out["anonymize"] = _rate(len(records), time.perf_counter() - t)
    t = time.perf_counter()
    checked = []
    for r, raw in zip(records, raws, strict=True):
        try:
            checked.append(check(r, raw.location))
        except Exception:  # noqa: BLE001 - a rejected record still took its time
            continue
    out["quality"] = _rate(len(records), time.perf_counter() - t)
    texts = [r.facts for r in checked]
    t = time.perf_counter()
    for text in texts:
        tokenize(text)
    out["segment"] = _rate(len(texts), time.perf_counter() - t)
    t = time.perf_counter()
    index.embedder.encode(texts, batch_size=64)
    out["embed"] = _rate(len(texts), time.perf_counter() - t)
    per_doc = sum(1 / out[k] for k in ("parse", "extract", "anonymize", "quality", "segment", "embed"))
    out["ingest_and_index_pipeline"] = round(1 / per_doc, 1)
    return out


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def scale(index: SearchIndex, texts: list[str], n: int) -> dict:
    """Build, size and latency figures on a SYNTHETIC corpus of ``n`` cases."""
    with tempfile.TemporaryDirectory(prefix="leian-bench-") as tmp:
        directory = Path(tmp)
        info = make_synthetic_index(index, n, directory)
        info.pop("embeddings")
        sizes = {
            "faiss_bytes_per_case": round((directory / "dense.faiss").stat().st_size / n, 1),
            "bm25_bytes_per_case": round(_dir_bytes(directory / "bm25") / n, 1),
            "rows_bytes_per_case": round((directory / "cases.jsonl").stat().st_size / n, 1),
        }
        synth = SearchIndex(directory)
        ms = [timed_search(text, synth)[2] for text in texts]
        timed = ms[min(10, len(ms) // 4):]  # the first calls warm caches up
        search = {**latency_percentiles(timed), "queries_per_second_one_worker": round(1000 / float(np.mean(timed)), 1)}
        return {**info, **sizes, "search": search, "assess": timed_assessments(synth, texts[:60])}


def run(data_dir: Path, cail: Path, sizes: list[int], queries: int = 150) -> dict:
    """Both parts of the benchmark; ``data_dir`` holds a build of the real corpus."""
    index = SearchIndex(current_dir(data_dir))
    _corpus, held_out = cail_split(load_cail_pooled(cail))
    texts = [q["fact"] for q in held_out[:queries]]
    result: dict = {"stages_real_cail": stage_throughput(sorted(cail.glob("*.jsonl")), index), "scale_synthetic": {}}
    for n in sizes:
        result["scale_synthetic"][str(n)] = scale(index, texts, n)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="data dir holding a build of the real corpus")
    parser.add_argument("--cail", type=Path, default=DEFAULT_CAIL_DIR)
    parser.add_argument("--sizes", default="10000,100000", help="synthetic corpus sizes, comma-separated")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.cail.is_dir():
        sys.exit(f"bench: {args.cail} not found (needs ../shared/data)")
    result = run(args.data_dir, args.cail, [int(x) for x in args.sizes.split(",") if x.strip()], args.queries)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

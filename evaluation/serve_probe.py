"""Resident memory of a served index, measured in a fresh process (``leian bench`` runs it per size).

Array sizes on disk say little about what a service holds: Python objects for the display rows,
mmap'd pages that queries touch, allocator overhead. So this module loads an index the way the
service does, in a process of its own, and reads the kernel's resident-set figures
(``/proc/self/status``: ``VmRSS`` = ``RssAnon`` (heap) + ``RssFile`` (file-backed, e.g. mmap'd
arrays)) at three points:

- ``baseline``: after importing the search code, before anything of the index is loaded;
- ``loaded``: after ``SearchIndex(directory)`` (rows, FAISS, BM25, embedder, sentencing model);
- ``served``: after running the given queries through the full search path (mmap'd pages touched).

The per-case figure is ``(served - baseline) / cases``; it includes the fixed-size embedder and
sentencing model, which is why ``leian bench`` also reports the marginal figure between sizes.
``--breakdown`` instead loads the parts one at a time (rows as Python dicts, FAISS, BM25) and
reports each one's resident growth. Linux only (reads /proc).

Run: ``python -m evaluation.serve_probe INDEX_DIR --queries FILE [--assess N] [--breakdown]`` where
FILE holds one JSON string (a draft's facts) per line. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path


def rss() -> dict[str, int]:
    """This process's resident set in bytes: total, anonymous and file-backed."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            fields[key] = int(value.split()[0]) * 1024
    return {"total": fields["VmRSS"], "anon": fields.get("RssAnon", 0), "file": fields.get("RssFile", 0)}


def _delta(after: dict[str, int], before: dict[str, int], cases: int) -> dict:
    return {f"{k}_bytes": after[k] - before[k] for k in after} | {
        f"{k}_bytes_per_case": round((after[k] - before[k]) / cases, 1) for k in after
    }


def served_memory(directory: Path, texts: list[str], assessments: int) -> dict:
    """RSS of a SearchIndex as served, plus search and assess latency over ``texts`` (same process)."""
    import sentence_transformers  # noqa: F401 - the libraries' own memory is not the index's
    import sklearn.ensemble  # noqa: F401

    from evaluation.assess_latency import timed_assessments
    from evaluation.metrics import latency_percentiles
    from evaluation.search_benchmark import timed_search
    from indexing.search_index import SearchIndex

    gc.collect()
    baseline = rss()
    t = time.perf_counter()
    index = SearchIndex(directory)
    load_s = time.perf_counter() - t
    loaded = rss()
    ms = [timed_search(text, index)[2] for text in texts]
    timed = ms[min(10, len(ms) // 4):]  # the first calls warm caches up
    served = rss()
    n = len(index)
    out = {
        "cases": n, "load_seconds": round(load_s, 1),
        "rss_baseline_bytes": baseline["total"],
        "loaded": _delta(loaded, baseline, n), "served": _delta(served, baseline, n),
        "search": {**latency_percentiles(timed), "queries": len(timed),
                   "queries_per_second_one_worker": round(1000 * len(timed) / sum(timed), 1)},
    }
    if assessments and index.sentencing is not None:
        out["assess"] = timed_assessments(index, texts[:assessments])
    return out


def component_memory(directory: Path) -> dict:
    """Resident growth of each served part loaded alone, in the order SearchIndex loads them."""
    from indexing.bm25 import BM25Index
    from indexing.dense import load_faiss

    gc.collect()
    parts: dict = {}
    before = rss()
    with (directory / "cases.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    n = len(rows)
    now = rss()
    parts["rows_python_dicts"], before = _delta(now, before, n), now
    faiss_index = load_faiss(directory / "dense.faiss")
    now = rss()
    parts["faiss"], before = _delta(now, before, n), now
    bm25 = BM25Index.load(directory / "bm25")
    now = rss()
    parts["bm25_mmap_loaded"] = _delta(now, before, n)
    del rows, faiss_index, bm25
    return {"cases": n, "parts": parts}


def probe(directory: Path, texts: list[str], *, assessments: int = 0, breakdown: bool = False,
          timeout: float = 3600) -> dict:
    """Run this module in a fresh Python process on ``directory`` and return its JSON."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as fh:
        for text in texts:
            fh.write(json.dumps(text, ensure_ascii=False) + "\n")
        queries = fh.name
    cmd = [sys.executable, "-m", "evaluation.serve_probe", str(directory), "--queries", queries,
           "--assess", str(assessments)] + (["--breakdown"] if breakdown else [])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=Path(__file__).resolve().parents[1])
    finally:
        Path(queries).unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"serve_probe on {directory} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="one index version folder (with manifest.json)")
    parser.add_argument("--queries", type=Path, required=True, help="one JSON string per line")
    parser.add_argument("--assess", type=int, default=0, help="also time this many assessments")
    parser.add_argument("--breakdown", action="store_true", help="resident growth per part instead")
    args = parser.parse_args()
    if not (args.directory / "manifest.json").is_file():
        sys.exit(f"serve_probe: {args.directory} holds no index version (manifest.json missing)")
    if args.breakdown:
        out = component_memory(args.directory)
    else:
        texts = [json.loads(line) for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
        out = served_memory(args.directory, texts, args.assess)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

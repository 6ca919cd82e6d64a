"""RAM of an index version's display rows: rows held as Python dicts (before) vs read from disk (now).

From a real index's ``cases.jsonl``, writes a SYNTHETIC ``cases.jsonl`` of N rows (the real rows
repeated round-robin, each with its own case_id ``synthetic-…`` and ``flags.synthetic`` set: only
memory is measured on it), then in a fresh process per variant measures the resident memory the rows
add: ``read_rows`` (the list of dicts ``RowStore`` held before) and ``RowStore.load`` (rows memory-mapped,
one offset per row, filter columns as codes). Also times a 20-row page read and a filtered mask.

    python -m evaluation.rows_memory --cases INDEX_DIR/cases.jsonl --sizes 100000,300000 \\
        --out docs/benchmarks/rows_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaluation.output import REPO, emit_json, machine


def _rss_bytes(kind: str = "VmRSS") -> int:
    """Resident memory from /proc/self/status: VmRSS (all), RssAnon (the process's own), RssFile (mapped files)."""
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith(kind + ":"))
    return int(line.split()[1]) * 1024


def _measure(path: Path, variant: str) -> dict:
    import gc

    import numpy as np

    from indexing.rows import Filters, RowStore, read_rows

    gc.collect()
    before, anon_before = _rss_bytes(), _rss_bytes("RssAnon")
    t = time.perf_counter()
    held = read_rows(path) if variant == "dicts" else RowStore.load(path)
    load_s = time.perf_counter() - t
    gc.collect()
    grown, anon = _rss_bytes() - before, _rss_bytes("RssAnon") - anon_before
    n = len(held)
    t = time.perf_counter()
    page = [held[i] for i in np.linspace(0, n - 1, 20).astype(int)]
    page_ms = 1000 * (time.perf_counter() - t)
    out = {"variant": variant, "rows": n, "rss_added_bytes": grown, "bytes_per_row": round(grown / n),
           "anon_bytes_per_row": round(anon / n),
           "load_seconds": round(load_s, 1), "read_20_rows_ms": round(page_ms, 2)}
    if variant == "store":
        t = time.perf_counter()
        mask = held.mask(Filters(charges=page[0]["charges"][:1], year_from=2010, exclude_flagged=True))
        out["filter_mask_ms"] = round(1000 * (time.perf_counter() - t), 2)
        out["filter_kept"] = int(mask.sum()) if mask is not None else n
    return out


def synthetic_rows(cases: Path, n: int, out: Path) -> Path:
    with cases.open(encoding="utf-8") as fh:
        real = [json.loads(line) for line in fh]
    with out.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(real[i % len(real)])
            row["case_id"] = f"synthetic-{i}"
            row["flags"] = {**row["flags"], "synthetic": True}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=Path, help="a real index's cases.jsonl")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", nargs=2, metavar=("CASES", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_measure(Path(args.one[0]), args.one[1])))
        return
    if args.cases is None:
        parser.error("--cases is required (a real index's cases.jsonl)")
    result: dict = {"machine": machine(), "source_rows": str(args.cases), "synthetic": True, "runs": []}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory(prefix="leian-rows-") as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            path = synthetic_rows(args.cases, n, Path(tmp) / f"cases_{n}.jsonl")
            for variant in ("dicts", "store"):
                done = subprocess.run([sys.executable, "-m", "evaluation.rows_memory", "--one", str(path), variant],
                                      env=env, cwd=REPO, capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(done.stderr[-3000:])
                result["runs"].append({**json.loads(done.stdout.strip().splitlines()[-1]),
                                       "file_mb": round(path.stat().st_size / 2**20, 1)})
                print(result["runs"][-1], file=sys.stderr)
    emit_json(result, args.out)


if __name__ == "__main__":
    main()

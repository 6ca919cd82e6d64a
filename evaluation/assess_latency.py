"""Latency of a full sentencing assessment (draft pipeline, neighbours, model, deviation) on a built index.

Run: ``python -m evaluation.assess_latency INDEX_DATA_DIR [--n 200] [--synthetic 100000] [--out FILE]`` where the data dir holds a build
(e.g. the one ``evaluation.search_benchmark --work DIR`` leaves behind). Queries are held-out CAIL facts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_split, load_cail_pooled
from evaluation.metrics import latency_percentiles
from evaluation.output import emit_json
from indexing.artifacts import current_dir
from indexing.schema import Outcome, OutcomeType
from indexing.search_index import SearchIndex
from service.assess import assess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--cail-dir", dest="cail", type=Path, default=DEFAULT_CAIL_DIR)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=0, help="also measure on this many SYNTHETIC cases")
    parser.add_argument("--out", type=Path, help="also write the JSON report here (with commit, date, machine)")
    args = parser.parse_args()
    if not args.cail.is_dir():
        sys.exit(f"assess_latency: {args.cail} not found (needs ../shared/data)")
    index = SearchIndex(current_dir(args.data_dir))
    _corpus, queries = cail_split(load_cail_pooled(args.cail))
    texts = [q["fact"] for q in queries[: args.n]]
    out = {"real": timed_assessments(index, texts)}
    if args.synthetic:
        from evaluation.search_benchmark import make_synthetic_index

        with tempfile.TemporaryDirectory(prefix="leian-synth-") as tmp:
            info = make_synthetic_index(index, args.synthetic, Path(tmp))
            info.pop("embeddings")
            out["synthetic"] = {**info, **timed_assessments(SearchIndex(Path(tmp)), texts)}
    emit_json(out, args.out)


def timed_assessments(index: SearchIndex, texts: list[str]) -> dict:
    proposal = Outcome(type=OutcomeType.FIXED_TERM, months=24.0)
    ms = []
    for text in texts:
        start = time.perf_counter()
        assess(index, text, proposed=proposal)
        ms.append((time.perf_counter() - start) * 1000)
    timed = ms[min(20, len(ms) // 4):]  # the first calls warm caches up
    return {"cases": len(index), "assessments": len(timed), **latency_percentiles(timed, digits=1)}


if __name__ == "__main__":
    main()

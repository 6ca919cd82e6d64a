"""Ingest throughput and memory: docs/s at 1 and 2 workers on the CAIL sample, peak RSS at 100k cases.

Each ingest runs in a fresh process (``leian ingest`` into an empty data dir, SQLite store) that
reports its own peak RSS and CPU time and its workers' (``resource.getrusage``), so one run's memory
does not hide in another's. The machine's load average is recorded before each run: on a shared
machine the CPU seconds per record are the figure that does not depend on the neighbours.

The large runs ingest SYNTHETIC records, real CAIL texts recombined (the first half of one case's
facts followed by the second half of another case of the same charge, the first case's labels): the
parser, extractor, anonymizer and quality passes see real sentences, and the report labels them
synthetic. They show whether memory grows with the corpus (it should not: the duplicate and
overturned passes read the store in streams, indexing/corpus_pass.py). ``--in-memory-reference``
also runs the in-memory definition of the flags (indexing.quality.corpus_flags, what ingest did
before) on the largest store: its peak RSS, and whether it finds any flag the streamed pass missed.

    python -m evaluation.ingest_benchmark --out docs/benchmarks/ingest_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaluation.output import REPO, emit_json, machine
from evaluation.paths import DEFAULT_BENCHMARK_DATA

KB = 1024


def _usage() -> dict:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "main_peak_rss_mb": round(me.ru_maxrss * KB / 2**20, 1),
        "worker_peak_rss_mb": round(kids.ru_maxrss * KB / 2**20, 1) if kids.ru_maxrss else None,
        "cpu_seconds_main": round(me.ru_utime + me.ru_stime, 2),
        "cpu_seconds_workers": round(kids.ru_utime + kids.ru_stime, 2),
    }


def _one_ingest(source: Path, data_dir: Path, workers: int) -> dict:
    """Runs inside the fresh process: the ingest the CLI runs, then this process's usage."""
    from indexing import db
    from indexing.pipeline import ingest

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(db.default_database_url(data_dir))
    report = ingest([source], engine, data_dir / "quarantine", progress=False, workers=workers).to_dict()
    keep = ("read", "stored", "rejected", "exact_duplicates", "near_duplicates", "overturned", "seconds", "docs_per_second")
    return {"workers": workers, **{k: report[k] for k in keep}, **_usage()}


def _one_reference(data_dir: Path) -> dict:
    """Runs inside the fresh process: the in-memory flag definition over the whole store."""
    from indexing import db
    from indexing.quality import corpus_flags

    engine = db.make_engine(db.default_database_url(data_dir))
    started = time.perf_counter()
    updates = corpus_flags(db.iter_cases(engine))
    return {"seconds": round(time.perf_counter() - started, 1), "flags_the_streamed_pass_missed": len(updates), **_usage()}


def _fresh(args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    load = [round(x, 2) for x in os.getloadavg()]
    out = subprocess.run([sys.executable, "-m", "evaluation.ingest_benchmark", *args], env=env, cwd=REPO,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load_average_before": load}


def synthetic_cail(cail: Path, n: int, out: Path, seed: int = 0) -> Path:
    """Write ``n`` SYNTHETIC CAIL records: real facts recombined within a charge (see module doc)."""
    records = [json.loads(line) for f in sorted(cail.glob("*.jsonl")) for line in f.open(encoding="utf-8")]
    by_charge: dict[str, list[dict]] = {}
    for r in records:
        by_charge.setdefault("|".join(sorted(r["meta"]["accusation"])), []).append(r)
    rng = random.Random(seed)
    with out.open("w", encoding="utf-8") as fh:
        for _ in range(n):
            a = rng.choice(records)
            b = rng.choice(by_charge["|".join(sorted(a["meta"]["accusation"]))])
            fact = a["fact"][: len(a["fact"]) // 2] + b["fact"][len(b["fact"]) // 2 :]
            fh.write(json.dumps({"fact": fact, "meta": a["meta"]}, ensure_ascii=False) + "\n")
    return out


def run(cail: Path, workers: list[int], sizes: list[int], synthetic_workers: int, repeats: int,
        reference: bool, log=print) -> dict:  # type: ignore[no-untyped-def]
    result: dict = {"machine": machine(), "cail_sample": {"source": str(cail), "runs": []}, "synthetic": []}
    with tempfile.TemporaryDirectory(prefix="leian-ingest-bench-") as tmp:
        tmp_path = Path(tmp)
        for w in workers:
            for k in range(repeats):
                log(f"ingest CAIL sample, {w} worker(s), run {k + 1}")
                run_dir = tmp_path / f"cail-w{w}-{k}"
                result["cail_sample"]["runs"].append(_fresh(["--one", str(cail), str(run_dir), str(w)]))
        best: dict[str, dict] = {}
        for r in result["cail_sample"]["runs"]:
            r["cpu_ms_per_record"] = round(1000 * (r["cpu_seconds_main"] + r["cpu_seconds_workers"]) / r["read"], 2)
            if r["docs_per_second"] > best.get(str(r["workers"]), {}).get("docs_per_second", 0):
                best[str(r["workers"])] = r
        result["cail_sample"]["best_docs_per_second"] = {w: r["docs_per_second"] for w, r in best.items()}
        largest = None
        for n in sizes:
            source = synthetic_cail(cail, n, tmp_path / f"synthetic_cail_{n}.jsonl")
            log(f"ingest {n} SYNTHETIC records (real CAIL texts recombined), {synthetic_workers} worker(s)")
            largest = tmp_path / f"synthetic-{n}"
            run_ = _fresh(["--one", str(source), str(largest), str(synthetic_workers)])
            result["synthetic"].append({"records": n, "synthetic": True, **run_,
                                        "store_mb": round(sum(p.stat().st_size for p in largest.rglob("*") if p.is_file()) / 2**20, 1)})
            source.unlink()
        if reference and largest is not None:
            log("the in-memory flag definition over the largest store (what ingest held before)")
            result["in_memory_reference"] = {"records": sizes[-1], **_fresh(["--reference", str(largest)])}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cail", type=Path, default=DEFAULT_BENCHMARK_DATA / "cail2018_sample")
    parser.add_argument("--workers", default="1,2", help="worker counts for the CAIL sample runs")
    parser.add_argument("--repeats", type=int, default=2, help="runs per worker count (the best is reported too)")
    parser.add_argument("--sizes", default="20000,100000", help="synthetic record counts, comma-separated ('' for none)")
    parser.add_argument("--synthetic-workers", type=int, default=2)
    parser.add_argument("--in-memory-reference", action="store_true",
                        help="also run the in-memory flag definition on the largest store (memory and agreement)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one", nargs=3, metavar=("SOURCE", "DATA_DIR", "WORKERS"), help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one_ingest(Path(args.one[0]), Path(args.one[1]), int(args.one[2]))))
        return
    if args.reference:
        print(json.dumps(_one_reference(args.reference)))
        return
    result = run(args.cail, [int(w) for w in args.workers.split(",")], [int(n) for n in args.sizes.split(",") if n],
                 args.synthetic_workers, args.repeats, args.in_memory_reference, log=lambda m: print(m, file=sys.stderr))
    emit_json(result, args.out)


if __name__ == "__main__":
    main()

"""Server CPU per request of two checkouts of LeiAn, under the same load at the same time.

Why: this machine's speed drifts by up to a factor of two from hour to hour (see
``load_test.python_speed_ms``), far more than most changes move the cost of a request, so two load
runs one after the other compare the hours, not the code. Here both checkouts serve at once, each in
its own single-worker server process on the same build, and the one open-loop schedule of real
drafts is sent to both in parallel: whatever the machine does, it does to both. Two servers of the
same code measured this way agreed within 0.5 % (10.73 / 10.71 and 11.72 / 11.78 ms per request).

Per checkout it reports, per request sent: the process's CPU (all threads: event loop, request
thread, write queue), the event loop's CPU, and the CPU of the search and assessment work itself
(``_search`` and ``assess``, timed in the request thread), with latency and errors. ``--swap`` runs
it a second time with the two on each other's port and in each other's place in the launch order.

Run: ``python -m evaluation.cpu_ab OLD_CHECKOUT NEW_CHECKOUT [--rate 60] [--duration 30]``, e.g. with
``git worktree add /tmp/old HEAD~1`` as the old one. Both need the CAIL corpus build of the load test
(``--work``, built on first use from ``../shared/data``; exit 2 without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_split, load_cail_pooled
from evaluation.live_server import free_port, wait_until_serving
from evaluation.load_test import DEFAULT_WORK, drive, schedule, summarize
from evaluation.output import emit_json
from evaluation.search_benchmark import build_corpus
from indexing.db import make_engine
from service.cli import NATIVE_THREAD_VARS

# One server, run as ``python -c`` with the checkout first on sys.path. It measures between the
# files ``go`` and ``stop`` that the driver creates, and writes its figures to ``out``.
_SERVER = r"""
import asyncio, json, os, sys, time
sys.path.insert(0, os.environ["LEIAN_AB_CHECKOUT"])
from pathlib import Path
import uvicorn
import service.assess as assess_module
import service.routes.assess as assess_route
import service.routes.search as search_route
from service.config import Settings
from service.main import create_app

work = [0.0]

def timed(fn):
    def call(*args, **kwargs):
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            work[0] += time.thread_time() - start
    return call

search_route._search = timed(search_route._search)
# the routes import assess when they first run (this checkout), or held their own reference (older ones)
assess_module.assess = timed(assess_module.assess)
if hasattr(assess_route, "assess"):
    assess_route.assess = timed(assess_route.assess)
data_dir, signals = Path(os.environ["LEIAN_AB_DATA"]), Path(os.environ["LEIAN_AB_SIGNALS"])
app = create_app(Settings(data_dir=data_dir, database_url=os.environ["LEIAN_AB_DATABASE_URL"], host="127.0.0.1"))
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(os.environ["LEIAN_AB_PORT"]),
                                       log_level="warning", access_log=False))

async def main():
    task = asyncio.create_task(server.serve())
    while not (signals / "go").exists():
        await asyncio.sleep(0.02)
    loop0, process0, work0 = time.thread_time(), time.process_time(), work[0]
    while not (signals / "stop").exists():
        await asyncio.sleep(0.02)
    figures = {"loop_s": time.thread_time() - loop0, "process_s": time.process_time() - process0, "work_s": work[0] - work0}
    Path(os.environ["LEIAN_AB_OUT"]).write_text(json.dumps(figures))
    server.should_exit = True
    await task

asyncio.run(main())
"""


def _start(checkout: Path, data_dir: Path, database_url: str, signals: Path, out: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LEIAN_AB_CHECKOUT": str(checkout.resolve()), "LEIAN_AB_DATA": str(data_dir),
           "LEIAN_AB_DATABASE_URL": database_url, "LEIAN_AB_SIGNALS": str(signals), "LEIAN_AB_PORT": str(port),
           "LEIAN_AB_OUT": str(out), "PYTHONPATH": str(checkout.resolve()),
           **dict.fromkeys(NATIVE_THREAD_VARS, "1")}  # as `leian serve` sets them: one OpenMP/BLAS thread per process
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], env=env, cwd=checkout, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen, base: str, within_s: float = 300) -> None:
    """:func:`wait_until_serving` a second at a time, so that a server that exits is reported at once."""
    deadline = time.time() + within_s
    while not wait_until_serving(base, within_s=1):
        if proc.poll() is not None:
            raise RuntimeError(f"the server for {base} exited with {proc.returncode}")
        if time.time() > deadline:
            raise RuntimeError(f"the server for {base} was not ready within {within_s} s")


def compare(checkouts: list[Path], data_dir: Path, drafts: list[dict], *, rate: float, duration: float,
            database_url: str | None = None, warmup: float = 5.0) -> list[dict]:
    """Serve ``data_dir`` from each checkout at once, send both the same schedule; figures per checkout."""
    database_url = database_url or f"sqlite:///{data_dir / 'leian.db'}"
    engine = make_engine(database_url)  # the tables made (migrated) once here: servers starting together would race
    engine.dispose()
    with tempfile.TemporaryDirectory(prefix="leian-cpu-ab-") as tmp:
        signals = Path(tmp)
        outs = [signals / f"figures-{i}.json" for i in range(len(checkouts))]
        servers = [_start(c, data_dir, database_url, signals, out) for c, out in zip(checkouts, outs, strict=True)]
        try:
            for proc, base in servers:
                _wait_ready(proc, base)

            async def to_all(calls: list, connections: int) -> list:
                return await asyncio.gather(*(drive(base, calls, timeout=10, connections=connections) for _p, base in servers))

            run = f"ab-{time.time():.0f}"
            if warmup > 0:
                asyncio.run(to_all(schedule(drafts, rate=min(rate, 20.0), duration=warmup, assess_share=0.5, seed=3,
                                            run=run + "w"), 8))
            calls = schedule(drafts, rate=rate, duration=duration, assess_share=0.5, seed=5, run=run)
            (signals / "go").touch()
            results = asyncio.run(to_all(calls, 32))
            (signals / "stop").touch()
            for proc, _base in servers:
                proc.wait(timeout=60)
        finally:
            for proc, _base in servers:
                if proc.poll() is None:
                    proc.kill()
        report = []
        for checkout, out, (outcomes, _wall) in zip(checkouts, outs, results, strict=True):
            cpu = json.loads(out.read_text())
            per = 1000 / max(len(calls), 1)
            report.append({
                "checkout": str(checkout),
                "process_ms_per_request": round(cpu["process_s"] * per, 3),
                "event_loop_ms_per_request": round(cpu["loop_s"] * per, 3),
                "work_ms_per_request": round(cpu["work_s"] * per, 3),
                "latency": summarize(outcomes, duration)["overall"],
            })
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_CAIL_DIR.parent, help="the shared data folder")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="the load test's corpus build (reused)")
    parser.add_argument("--rate", type=float, default=60.0, help="requests per second to each checkout")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--swap", action="store_true", help="run again with the two in each other's place")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.data_dir / "cail2018_sample").is_dir():
        print(f"cpu_ab: {args.data_dir / 'cail2018_sample'} not found: it runs on the real CAIL sample "
              "(../shared/data); nothing was measured", file=sys.stderr)
        return 2
    for checkout in (args.old, args.new):
        if not (checkout / "service" / "main.py").is_file():
            parser.error(f"{checkout} is not a LeiAn checkout (no service/main.py)")
    corpus, queries = cail_split(load_cail_pooled(args.data_dir / "cail2018_sample"))
    build_corpus(corpus, args.work)
    rounds = [compare([args.old, args.new], args.work, queries, rate=args.rate, duration=args.duration)]
    if args.swap:
        rounds.append(compare([args.new, args.old], args.work, queries, rate=args.rate, duration=args.duration)[::-1])
    result = {"command": "python -m evaluation.cpu_ab " + " ".join(sys.argv[1:] if argv is None else argv),
              "rate_rps_each": args.rate, "duration_s": args.duration, "rounds": rounds}
    emit_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

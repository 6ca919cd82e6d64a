"""Bounded open-loop load test of a live ``leian serve --workers N`` on loopback, with real CAIL drafts.

What it does, in order:

1. Builds (once, reused from ``--work``) the CAIL benchmark corpus: the 80 % part of the fixed pooled
   split, ingested and built as ``leian ingest`` + ``leian build`` would (evaluation.search_benchmark).
2. Starts ``leian serve --workers N`` on 127.0.0.1 on that build, as a real subprocess, and waits
   until every worker has loaded the index.
3. Sends a mix of ``/v1/search`` and ``/v1/assess`` requests whose drafts are the 1,015 held-out CAIL
   facts (every request a different draft until they run out; charges given for half of them, real
   proposals from the held-out sentences, a quarter of them doubled so that some become alerts). The
   load is **open-loop**: request *i* is due at a fixed time (Poisson arrivals at ``--rate``, seeded),
   sent then whether or not earlier ones have answered, and its latency counts from that due time, so
   a slow server cannot slow the load down and hide its queueing (no coordinated omission).
4. Stops by itself: ``rate x duration`` requests in all; a request more than ``--timeout`` seconds
   late is not sent (an error, "late"), and whatever is unanswered ``2 x timeout + 5`` seconds after
   the last is due is an error too.
5. Checks that every assessment the API answered is a row in the database, then stops the server.

Reported (JSON, ``docs/benchmarks/load.json`` by default): sustained answered requests/s, latency
p50/p95/p99/max, and errors by kind, per endpoint and overall; the send delay behind schedule
(``client_lag``: waiting for a free connection when the server falls behind, or for the client's own
CPU); CPU seconds used by the server processes, by the client and by a local PostgreSQL; the load
average before and after.
``--profile DIR`` samples each worker with py-spy during the measured part. Exit status 2 when the shared
data is missing, 1 with ``--check`` when a target (``--rate`` sustained, 0 errors, p99 within
``--p99-ms``) is missed.

Run: ``python -m evaluation.load_test [--workers 2] [--rate 200] [--duration 60] [--work DIR]``
(or ``leian bench --load``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
from sqlalchemy import select

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_months, cail_split, load_cail_pooled
from evaluation.http_connection import ConnectionFailed, KeepAliveConnection
from evaluation.live_server import free_port
from evaluation.output import emit_json
from evaluation.search_benchmark import build_corpus
from indexing.db import make_engine
from indexing.errors import SourceError
from service.config import Settings
from service.store import assessments

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "load.json"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "leian-load-work"
MAX_CONNECTIONS = 128  # keep-alive connections the client spreads over the workers


@dataclass(frozen=True)
class Call:
    """One request of the schedule: which endpoint, its JSON body, and when it is due (s from start)."""

    endpoint: str
    body: dict
    due: float
    payload: bytes = b""  # the body as sent, encoded before the clock starts

    def __post_init__(self) -> None:
        if not self.payload:
            object.__setattr__(self, "payload", json.dumps(self.body, ensure_ascii=False).encode("utf-8"))


@dataclass
class Outcome:
    endpoint: str
    latency_ms: float  # from the due time to the end of the response
    lag_ms: float  # how late the client actually sent it
    error: str | None
    alert: bool = False
    recorded: bool = False  # an assessment with a proposal, which the service must have stored
    ref: str | None = None  # its case_ref, to find its row
    end_s: float = 0.0  # when it ended, seconds from the start


def _proposal(record: dict, rng: np.random.Generator) -> dict | None:
    """A lawful proposal from the held-out case's real sentence; a quarter of them doubled."""
    months = cail_months(record)
    if months is None or months <= 0:
        return None
    if rng.random() < 0.25:
        months = months * 2
    if 6 <= months <= 300:
        return {"type": "fixed_term", "months": round(months)}
    if 1 <= months < 6:
        return {"type": "detention", "months": round(months)}
    return None


def schedule(queries: list[dict], *, rate: float, duration: float, assess_share: float, seed: int, run: str) -> list[Call]:
    """``rate x duration`` calls at Poisson arrival times, drafts taken in turn from the held-out facts."""
    rng = np.random.default_rng(seed)
    n = int(round(rate * duration))
    gaps = rng.exponential(1.0 / rate, size=n)
    due = np.cumsum(gaps)
    due *= duration / max(float(due[-1]), 1e-9) if n else 1.0  # exactly ``duration`` seconds long
    order = rng.permutation(len(queries))
    calls = []
    for i in range(n):
        record = queries[order[i % len(order)]]
        charges = list(record["meta"]["accusation"]) if rng.random() < 0.5 else None
        if rng.random() < assess_share:
            body: dict = {"text": record["fact"], "charges": charges, "court": "load-test", "case_ref": f"{run}-{i}"}
            proposed = _proposal(record, rng)
            if proposed:
                body["proposed"] = proposed
            calls.append(Call("/v1/assess", body, float(due[i])))
        else:
            calls.append(Call("/v1/search", {"text": record["fact"], "k": 10, "charges": charges}, float(due[i])))
    return calls


async def _send(conn: KeepAliveConnection, call: Call, start: float, timeout: float) -> Outcome:
    sent = time.perf_counter()
    error = None
    alert = recorded = False
    try:
        resp = await asyncio.wait_for(conn.post(call.endpoint, call.payload), timeout)
        if resp.status != 200:
            error = f"HTTP {resp.status}"
        elif call.endpoint == "/v1/assess" and "proposed" in call.body:
            data = json.loads(resp.body)
            recorded = data.get("deviation") is not None
            alert = bool(data.get("alert_id"))
    except TimeoutError:
        error = "timeout"
        await conn.close()  # the answer may still come: never read it as the next request's
    except (OSError, asyncio.IncompleteReadError, ConnectionFailed, ValueError) as exc:
        error = type(exc).__name__
    end = time.perf_counter()
    return Outcome(call.endpoint, (end - start - call.due) * 1000, (sent - start - call.due) * 1000, error, alert,
                   recorded, call.body.get("case_ref") if recorded else None, end - start)


async def drive(base: str, calls: list[Call], *, timeout: float, connections: int = MAX_CONNECTIONS) -> tuple[list[Outcome], float]:
    """Send every call at its due time (open loop); returns outcomes and the wall time until the last ended.

    A dispatcher puts each call on a queue when it is due; ``connections`` senders, each with its own
    keep-alive connection (evaluation.http_connection: a light client, so that the load generator
    takes little of the CPU the server needs), take calls off it. A call that waited longer than
    ``timeout`` past its due time is not sent and counts as an error ("late"), so an overloaded
    server drains in bounded time. The connections are opened before the clock starts.
    """
    queue: asyncio.Queue[Call | None] = asyncio.Queue()
    outcomes: list[Outcome] = []
    url = urlsplit(base)
    conns = [KeepAliveConnection(url.hostname or "127.0.0.1", url.port or 80) for _ in range(connections)]
    await asyncio.gather(*(c.connect() for c in conns))
    start = time.perf_counter()

    async def dispatch() -> None:
        for call in calls:
            delay = start + call.due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(call)
        for _ in range(connections):
            queue.put_nowait(None)

    async def sender(conn: KeepAliveConnection) -> None:
        try:
            while (call := await queue.get()) is not None:
                late = time.perf_counter() - start - call.due
                if late > timeout:
                    outcomes.append(Outcome(call.endpoint, late * 1000, late * 1000, "late", end_s=late + call.due))
                    continue
                outcomes.append(await _send(conn, call, start, timeout))
        finally:
            await conn.close()

    tasks = [asyncio.create_task(dispatch())] + [asyncio.create_task(sender(c)) for c in conns]
    horizon = (calls[-1].due if calls else 0.0) + 2 * timeout + 5
    _done, pending = await asyncio.wait(tasks, timeout=horizon)
    for task in pending:
        task.cancel()
    answered = len(outcomes)
    if answered < len(calls):  # cut off at the horizon: still queued or in flight
        seen = Counter(o.endpoint for o in outcomes)
        for endpoint, n in Counter(c.endpoint for c in calls).items():
            outcomes += [Outcome(endpoint, horizon * 1000, 0.0, "unanswered", end_s=horizon)] * (n - seen[endpoint])
    return outcomes, time.perf_counter() - start


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    arr = np.asarray(values)
    return {**{f"p{q}_ms": round(float(np.percentile(arr, q)), 1) for q in (50, 95, 99)}, "max_ms": round(float(arr.max()), 1)}


def summarize(outcomes: list[Outcome], duration: float) -> dict:
    """Per endpoint and overall: requests, answered/s, latency, errors by kind.

    Sustained rate = answered requests / the time until the last of them ended (at least the
    scheduled duration): a server that falls behind finishes late, and its rate shows it.
    """
    def block(items: list[Outcome]) -> dict:
        ok = [o for o in items if o.error is None]
        span = max([duration] + [o.end_s for o in ok])
        return {
            "requests": len(items),
            "ok": len(ok),
            "errors": len(items) - len(ok),
            "errors_by_kind": dict(Counter(o.error for o in items if o.error)),
            "sustained_rps": round(len(ok) / span, 1),
            **_percentiles([o.latency_ms for o in ok]),
        }

    out = {"overall": block(outcomes)}
    for endpoint in sorted({o.endpoint for o in outcomes}):
        out[endpoint] = block([o for o in outcomes if o.endpoint == endpoint])
    out["client_lag"] = _percentiles([o.lag_ms for o in outcomes if o.error not in ("unanswered", "late")])
    return out


def _process_cpu(pid: int | str) -> tuple[str, float]:
    """A process's name and user+system CPU seconds, from /proc/PID/stat (raises OSError when gone).

    The name is in parentheses and may itself hold spaces or parentheses, so the fields are
    counted from the last ")": utime and stime are fields 14 and 15 of the whole line.
    """
    head, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
    fields = rest.split()
    return head.partition("(")[2], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of a process and its descendants (Linux /proc)."""
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        try:
            total += _process_cpu(p)[1]
            stack += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def _database_cpu_seconds() -> float:
    """user+system CPU seconds of this machine's PostgreSQL processes (0 without one): with
    ``--database-url`` on loopback the database shares the cores, and its work is part of the cost."""
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            name, seconds = _process_cpu(proc.name)
        except (OSError, IndexError, ValueError):
            continue
        total += seconds if name == "postgres" else 0.0
    return total


def _database_url(work: Path, database_url: str | None) -> str:
    """Where the server keeps alerts, audit records and keys: the given URL, or the work dir's SQLite."""
    return database_url or f"sqlite:///{work / 'leian.db'}"


def start_server(work: Path, workers: int, log: Path, database_url: str | None = None,
                 threads: int | None = None) -> tuple[subprocess.Popen, str]:
    """``leian serve --workers N [--threads T]`` on a free loopback port; returns once every worker answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "service.cli", "serve", "--data-dir", str(work), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)] + (["--threads", str(threads)] if threads else [])
    env = {**os.environ, "LEIAN_DATABASE_URL": _database_url(work, database_url)}
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
        # every worker loads the index before it accepts connections and then logs this line; start
        # only when all have, or the first one ready would get every keep-alive connection
        ready = log.read_text(encoding="utf-8", errors="replace").count("Application startup complete")
        try:
            if ready >= workers and httpx.get(f"{base}/healthz", timeout=60).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"server workers not all ready within 300 s; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _stored_refs(work: Path, run: str, database_url: str | None = None) -> set[str]:
    """case_refs of this run's assessments in the database."""
    engine = make_engine(_database_url(work, database_url))
    try:
        with engine.connect() as conn:
            query = select(assessments.c.case_ref).where(assessments.c.case_ref.like(f"{run}-%"))
            return {ref for (ref,) in conn.execute(query)}
    finally:
        engine.dispose()


def _start_profilers(supervisor: int, out: Path, duration: float) -> list[subprocess.Popen]:
    """py-spy (if installed) samples each worker process during the measured load, into ``out``."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print(f"load_test: --profile needs py-spy ({spy} not found: pip install py-spy)", file=sys.stderr)
        return []
    out.mkdir(parents=True, exist_ok=True)
    workers = [int(c) for c in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
               if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()] or [supervisor]
    return [subprocess.Popen([str(spy), "record", "-p", str(w), "-d", str(int(duration)), "-r", "50", "-f", "raw",
                              "--nonblocking", "-o", str(out / f"worker-{w}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in workers]


def python_speed_ms(repeats: int = 3) -> float:
    """Milliseconds of a fixed pure-Python loop (best of ``repeats``): this machine's speed right now.

    Why: the virtual machine's speed changes from hour to hour (the same loop took 76 to 125 ms
    within one session, with nothing else running), and LeiAn's per-request work is mostly Python,
    so a load figure is comparable with another only beside this reading.
    """
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def run(shared: Path, work: Path, *, workers: int, rate: float, duration: float, assess_share: float,
        timeout: float, warmup: float, seed: int, profile: Path | None = None,
        database_url: str | None = None, threads: int | None = None, connections: int = MAX_CONNECTIONS) -> dict:
    corpus, queries = cail_split(load_cail_pooled(shared / "cail2018_sample"))
    build_corpus(corpus, work)
    run_id = "load-" + uuid.uuid4().hex[:8]
    log = work / f"{run_id}-server.log"
    speed_before = python_speed_ms()
    proc, base = start_server(work, workers, log, database_url, threads)
    try:
        if warmup > 0:  # every worker loads the index and warms its caches before the measured part
            warm = schedule(queries, rate=min(rate, 40.0), duration=warmup, assess_share=assess_share, seed=seed + 1,
                            run=run_id + "w")
            asyncio.run(drive(base, warm, timeout=timeout))
        calls = schedule(queries, rate=rate, duration=duration, assess_share=assess_share, seed=seed, run=run_id)
        profilers = _start_profilers(proc.pid, profile, duration) if profile else []
        load_before = os.getloadavg()
        cpu_server = _tree_cpu_seconds(proc.pid)
        cpu_database = _database_cpu_seconds()
        cpu_client = resource.getrusage(resource.RUSAGE_SELF)
        outcomes, wall = asyncio.run(drive(base, calls, timeout=timeout, connections=connections))
        cpu_server = _tree_cpu_seconds(proc.pid) - cpu_server
        cpu_database = _database_cpu_seconds() - cpu_database
        after = resource.getrusage(resource.RUSAGE_SELF)
        load_after = os.getloadavg()
        for profiler in profilers:
            profiler.wait(timeout=60)
    finally:
        stop_server(proc)
    speed_after = python_speed_ms()
    answered = {o.ref for o in outcomes if o.recorded}
    stored = _stored_refs(work, run_id, database_url)
    result = summarize(outcomes, duration)
    return {
        "command": "python -m evaluation.load_test " + " ".join(sys.argv[1:]),
        "target": {"rate_rps": rate, "duration_s": duration, "workers": workers, "threads_per_worker": threads or Settings.model_fields["request_threads"].default,
                   "assess_share": assess_share, "connections": connections,
                   "distinct_drafts": len(queries), "timeout_s": timeout},
        "index": {"corpus": "CAIL2018 sample, pooled 80 % split", "cases": len(corpus)},
        "results": result,
        # every assessment the API answered must be a row; rows of requests the client gave up on may exist too
        "alerts": {"assessments_with_proposal_answered": len(answered), "rows_stored": len(stored),
                   "answered_but_missing": len(answered - stored), "alerts_answered": sum(o.alert for o in outcomes),
                   "all_stored": answered <= stored},
        "cpu_seconds": {"server": round(cpu_server, 1), "postgresql": round(cpu_database, 1),
                        "client": round(after.ru_utime + after.ru_stime - cpu_client.ru_utime - cpu_client.ru_stime, 1),
                        "wall": round(wall, 1),
                        "server_ms_per_request": round(cpu_server * 1000 / max(len(calls), 1), 2)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after],
                    # lower is faster; see python_speed_ms
                    "python_loop_ms_before": speed_before, "python_loop_ms_after": speed_after},
        "server_log": str(log),
    }


def targets_met(result: dict, *, rate: float, p99_ms: float) -> list[str]:
    """The targets a run missed, in words (empty when all are met)."""
    overall = result["results"]["overall"]
    missed = []
    if overall["sustained_rps"] < 0.98 * rate:
        missed.append(f"sustained {overall['sustained_rps']} req/s < target {rate}")
    if overall["errors"]:
        missed.append(f"{overall['errors']} errors ({overall['errors_by_kind']})")
    if overall["p99_ms"] is None or overall["p99_ms"] > p99_ms:
        missed.append(f"p99 {overall['p99_ms']} ms > {p99_ms} ms")
    if not result["alerts"]["all_stored"]:
        missed.append(f"{result['alerts']['answered_but_missing']} answered assessments missing from the database")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_CAIL_DIR.parent, help="the shared data folder")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="where the corpus build is kept and reused")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="request threads per worker (leian serve --threads)")
    parser.add_argument("--rate", type=float, default=200.0, help="target requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load")
    parser.add_argument("--assess-share", type=float, default=0.5, help="share of /v1/assess among the requests")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, and for draining at the end")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of unmeasured load first")
    parser.add_argument("--p99-ms", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--note", default=None, help="e.g. 'machine shared with other work'")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", type=Path, default=None, help="sample each worker with py-spy into this folder")
    parser.add_argument("--connections", type=int, default=MAX_CONNECTIONS,
                        help="the client's keep-alive connections, spread over the workers")
    parser.add_argument("--database-url", default=None,
                        help="the server's database for alerts, audit records and keys (default: SQLite in --work)")
    args = parser.parse_args(argv)
    if not (args.data_dir / "cail2018_sample").is_dir():
        print(f"load_test: {args.data_dir / 'cail2018_sample'} not found: the load test runs on the real CAIL "
              "sample (../shared/data); nothing was measured", file=sys.stderr)
        return 2
    if args.rate <= 0 or args.duration <= 0 or args.workers < 1:
        parser.error("--rate and --duration must be positive and --workers at least 1")
    try:
        result = run(args.data_dir, args.work, workers=args.workers, rate=args.rate, duration=args.duration,
                     assess_share=args.assess_share, timeout=args.timeout, warmup=args.warmup, seed=args.seed,
                     profile=args.profile, database_url=args.database_url, threads=args.threads,
                     connections=args.connections)
    except SourceError as exc:
        print(f"load_test: {exc}", file=sys.stderr)
        return 2
    result["note"] = args.note
    result["missed_targets"] = targets_met(result, rate=args.rate, p99_ms=args.p99_ms)
    emit_json(result, args.out)
    return 1 if args.check and result["missed_targets"] else 0


if __name__ == "__main__":
    sys.exit(main())

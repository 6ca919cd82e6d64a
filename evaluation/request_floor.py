"""Server CPU per request of the cheapest kinds of request: what the fixed parts of a request cost alone.

Why: a search or assessment costs ~9 ms of server CPU on this machine, of which the search or
assessment work is ~6 ms; the rest is spread over the HTTP stack, the caller's check, validation,
the audit record and its commit. Requests that stop at each stage tell those parts apart:

- a POST to ``/healthz`` (a GET route): HTTP, uvicorn and the middleware stack, nothing recorded;
- a POST to ``/v1/alerts/0`` (no such method): the same, plus the request's audit record and its commit;
- a ``/v1/search`` body of the wrong type: plus resolving the caller and validating the body (422);
- a ``/v1/search`` of one short real draft: the whole path on the smallest real work.

One ``leian serve --workers 1`` process answers ``--n`` requests of each kind, a few at a time over
keep-alive connections; its CPU is read from ``/proc`` per thread: the event loop (the main thread)
and the others (the request thread, the writer thread). Run: ``python -m evaluation.request_floor
[--work DIR] [--n 2000]``; ``--work`` is a data dir with a build (default: the load test's CAIL
build, made from ``../shared/data`` on first use; exit 2 without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_split, load_cail_pooled
from evaluation.http_connection import KeepAliveConnection
from evaluation.load_test import DEFAULT_WORK, _process_cpu, python_speed_ms, start_server, stop_server
from evaluation.output import emit_json
from evaluation.search_benchmark import build_corpus

# the draft of the last kind: a short fact in the style of the CAIL facts (a theft, one item)
SHORT_DRAFT = "被告人张某于2017年5月在某超市盗窃手机一部，价值人民币3000元。"
KINDS: list[tuple[str, str, bytes, int]] = [
    ("http_stack", "/healthz", b"{}", 405),
    ("plus_audit_record", "/v1/alerts/0", b"{}", 405),
    ("plus_caller_and_validation", "/v1/search", b'{"text": 123}', 422),
    ("short_search", "/v1/search", json.dumps({"text": SHORT_DRAFT, "k": 10}, ensure_ascii=False).encode("utf-8"), 200),
]


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds of each thread of ``pid`` (threads that ended are not counted)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = _process_cpu(f"{pid}/task/{task.name}")[1]  # the same stat format per thread
        except OSError:  # the thread ended meanwhile
            continue
    return out


async def _send(port: int, path: str, body: bytes, n: int, connections: int) -> Counter:
    conns = [KeepAliveConnection("127.0.0.1", port) for _ in range(connections)]
    await asyncio.gather(*(c.connect() for c in conns))
    statuses: Counter = Counter()

    async def one_connection(conn: KeepAliveConnection, count: int) -> None:
        for _ in range(count):
            statuses[(await conn.post(path, body)).status] += 1

    share = [n // connections + (i < n % connections) for i in range(connections)]
    await asyncio.gather(*(one_connection(c, k) for c, k in zip(conns, share, strict=True)))
    for conn in conns:
        await conn.close()
    return statuses


def measure(data_dir: Path, *, n: int, connections: int = 4, database_url: str | None = None) -> list[dict]:
    """Per kind: statuses, and server CPU per request (process, event loop, other threads), in ms."""
    with tempfile.TemporaryDirectory(prefix="leian-floor-") as tmp:
        proc, base = start_server(data_dir, 1, Path(tmp) / "server.log", database_url)
        port = int(base.rsplit(":", 1)[1])
        try:
            report = []
            for name, path, body, expected in KINDS:
                asyncio.run(_send(port, path, body, max(n // 10, 1), connections))  # warm: caches, pools, threads
                before = thread_cpu_seconds(proc.pid)
                statuses = asyncio.run(_send(port, path, body, n, connections))
                after = thread_cpu_seconds(proc.pid)
                spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
                loop = spent.get(proc.pid, 0.0)
                total = sum(spent.values())
                report.append({
                    "kind": name, "path": path, "expected_status": expected, "statuses": dict(statuses),
                    "process_ms_per_request": round(total * 1000 / n, 3),
                    "event_loop_ms_per_request": round(loop * 1000 / n, 3),
                    "other_threads_ms_per_request": round((total - loop) * 1000 / n, 3),
                })
            return report
        finally:
            stop_server(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_CAIL_DIR.parent, help="the shared data folder")
    parser.add_argument("--work", type=Path, default=None,
                        help="a data dir with a build (default: the load test's CAIL build, made on first use)")
    parser.add_argument("--n", type=int, default=2000, help="requests of each kind")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    work = args.work
    if work is None:
        if not (args.data_dir / "cail2018_sample").is_dir():
            print(f"request_floor: {args.data_dir / 'cail2018_sample'} not found: without --work it measures the "
                  "load test's CAIL build (../shared/data); nothing was measured", file=sys.stderr)
            return 2
        work = DEFAULT_WORK
        corpus, _queries = cail_split(load_cail_pooled(args.data_dir / "cail2018_sample"))
        build_corpus(corpus, work)
    result = {"command": "python -m evaluation.request_floor " + " ".join(sys.argv[1:] if argv is None else argv),
              "python_loop_ms_before": python_speed_ms(), "kinds": measure(work, n=args.n)}
    result["python_loop_ms_after"] = python_speed_ms()
    emit_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

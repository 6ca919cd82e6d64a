"""Audit-log append cost: one transaction per record vs the server's group commit, SQLite and PostgreSQL.

Why it matters: the hash chain serializes appends across every server process, so the commit rate
bounds how many audited requests per second the service can answer. ``THREADS`` threads append
concurrently, like request threads of a busy server.

Run ``python -m evaluation.audit_bench [--records 600] [--postgres URL]``; prints JSON. PostgreSQL
is measured in a scratch database created and dropped on the server at ``--postgres`` (default the
local one); pass ``--postgres off`` to skip it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from indexing.db import make_engine
from service import audit
from service.write_queue import WriteQueue

THREADS = 16
ENTRY = {"actor": "bench", "role": "judge", "action": "search", "target": "/v1/search", "request_hash": "0" * 64,
         "request_size": 100, "status": 200}


def _throughput(engine: Engine, records: int, append_one: Callable[[], object]) -> float:
    per_thread = records // THREADS

    def work() -> None:
        for _ in range(per_thread):
            append_one()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    assert audit.verify(engine).ok
    return round(per_thread * THREADS / seconds, 1)


def measure(engine: Engine, records: int) -> dict[str, float]:
    writes = WriteQueue(engine)
    return {
        "one_transaction_per_record_per_s": _throughput(engine, records, lambda: audit.append(engine, **ENTRY)),
        "group_commit_per_s": _throughput(engine, records, lambda: writes.write("audit", ENTRY)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    out: dict[str, object] = {"threads": THREADS, "records": args.records}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = measure(make_engine(f"sqlite:///{Path(tmp) / 'leian.db'}"), args.records)
    if args.postgres != "off":
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"leian_audit_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            engine = make_engine(args.postgres.rsplit("/", 1)[0] + "/" + name)
            out["postgresql"] = measure(engine, args.records)
            engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

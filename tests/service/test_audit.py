"""The audit log on SQLite and PostgreSQL: chained appends, tampering detected, no query texts, API and CLI records."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import DBAPIError

from indexing.db import assessments, audit_head, audit_log, make_engine
from service import audit
from service.audit import canonical_request, record_hash
from service.config import Settings
from service.main import create_app
from tests.conftest import SAMPLES
from tests.service.conftest import Built, Keyed, live_server


def _fill(engine: Engine, n: int = 5) -> None:
    for i in range(n):
        audit.append(engine, actor=f"k{i}", role="judge", action="search", target="/v1/search",
                     request_hash=hashlib.sha256(str(i).encode()).hexdigest(), request_size=i, status=200)


def _drop_guards(engine: Engine) -> None:
    """What an attacker with DDL rights does first: drop the append-only triggers."""
    drops = (["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete"]
             if engine.dialect.name == "sqlite" else
             ["DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log", "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log"])
    with engine.begin() as conn:
        for statement in drops:
            conn.execute(text(statement))


def _sql(engine: Engine, statement: str) -> None:
    """Tamper with the log by raw SQL, the database's own guards removed."""
    _drop_guards(engine)
    with engine.begin() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"])
def test_the_database_refuses_to_change_or_delete_records(engine: Engine, statement: str) -> None:
    _fill(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert audit.verify(engine).ok and audit.verify(engine).records == 2


def test_appends_form_a_chain_that_verifies(engine: Engine) -> None:
    assert audit.verify(engine).ok and audit.verify(engine).records == 0
    _fill(engine)
    verdict = audit.verify(engine)
    assert verdict.ok and verdict.records == verdict.last_seq == 5
    rows = audit.list_records(engine, limit=10)
    assert [r["seq"] for r in rows] == [5, 4, 3, 2, 1]
    assert rows[-1]["prev_hash"] == audit.GENESIS and rows[0]["hash"] == verdict.last_hash
    assert all(r["prev_hash"] == rows[i + 1]["hash"] for i, r in enumerate(rows[:-1]))
    assert [r["actor"] for r in audit.list_records(engine, actor="k2")] == ["k2"]


def test_an_edited_record_is_found(engine: Engine) -> None:
    _fill(engine)
    _sql(engine, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    verdict = audit.verify(engine)
    assert not verdict.ok and verdict.broken_seq == 3 and "edited" in verdict.reason
    assert verdict.records == 2


def test_an_edited_status_with_its_hash_recomputed_is_found_at_the_next_record(engine: Engine) -> None:
    _fill(engine)
    with engine.connect() as conn:
        row = dict(conn.execute(audit_log.select().where(audit_log.c.seq == 2)).mappings().one())
    row["status"] = 403
    forged = record_hash(row)
    _sql(engine, f"UPDATE audit_log SET status = 403, hash = '{forged}' WHERE seq = 2")
    verdict = audit.verify(engine)
    assert not verdict.ok and verdict.broken_seq == 3 and "does not follow" in verdict.reason


def test_a_deleted_record_is_found(engine: Engine) -> None:
    _fill(engine)
    _sql(engine, "DELETE FROM audit_log WHERE seq = 2")
    verdict = audit.verify(engine)
    assert not verdict.ok and verdict.broken_seq == 2 and "missing" in verdict.reason


def test_deleting_the_newest_records_is_found(engine: Engine) -> None:
    _fill(engine)
    _sql(engine, "DELETE FROM audit_log WHERE seq >= 4")
    verdict = audit.verify(engine)
    assert not verdict.ok and verdict.broken_seq == 4 and "deleted from the end" in verdict.reason


def test_reordered_records_are_found(engine: Engine) -> None:
    _fill(engine)
    _sql(engine, "UPDATE audit_log SET seq = 100 WHERE seq = 2")
    _sql(engine, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    _sql(engine, "UPDATE audit_log SET seq = 3 WHERE seq = 100")
    verdict = audit.verify(engine)
    assert not verdict.ok and verdict.broken_seq == 2


def test_a_consistently_rewritten_chain_is_caught_by_an_anchor(engine: Engine) -> None:
    _fill(engine)
    anchor = (3, audit.list_records(engine, limit=10)[2]["hash"])
    _drop_guards(engine)
    with engine.begin() as conn:  # an attacker with write access rewrites seq 2 and every hash after it
        rows = [dict(r) for r in conn.execute(audit_log.select().order_by(audit_log.c.seq)).mappings()]
        rows[1]["actor"] = "nobody"
        for i, row in enumerate(rows):
            row["prev_hash"] = rows[i - 1]["hash"] if i else audit.GENESIS
            row["hash"] = record_hash(row)
            conn.execute(audit_log.update().where(audit_log.c.seq == row["seq"]).values(**row))
        conn.execute(audit_head.update().values(seq=rows[-1]["seq"], hash=rows[-1]["hash"]))
    assert audit.verify(engine).ok  # undetectable from inside the database alone ...
    verdict = audit.verify(engine, anchor=anchor)  # ... but not against a head noted earlier
    assert not verdict.ok and verdict.broken_seq == 3 and "anchor" in verdict.reason


def test_concurrent_appends_keep_one_unbroken_chain(engine: Engine) -> None:
    def work(worker: int) -> None:
        for i in range(15):
            audit.append(engine, actor=f"w{worker}", role="judge", action="search", target=None,
                         request_hash="0" * 64, request_size=i, status=200)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = audit.verify(engine)
    assert verdict.ok and verdict.records == 90


def test_appends_from_several_processes_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leian.db'}"
    make_engine(url).dispose()
    code = ("import sys; from indexing.db import make_engine; from service import audit\n"
            "e = make_engine(sys.argv[1])\n"
            "for i in range(25): audit.append(e, actor='p', role='admin', action='x', target=None, "
            "request_hash='0'*64, request_size=i, status=200)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, url]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    verdict = audit.verify(make_engine(url))
    assert verdict.ok and verdict.records == 100


def _drunk_driving() -> str:
    with (SAMPLES / "lecard_v1_sample.jsonl").open(encoding="utf-8") as fh:
        return next(json.loads(line)["q"] for line in fh if json.loads(line)["crime"] == ["危险驾驶罪"])


def _dump(database_url: str) -> list[dict]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(audit_log.select().order_by(audit_log.c.seq)).mappings()]
    engine.dispose()
    return rows


def test_api_requests_are_recorded_with_hash_and_size_but_never_the_text(keyed: Keyed) -> None:
    query = _drunk_driving()
    body = {"text": query, "k": 3}
    before = len(_dump(keyed.database_url))
    with httpx.Client(base_url=keyed.base, timeout=60) as c:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        ok = c.post("/v1/search", content=raw, headers={**keyed.headers("judge"), "Content-Type": "application/json"})
        denied = c.post("/v1/assess", json={"text": query}, headers=keyed.headers("litigant"))
        anonymous = c.post("/v1/expectations", json={"text": query})
        c.get("/v1/alerts", headers=keyed.headers("manager"))  # a read: not audited
    assert (ok.status_code, denied.status_code, anonymous.status_code) == (200, 403, 401)
    rows = _dump(keyed.database_url)[before:]
    assert len(rows) == 3, rows
    judge_id = keyed.keys["judge"].split("_")[1]
    litigant_id = keyed.keys["litigant"].split("_")[1]
    assert [(r["actor"], r["role"], r["action"], r["status"]) for r in rows] == [
        (judge_id, "judge", "search", 200), (litigant_id, "litigant", "assess", 403), ("unauthenticated", None, "expectations", 401)]
    assert rows[0]["request_size"] == len(raw)
    assert rows[0]["request_hash"] == hashlib.sha256(canonical_request("POST", "/v1/search", "", raw)).hexdigest()
    dump = repr(_dump(keyed.database_url))
    pieces = [query[i:i + 8] for i in range(0, len(query) - 8, 8)]
    assert not [p for p in pieces if p in dump], "query text found in the audit log"
    engine = make_engine(keyed.database_url)
    assert audit.verify(engine).ok
    engine.dispose()


def test_alert_changes_are_recorded(keyed: Keyed) -> None:
    with httpx.Client(base_url=keyed.base, timeout=60) as c:
        made = c.post("/v1/assess", headers=keyed.headers("judge"), json={
            "text": _drunk_driving(), "charges": ["危险驾驶"], "proposed": {"type": "fixed_term", "months": 60}})
        alert_id = made.json()["alert_id"]
        done = c.patch(f"/v1/alerts/{alert_id}", headers=keyed.headers("manager"), json={"resolution": "justified"})
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "test manager"
    last = _dump(keyed.database_url)[-1]
    assert (last["action"], last["target"], last["role"], last["status"]) == ("alert.update", f"/v1/alerts/{alert_id}", "manager", 200)


def _leian(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LEIAN_DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "service.cli", *args, "--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=300, env={**env, "PYTHONIOENCODING": "utf-8"}, check=False)


def test_cli_ingest_and_key_changes_are_recorded_and_verify_finds_tampering(tmp_path: Path) -> None:
    assert _leian("ingest", str(SAMPLES / "lecard_v1_sample.jsonl"), "-q", "--json", data_dir=tmp_path).returncode == 0
    key_id = _leian("keys", "create", "--role", "judge", data_dir=tmp_path).stdout.strip().split("_")[1]
    assert _leian("keys", "revoke", key_id, data_dir=tmp_path).returncode == 0
    listed = _leian("audit", "list", "--json", data_dir=tmp_path)
    rows = [json.loads(x) for x in listed.stdout.splitlines()]
    assert [(r["action"], r["role"], r["status"]) for r in rows] == [("key.revoke", "admin", 0), ("key.create", "admin", 0),
                                                                      ("ingest", "admin", 0)]
    assert all(r["actor"].startswith("cli") for r in rows) and rows[1]["target"] == key_id
    ok = _leian("audit", "verify", data_dir=tmp_path)
    assert ok.returncode == 0 and "intact: 3 record(s)" in ok.stdout
    head = ok.stdout.strip().split("head ")[1]
    assert _leian("audit", "verify", "--anchor", head, data_dir=tmp_path).returncode == 0

    engine = make_engine(f"sqlite:///{tmp_path / 'leian.db'}")
    _sql(engine, "UPDATE audit_log SET target = 'elsewhere' WHERE seq = 1")
    engine.dispose()
    broken = _leian("audit", "verify", data_dir=tmp_path)
    assert broken.returncode == 1 and "broken at seq 1" in broken.stderr and "edited" in broken.stderr


@pytest.mark.parametrize("anchor", ["3", "x:abc", "2:" + "0" * 10])
def test_verify_rejects_a_malformed_anchor(tmp_path: Path, anchor: str) -> None:
    done = _leian("audit", "verify", "--anchor", anchor, data_dir=tmp_path)
    assert done.returncode == 2 and "--anchor" in done.stderr


def test_an_assessment_row_and_its_audit_record_are_one_transaction(built: Built, tmp_path: Path) -> None:
    """A row the database refuses fails the request (500) with nothing of it stored but a 500 record;
    a stored row comes with its request's audit record, and the chain verifies throughout."""
    url = f"sqlite:///{tmp_path / 'leian.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:  # the database itself refuses one court's rows
        conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON assessments WHEN NEW.court = '拒收法院' "
                          "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
    body = {"text": _drunk_driving(), "charges": ["危险驾驶"], "proposed": {"type": "fixed_term", "months": 60}}
    commits: list[int] = []
    app = create_app(Settings(data_dir=built.data_dir, database_url=url))
    event.listen(app.state.engine, "commit", lambda _conn: commits.append(1))
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as c:
        refused = c.post("/v1/assess", json={**body, "court": "拒收法院", "case_ref": "refused"})
        before = len(commits)
        stored = c.post("/v1/assess", json={**body, "court": "收录法院", "case_ref": "stored"})
        after = len(commits)
    assert refused.status_code == 500 and stored.status_code == 200, (refused.text, stored.text)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "audit log" in refused.json()["detail"] and "alert_id" not in refused.text
    assert after - before == 1, "the row and its audit record were committed in one transaction"
    with engine.connect() as conn:
        refs = list(conn.execute(select(assessments.c.case_ref, assessments.c.id)).all())
    assert refs == [("stored", stored.json()["alert_id"])]
    assert [(r["action"], r["status"]) for r in _dump(url)] == [("assess", 500), ("assess", 200)]
    assert audit.verify(engine).ok
    engine.dispose()

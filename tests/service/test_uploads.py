"""Court uploads end to end on a live server, on SQLite and PostgreSQL: real judgments from data_samples
uploaded by a clerk as exchange records (not yet anonymized), a bad batch, the quarantine, provenance
in the hash-chained audit log, a correction that supersedes, and an admin build that serves the
uploads without a restart.

The store is data_samples without judge_second_instance.jsonl; those three real judgments are what
the clerk uploads (under the source ``court-upload``, so their case ids are new to the served index
too). One of them is also in judge_sample.jsonl: the upload says which case it duplicates.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from indexing.db import audit_log, case_versions, make_engine, upload_quarantine
from indexing.exchange import to_exchange
from indexing.extract import extract
from indexing.parse import parse_file
from indexing.pipeline import ingest
from indexing.schema import RawJudgment, make_case_id
from service import audit
from service.config import Settings
from service.keys import Role, create_key
from service.main import create_app
from tests.conftest import DB_KINDS, SAMPLES
from tests.service.conftest import Built, copy_of, live_server

UPLOADED = SAMPLES / "judge_second_instance.jsonl"
SOURCE = "court-upload"
DEFENDANTS = ("徐佐斌", "张华蕊", "张德来")  # read off the three judgments' facts: one defendant each


def _raw(path: Path) -> list[RawJudgment]:
    return [r for r in parse_file(path) if isinstance(r, RawJudgment)]


def exchange_records() -> list[dict]:
    """The second-instance judgments as a court would send them: extracted, not anonymized."""
    records = []
    for raw in _raw(UPLOADED):
        record = json.loads(to_exchange(extract(raw)).model_dump_json(exclude_none=True))
        records.append({**record, "source": SOURCE})
    return records


def sent_sha256(record: object) -> str:
    """What the uploader computes: SHA-256 of the record as canonical JSON."""
    raw = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class Court:
    base: str
    database_url: str
    keys: dict[str, str]  # name -> secret
    key_ids: dict[str, str]
    state: dict  # what earlier tests of the module found (module order is the workflow's order)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="module", params=DB_KINDS)
def court(
    request: pytest.FixtureRequest, built: Built, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Court]:
    """A live server on a copy of the built index, its store the samples without the judgments uploaded here."""
    data = copy_of(built, tmp_path_factory.mktemp("court"))
    cleanup = None
    if request.param == "sqlite":
        url = f"sqlite:///{data.data_dir / 'court.db'}"
    else:
        base = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex[:8]}"
        setup = create_engine(base, isolation_level="AUTOCOMMIT")
        with setup.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with setup.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            setup.dispose()

    engine = make_engine(url)
    sources = [
        p for p in sorted(SAMPLES.iterdir()) if p.is_file() and p != UPLOADED and p.name != "README.md"
    ]
    report = ingest(sources, engine, data.data_dir / "quarantine", progress=False)
    assert report.stored > 1000, report.to_dict()
    keys, ids = {}, {}
    for who, role in (
        ("clerk", Role.clerk),
        ("clerk2", Role.clerk),
        ("manager", Role.manager),
        ("admin", Role.admin),
        ("judge", Role.judge),
    ):
        key, secret = create_key(engine, role=role, name=f"{who} of the test court")
        keys[who], ids[who] = secret, key.id
    engine.dispose()
    settings = Settings(
        data_dir=data.data_dir, database_url=url, rate_limit_per_second=0, upload_max_bytes=2_000_000
    )
    try:
        with live_server(create_app(settings)) as base:
            yield Court(base, url, keys, ids, {})
    finally:
        if cleanup:
            cleanup()


@pytest.fixture(scope="module")
def http(court: Court) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=court.base, timeout=120) as c:
        yield c


def _problem(resp: httpx.Response, status: int, field: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["field"] == field and body["detail"], body
    return body


def test_a_clerk_uploads_real_judgments_and_they_are_anonymized_on_arrival(
    http: httpx.Client, court: Court
) -> None:
    records = exchange_records()
    assert len(records) == 3 and all(
        n in " ".join(r["facts"] for r in records) for n in DEFENDANTS
    )  # as sent
    good = records[0]
    bad = [
        {k: v for k, v in good.items() if k != "facts"},  # missing field
        {
            **good,
            "source_id": "wrong-type",
            "outcome": {"type": "fixed_term", "months": "八个月"},
        },  # wrong type
        {**good, "source_id": "unknown-field", "法院意见": "x"},
        {**good, "source_id": ""},
    ]
    resp = http.post("/v1/cases", json={"cases": records + bad}, headers=court.headers("clerk"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    accepted = body["accepted"]
    assert [a["index"] for a in accepted] == [0, 1, 2]
    assert [a["case_id"] for a in accepted] == [make_case_id(SOURCE, r["source_id"]) for r in records]
    assert {a["status"] for a in accepted} == {"new"} and {a["version"] for a in accepted} == {1}
    assert [a["sent_sha256"] for a in accepted] == [sent_sha256(r) for r in records]
    # the judgment both sample files hold is in the store already: the upload says so
    duplicates = [a for a in accepted if a["duplicate_of"]]
    assert len(duplicates) == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (3, "facts"),
        (4, "outcome.months"),
        (5, "法院意见"),
        (6, "source_id"),
    ]
    assert all(r["reason"] for r in body["rejected"])

    engine = make_engine(court.database_url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(case_versions.c.case_id, case_versions.c.record).where(
                case_versions.c.batch_id == body["batch_id"]
            )
        ).all()
    engine.dispose()
    assert len(stored) == 3
    for _case_id, record in stored:
        facts = record["facts"]
        assert "某" in facts and not [n for n in DEFENDANTS if n in facts], facts[:200]
    court.state.update(
        batch=body["batch_id"], accepted=accepted, records=records, bad=bad, duplicate=duplicates[0]
    )


def test_bad_batches_are_refused_naming_the_field(http: httpx.Client, court: Court) -> None:
    record = {"schema_version": "1.0", "source": SOURCE, "source_id": "x", "facts": "被告人张某盗窃财物。"}
    clerk = court.headers("clerk")
    _problem(http.post("/v1/cases", json={"cases": [record] * 501}, headers=clerk), 422, "cases")
    _problem(http.post("/v1/cases", json={"cases": []}, headers=clerk), 422, "cases")
    _problem(http.post("/v1/cases", json={"cases": ["not a record"]}, headers=clerk), 422, "cases.0")
    _problem(http.post("/v1/cases", json={"records": [record]}, headers=clerk), 422, "cases")
    big = {**record, "facts": "被告人张某盗窃财物。" * 80_000}  # ~2.4 MB over this server's 2 MB upload limit
    _problem(http.post("/v1/cases", json={"cases": [big]}, headers=clerk), 413, "body")
    # a NUL character (which PostgreSQL refuses in text) is refused naming where it is, and kept
    nul = http.post("/v1/cases", json={"cases": [{**record, "court": "某某\x00法院"}]}, headers=clerk)
    assert nul.status_code == 200 and [(r["field"], r["index"]) for r in nul.json()["rejected"]] == [
        ("court", 0)
    ], nul.text
    # a judge's or a manager's key does not upload
    for who in ("judge", "manager"):
        _problem(
            http.post("/v1/cases", json={"cases": [record]}, headers=court.headers(who)), 403, "Authorization"
        )


def test_refused_records_are_kept_in_quarantine_as_sent(http: httpx.Client, court: Court) -> None:
    batch = court.state["batch"]
    resp = http.get("/v1/cases/quarantine", params={"batch_id": batch}, headers=court.headers("manager"))
    assert resp.status_code == 200, resp.text
    rows = sorted(resp.json()["data"], key=lambda r: r["item"])
    assert [(r["item"], r["field"]) for r in rows] == [
        (3, "facts"),
        (4, "outcome.months"),
        (5, "法院意见"),
        (6, "source_id"),
    ]
    assert {r["uploaded_by"] for r in rows} == {court.key_ids["clerk"]} and all(
        r["at"] and r["reason"] for r in rows
    )
    assert [r["sent_sha256"] for r in rows] == [sent_sha256(b) for b in court.state["bad"]]
    assert "record" not in rows[0]  # not anonymized: kept in the store, not served
    engine = make_engine(court.database_url)
    with engine.connect() as conn:
        kept = (
            conn.execute(
                select(upload_quarantine.c.record)
                .where(upload_quarantine.c.batch_id == batch)
                .order_by(upload_quarantine.c.item)
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert kept == court.state["bad"]  # nothing the clerk sent is lost
    _problem(http.get("/v1/cases/quarantine", headers=court.headers("clerk")), 403, "Authorization")


def test_provenance_names_the_uploader_and_the_audit_log_binds_it(http: httpx.Client, court: Court) -> None:
    first = court.state["accepted"][0]
    resp = http.get(f"/v1/cases/{first['case_id']}/provenance", headers=court.headers("manager"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (
        body["uploaded_by"] == court.key_ids["clerk"] and body["uploader_name"] == "clerk of the test court"
    )
    assert body["origin"] == "upload" and body["current_version"] == 1 and body["corrections"] == []
    version = body["versions"][0]
    assert (
        version["sent_sha256"] == first["sent_sha256"] and version["stored_sha256"] == first["stored_sha256"]
    )
    engine = make_engine(court.database_url)
    with engine.connect() as conn:
        entry = (
            conn.execute(select(audit_log).where(audit_log.c.seq == version["audit_seq"])).mappings().one()
        )
    assert (
        entry["actor"] == court.key_ids["clerk"]
        and entry["role"] == "clerk"
        and entry["action"] == "case.upload"
    )
    assert entry["request_hash"] == first["sent_sha256"]
    assert first["case_id"] in entry["target"] and first["stored_sha256"] in entry["target"]
    assert audit.verify(engine).ok
    engine.dispose()
    _problem(
        http.get(f"/v1/cases/{first['case_id']}/provenance", headers=court.headers("clerk")),
        403,
        "Authorization",
    )
    missing = http.get("/v1/cases/0000000000000000/provenance", headers=court.headers("admin"))
    assert missing.status_code == 404 and "0000000000000000" in missing.json()["detail"]


def test_a_correction_supersedes_and_keeps_the_old_version(http: httpx.Client, court: Court) -> None:
    # a judgment only this upload holds (correcting the duplicate would make it one no more)
    original = next(
        r
        for r, a in zip(court.state["records"], court.state["accepted"], strict=True)
        if not a["duplicate_of"]
    )
    corrected = {**original, "facts": original["facts"] + "另查明，被告人到案后如实供述自己的罪行。"}
    resp = http.post("/v1/cases", json={"cases": [corrected, original]}, headers=court.headers("clerk2"))
    # the same case twice in one batch: the second is refused, naming why
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(a["index"], a["status"], a["version"], a["supersedes"]) for a in body["accepted"]] == [
        (0, "corrected", 2, 1)
    ]
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "source_id")]
    case_id = body["accepted"][0]["case_id"]
    again = http.post("/v1/cases", json={"cases": [corrected]}, headers=court.headers("clerk2")).json()
    assert [(a["status"], a["version"]) for a in again["accepted"]] == [("unchanged", 2)]

    prov = http.get(f"/v1/cases/{case_id}/provenance", headers=court.headers("admin")).json()
    assert [(v["version"], v["uploaded_by"], v["current"], v["superseded_by"]) for v in prov["versions"]] == [
        (1, court.key_ids["clerk"], False, 2),
        (2, court.key_ids["clerk2"], True, None),
    ]
    assert [c["version"] for c in prov["corrections"]] == [2] and prov["uploaded_by"] == court.key_ids[
        "clerk"
    ]

    # a correction of a case `leian ingest` stored: its ingested record becomes version 1 and stays
    ingested = next(r for r in _raw(SAMPLES / "judge_sample.jsonl"))
    fixed = json.loads(to_exchange(extract(ingested)).model_dump_json(exclude_none=True))
    fixed["facts"] += "另查明，被告人系初犯。"
    resp = http.post("/v1/cases", json={"cases": [fixed]}, headers=court.headers("clerk"))
    assert [(a["status"], a["version"]) for a in resp.json()["accepted"]] == [("corrected", 2)], resp.text
    prov = http.get(
        f"/v1/cases/{make_case_id('judge', ingested.source_id)}/provenance", headers=court.headers("admin")
    ).json()
    assert [(v["version"], v["origin"]) for v in prov["versions"]] == [(1, "ingest"), (2, "upload")]
    court.state.update(ingested_id=prov["case_id"])

    engine = make_engine(court.database_url)
    with engine.connect() as conn:
        kept = conn.execute(
            select(case_versions.c.version, case_versions.c.record)
            .where(case_versions.c.case_id == case_id)
            .order_by(case_versions.c.version)
        ).all()
    assert [v for v, _ in kept] == [1, 2] and kept[0][1]["facts"] != kept[1][1]["facts"]
    with engine.connect() as conn:  # the database itself refuses to remove a version
        with pytest.raises(Exception, match="append-only"):
            conn.execute(case_versions.delete().where(case_versions.c.case_id == case_id))
            conn.commit()
    engine.dispose()
    court.state.update(corrected_id=case_id, corrected_facts=corrected["facts"])


def test_an_admin_build_serves_the_uploads_without_a_restart(http: httpx.Client, court: Court) -> None:
    judge = court.headers("judge")
    new_id = court.state["corrected_id"]
    assert http.get(f"/v1/cases/{new_id}", headers=judge).status_code == 404  # not served before the build
    _problem(http.post("/v1/admin/build", headers=court.headers("clerk")), 403, "Authorization")
    started = http.post("/v1/admin/build", headers=court.headers("admin"))
    assert started.status_code == 202 and started.json()["state"] == "running", started.text
    busy = http.post("/v1/admin/build", headers=court.headers("admin"))
    assert busy.status_code in (409, 202), busy.text  # 202 only if the first already finished
    if busy.status_code == 409:
        assert (
            busy.headers["content-type"].startswith("application/problem+json")
            and "already running" in busy.text
        )
    deadline = time.monotonic() + 600
    while (state := http.get("/v1/admin/build", headers=court.headers("admin")).json())["state"] == "running":
        assert time.monotonic() < deadline, state
        time.sleep(1)
    assert state["state"] == "succeeded", state
    assert state["version"]
    while (
        case := http.get(f"/v1/cases/{new_id}", headers=judge)
    ).status_code == 404:  # loaded in the background
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert case.status_code == 200 and case.json()["index_version"] == state["version"]
    assert case.json()["facts"].endswith("另查明，被告人到案后如实供述自己的罪行。")  # the newest version
    hits = http.post(
        "/v1/search", json={"text": court.state["corrected_facts"], "k": 5}, headers=judge
    ).json()
    assert new_id in [h["case_id"] for h in hits["results"]]
    # of the judgment uploaded twice (judge_sample and this upload) one copy is indexed
    duplicate = court.state["duplicate"]
    served = [
        http.get(f"/v1/cases/{cid}", headers=judge).status_code
        for cid in (duplicate["case_id"], duplicate["duplicate_of"])
    ]
    assert sorted(served) == [200, 404], served
    # embedded by the incremental build: the uploads it indexes, and the ingested case whose facts the
    # correction changed (its old vector would otherwise go on serving the old facts)
    uploads = [
        http.get(f"/v1/cases/{a['case_id']}", headers=judge).status_code for a in court.state["accepted"]
    ]
    assert state["added"] == uploads.count(200) + 1, (state, uploads)
    fixed = http.get(f"/v1/cases/{court.state['ingested_id']}", headers=judge).json()
    assert fixed["facts"].endswith("另查明，被告人系初犯。")

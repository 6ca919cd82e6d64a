"""The case store: SQLAlchemy tables and engine, SQLite by default and PostgreSQL by URL.

Each case is stored as its full anonymized ``CaseRecord`` (JSON) plus the scalar columns that
filters, statistics and the quality passes query. Writes are upserts keyed by ``case_id`` so that
re-ingesting a source is idempotent, and each batch commits as one transaction so that an
interrupted ingest leaves every case either fully present or absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    false,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from indexing.schema import CaseRecord, Quarantined

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("source", String(32), nullable=False, index=True),
    Column("source_id", String(200), nullable=False),
    Column("case_type", String(16), nullable=False),
    Column("court", String(200)),
    Column("court_level", String(16)),
    Column("province", String(32)),
    Column("year", Integer, index=True),
    Column("case_number", String(100), index=True),
    Column("procedure", String(32)),
    Column("charges", Text, nullable=False, default=""),  # '|盗窃罪|诈骗罪|' for LIKE filters
    Column("outcome_type", String(32), index=True),
    Column("months", Float),
    Column("content_hash", String(40), index=True),
    Column("duplicate_of", String(32)),
    Column("near_duplicate_of", String(32)),
    Column("overturned", Boolean, nullable=False, default=False),
    Column("superseded", Boolean, nullable=False, default=False),
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("record", JSON, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

# Each case's MinHash LSH band keys (indexing.quality.minhash_bands), written with the case: the
# near-duplicate pass reads candidates sharing a (band, key) from here, so it never holds the corpus.
minhash_bands = Table(
    "minhash_bands",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("band", Integer, primary_key=True),
    Column("key", LargeBinary(64), nullable=False),
    Index("ix_minhash_bands_band_key", "band", "key"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False, index=True),
    Column("source", String(32), nullable=False),
    Column("location", Text, nullable=False),
    Column("field", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

statutes = Table(
    "statutes",
    metadata,
    Column("law", String(200), primary_key=True),
    Column("number_text", String(64), primary_key=True),
    Column("number", Integer, index=True),
    Column("text", Text, nullable=False),
    Column("effective_date", String(10)),
    Column("status", String(32)),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("report", JSON),
)


# API keys (service/keys.py): only the SHA-256 of each key is stored, never the key itself.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),  # public key id, also the prefix of the key
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("name", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Append-only, hash-chained audit log (service/audit.py); ``audit_head`` holds the last seq and
# hash so that deleting the newest records is detected too.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False, index=True),  # ISO 8601 UTC, microseconds: hashed as stored
    Column("actor", String(64), nullable=False, index=True),
    Column("role", String(16)),
    Column("action", String(32), nullable=False, index=True),
    Column("target", String(500)),
    Column("request_hash", String(64), nullable=False),
    Column("request_size", Integer, nullable=False),
    Column("status", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

# Assessments with a proposed sentence and the alerts among them (service/store.py reads and writes them).
assessments = Table(
    "assessments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("court", String(200), index=True),
    Column("judge_id", String(100)),
    Column("case_ref", String(200)),
    Column("charge", String(100), index=True),  # main charge, for grouping
    Column("charges", JSON, nullable=False),
    Column("proposed", JSON, nullable=False),
    Column("proposed_months", Float),
    Column("expected", JSON, nullable=False),
    Column("level", String(16), nullable=False, index=True),
    Column("reasons", JSON, nullable=False),
    Column("threshold", JSON),
    Column("index_version", String(64)),
    # alert workflow (only meaningful for alerts: level in ALERT_LEVELS, or outside the statutory range)
    Column("status", String(16), index=True),  # open / acknowledged
    Column("resolution", String(16)),  # justified / corrected
    Column("resolution_note", Text),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(100)),
    # the proposal leaves the statutory range (超出法定刑幅度): an alert of its own (migration 0002)
    Column("outside_statutory", Boolean, nullable=False, default=False, server_default=false(), index=True),
    Column("statutory", JSON),
)

# Cases uploaded through the API (POST /v1/cases, indexing/uploads.py): every version of each, kept.
# ``cases`` holds the newest; a correction adds a version here and never removes one (the database
# refuses UPDATE and DELETE on this table, migration 0003). ``origin`` is "upload", or "ingest" for the
# record an ingest had stored when its first correction arrived. Each upload's audit record (audit_seq)
# binds the uploader's key to the SHA-256 of the record as sent and as stored.
case_versions = Table(
    "case_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("batch_id", String(40), index=True),
    Column("uploaded_by", String(64), index=True),  # API key id (or "local", "cli:<user>")
    Column("role", String(16)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("sent_sha256", String(64)),  # of the record as the uploader sent it (canonical JSON)
    Column("stored_sha256", String(64), nullable=False),  # of the anonymized record stored (canonical JSON)
    Column("audit_seq", Integer),
    Column("record", JSON, nullable=False),  # the anonymized CaseRecord of this version
    UniqueConstraint("case_id", "version", name="uq_case_versions_case_id_version"),
)

# Uploaded records that were refused, as sent (not anonymized: nothing an uploader sent is lost, and
# the admin can fix and upload them again), with the field, the reason, who sent them and when.
upload_quarantine = Table(
    "upload_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(40), nullable=False, index=True),
    Column("item", Integer, nullable=False),  # the record's index in its batch
    Column("field", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("uploaded_by", String(64), nullable=False, index=True),
    Column("role", String(16)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("sent_sha256", String(64), nullable=False),
    Column("record", JSON, nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

# The database itself refuses to change or remove audit records (beyond the application, which only
# appends): someone must drop these triggers first, and the hash chain still shows what they did.
for _ddl in (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
):
    event.listen(audit_log, "after_create", DDL(_ddl).execute_if(dialect="sqlite"))
for _ddl in (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
):
    event.listen(audit_log, "after_create", DDL(_ddl).execute_if(dialect="postgresql"))


def counts_for_sentencing_sql():  # type: ignore[no-untyped-def]
    """indexing.quality.counts_for_sentencing as a WHERE condition on the cases table."""
    from sqlalchemy import and_

    from indexing.quality import NOT_FOR_SENTENCING

    return and_(*(cases.c[name].is_(None) if name.endswith("_of") else cases.c[name].is_(False)
                  for name in NOT_FOR_SENTENCING))


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'leian.db').resolve()}"


#: Connections each process keeps open (plus as many again under bursts). One engine per process:
#: every ``leian serve`` worker has its own pool, and SQLite serializes their writes itself.
POOL_SIZE = 8
POOL_OVERFLOW = 8


def make_engine(url: str) -> Engine:
    """Create the engine and bring the store's tables to this release (indexing.migrations).

    SQLite gets WAL, so readers never block the writer (the ingest, or another service worker), a
    busy timeout, so concurrent writers from several processes wait their turn instead of failing, and
    ``synchronous=FULL``, so a transaction that returned (an alert the API answered with) survives a
    power cut as well as a killed process. PostgreSQL connections are checked before use, because a
    pooled one may have been closed by a server restart.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, future=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL itself may wait for a lock
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()
    else:
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_pre_ping=True, future=True)

    from indexing.migrations import upgrade

    with engine.begin() as conn:
        upgrade(conn)
    return engine


def _insert(engine: Engine | Connection, table: Table):  # type: ignore[no-untyped-def]
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {engine.dialect.name!r}: use SQLite or PostgreSQL")


def case_row(record: CaseRecord, now: datetime, as_json: dict | None = None) -> dict:
    """The cases row of ``record``; ``as_json``, its ``model_dump(mode="json")`` when the caller has it."""
    outcome = record.outcome
    return {
        "case_id": record.case_id,
        "source": record.source,
        "source_id": record.source_id,
        "case_type": record.case_type.value,
        "court": record.court,
        "court_level": record.court_level,
        "province": record.province,
        "year": record.year,
        "case_number": record.case_number,
        "procedure": record.procedure.value if record.procedure else None,
        "charges": "|" + "|".join(record.charges) + "|" if record.charges else "",
        "outcome_type": outcome.type.value if outcome else None,
        "months": outcome.months if outcome else None,
        "content_hash": record.content_hash,
        "duplicate_of": record.flags.duplicate_of,
        "near_duplicate_of": record.flags.near_duplicate_of,
        "overturned": record.flags.overturned,
        "superseded": record.flags.superseded,
        "synthetic": record.flags.synthetic,
        "record": as_json if as_json is not None else record.model_dump(mode="json"),
        "ingested_at": now,
    }


def existing_records(engine: Engine, case_ids: Sequence[str]) -> dict[str, dict]:
    """The stored JSON of those ids that exist, to tell new, changed and unchanged records apart."""
    if not case_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(cases.c.case_id, cases.c.record).where(cases.c.case_id.in_(list(case_ids))))
        return {cid: rec for cid, rec in rows}  # noqa: C416 - Row objects, not pairs


def upsert_cases(
    engine: Engine,
    records: Sequence[CaseRecord],
    bands: Mapping[str, Sequence[tuple[int, bytes]]] | None = None,
    *,
    dumped: Mapping[str, dict] | None = None,
) -> None:
    """Insert or replace cases in one transaction (all of the batch, or none of it).

    ``bands``: case_id -> its MinHash LSH band keys, replaced in the same transaction, so a case and
    its bands never disagree (a case written without them loses its old ones and gets them from the
    next corpus pass, indexing.corpus_pass.fill_missing_bands).
    ``dumped``: case_id -> the record's JSON, when the caller made it already (it is the costly part).
    """
    if not records:
        return
    with engine.begin() as conn:
        upsert_cases_in(conn, records, bands=bands, dumped=dumped)


def upsert_cases_in(conn: Connection, records: Sequence[CaseRecord], now: datetime | None = None, *,
                    bands: Mapping[str, Sequence[tuple[int, bytes]]] | None = None,
                    dumped: Mapping[str, dict] | None = None) -> None:
    """:func:`upsert_cases` inside the caller's transaction (an upload commits its cases with their audit records)."""
    if not records:
        return
    now = now or datetime.now(UTC)
    rows = [case_row(r, now, (dumped or {}).get(r.case_id)) for r in records]
    stmt = _insert(conn, cases)
    update_cols = {c.name: stmt.excluded[c.name] for c in cases.columns if c.name != "case_id"}
    stmt = stmt.on_conflict_do_update(index_elements=["case_id"], set_=update_cols)
    conn.execute(stmt, rows)
    write_bands(conn, {r.case_id: (bands or {}).get(r.case_id, ()) for r in records})


def write_bands(conn: Connection, bands: Mapping[str, Sequence[tuple[int, bytes]]]) -> None:
    """Replace the LSH band keys of these cases (inside the caller's transaction)."""
    conn.execute(minhash_bands.delete().where(minhash_bands.c.case_id.in_(list(bands))))
    rows = [{"case_id": cid, "band": band, "key": key} for cid, keys in bands.items() for band, key in keys]
    if rows:
        conn.execute(minhash_bands.insert(), rows)


def upsert_statutes(engine: Engine, rows: Sequence[dict]) -> None:
    if not rows:
        return
    stmt = _insert(engine, statutes)
    stmt = stmt.on_conflict_do_update(
        index_elements=["law", "number_text"],
        set_={k: stmt.excluded[k] for k in ("number", "text", "effective_date", "status")},
    )
    # one row per key, or PostgreSQL refuses the statement ("cannot affect row a second time")
    unique = {(r["law"], r["number_text"]): r for r in rows}
    with engine.begin() as conn:
        conn.execute(stmt, list(unique.values()))


def add_quarantined(engine: Engine, run_id: str, items: Iterable[Quarantined]) -> None:
    now = datetime.now(UTC)
    rows = [{"run_id": run_id, "at": now, **q.model_dump()} for q in items]
    if rows:
        with engine.begin() as conn:
            conn.execute(quarantine.insert(), rows)


def iter_cases(engine: Engine, *, batch: int = 1000, include_synthetic: bool = True) -> Iterator[CaseRecord]:
    """All stored cases in case_id order, read in batches so a million cases fit in memory."""
    last = ""
    while True:
        query = select(cases.c.case_id, cases.c.record).where(cases.c.case_id > last).order_by(cases.c.case_id).limit(batch)
        if not include_synthetic:
            query = query.where(cases.c.synthetic.is_(False))
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        for _cid, rec in rows:
            yield CaseRecord.model_validate(rec if isinstance(rec, dict) else json.loads(rec))
        last = rows[-1][0]


def get_case(engine: Engine, case_id: str) -> CaseRecord | None:
    with engine.connect() as conn:
        rec = conn.execute(select(cases.c.record).where(cases.c.case_id == case_id)).scalar_one_or_none()
    return CaseRecord.model_validate(rec) if rec is not None else None


def count_cases(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cases)).scalar_one())


def start_run(engine: Engine, run_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(ingest_runs.insert().values(run_id=run_id, started_at=datetime.now(UTC)))


def finish_run(engine: Engine, run_id: str, report: dict) -> None:
    with engine.begin() as conn:
        conn.execute(
            ingest_runs.update()
            .where(ingest_runs.c.run_id == run_id)
            .values(finished_at=datetime.now(UTC), report=report)
        )


def unfinished_run(engine: Engine) -> dict | None:
    """The newest ingest run when it has not finished (it is still running, or it was killed), else None.

    Its stored cases are complete, but the corpus flags (duplicates, overturned) are only recomputed
    when a run finishes, so an index built now could include duplicates: the build waits for it.
    """
    query = select(ingest_runs.c.run_id, ingest_runs.c.started_at, ingest_runs.c.finished_at)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(ingest_runs.c.started_at.desc()).limit(1)).first()
    if row is None or row.finished_at is not None:
        return None
    return {"run_id": row.run_id, "started_at": row.started_at}

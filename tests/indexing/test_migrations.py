"""Store migrations: a store made by release aa50073 upgrades in place and keeps every record; a new
store's tables are exactly what the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text

from indexing.db import api_keys, assessments, audit_log, cases, make_engine, metadata
from indexing.migrations import BASE_REVISION, head_revision, stored_revision
from service.audit import verify

OLD_STORE = Path(__file__).parent / "data" / "store_aa50073.sqlite"


def _snapshot(engine: Engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {
            "cases": conn.execute(select(cases.c.case_id, cases.c.record).order_by(cases.c.case_id)).all(),
            "assessments": conn.execute(
                select(assessments.c.id, assessments.c.level, assessments.c.status, assessments.c.resolution,
                       assessments.c.reasons).order_by(assessments.c.id)
            ).all(),
            "audit": conn.execute(select(audit_log).order_by(audit_log.c.seq)).all(),
            "keys": conn.execute(select(api_keys.c.id, api_keys.c.key_hash)).all(),
        }


def _raw_snapshot(path: Path) -> dict[str, list]:
    """The old store read with plain SQL, before any code of this release touched it."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return {
            "cases": con.execute("SELECT case_id FROM cases ORDER BY case_id").fetchall(),
            "assessments": con.execute("SELECT id, level, status, resolution FROM assessments ORDER BY id").fetchall(),
            "audit": con.execute("SELECT seq, hash FROM audit_log ORDER BY seq").fetchall(),
        }
    finally:
        con.close()


def test_store_of_release_aa50073_upgrades_and_keeps_every_record(tmp_path: Path) -> None:
    path = tmp_path / "leian.db"
    shutil.copy(OLD_STORE, path)
    before = _raw_snapshot(path)
    assert len(before["cases"]) == 33 and len(before["assessments"]) == 4 and len(before["audit"]) == 4

    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert stored_revision(conn) == head_revision() != BASE_REVISION
        assert not compare_metadata(MigrationContext.configure(conn), metadata)
    after = _snapshot(engine)
    assert [r[0] for r in after["cases"]] == [r[0] for r in before["cases"]]
    assert [tuple(r[:4]) for r in after["assessments"]] == before["assessments"]
    assert [(r.seq, r.hash) for r in after["audit"]] == before["audit"]
    assert len(after["keys"]) == 1
    assert verify(engine).ok
    # rows judged before the statutory check: not outside, no detail
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(assessments.c.outside_statutory.is_(True))).scalar_one() == 0
    # reopening an up-to-date store changes nothing
    engine.dispose()
    again = make_engine(f"sqlite:///{path}")
    assert _snapshot(again) == after
    again.dispose()


def test_a_new_store_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        assert stored_revision(conn) == head_revision()
        assert not compare_metadata(MigrationContext.configure(conn), metadata)


def test_the_audit_log_stays_append_only_after_migration(engine: Engine) -> None:
    from service.audit import append_many

    append_many(engine, [{"actor": "t", "role": "admin", "action": "x", "target": None, "request_hash": "0" * 64,
                          "request_size": 1, "status": 200}])
    with engine.connect() as conn:
        try:
            conn.execute(text("DELETE FROM audit_log"))
            conn.commit()
        except Exception as exc:  # noqa: BLE001 - the database's own refusal is what is tested
            assert "append-only" in str(exc)
        else:
            raise AssertionError("the audit log accepted a DELETE")

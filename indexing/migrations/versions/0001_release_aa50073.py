"""The store of release aa50073, the last one without migrations: every table as ``create_all`` made it.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Written out column by column (not from today's metadata), so that this revision stays what that
release created however the tables change later. The audit log's append-only triggers are part of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_AUDIT_TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ),
}


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("case_type", sa.String(16), nullable=False),
        sa.Column("court", sa.String(200)),
        sa.Column("court_level", sa.String(16)),
        sa.Column("province", sa.String(32)),
        sa.Column("year", sa.Integer),
        sa.Column("case_number", sa.String(100)),
        sa.Column("procedure", sa.String(32)),
        sa.Column("charges", sa.Text, nullable=False),
        sa.Column("outcome_type", sa.String(32)),
        sa.Column("months", sa.Float),
        sa.Column("content_hash", sa.String(40)),
        sa.Column("duplicate_of", sa.String(32)),
        sa.Column("near_duplicate_of", sa.String(32)),
        sa.Column("overturned", sa.Boolean, nullable=False),
        sa.Column("superseded", sa.Boolean, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("ingested_at", _TZ, nullable=False),
    )
    _indexes("cases", "source", "year", "case_number", "outcome_type", "content_hash")
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", _TZ, nullable=False),
    )
    _indexes("quarantine", "run_id")
    op.create_table(
        "statutes",
        sa.Column("law", sa.String(200), primary_key=True),
        sa.Column("number_text", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("effective_date", sa.String(10)),
        sa.Column("status", sa.String(32)),
    )
    _indexes("statutes", "number")
    op.create_table(
        "ingest_runs",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("finished_at", _TZ),
        sa.Column("report", sa.JSON),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100)),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("revoked_at", _TZ),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(500)),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("request_size", sa.Integer, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    _indexes("audit_log", "at", "actor", "action")
    for ddl in _AUDIT_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(ddl)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("court", sa.String(200)),
        sa.Column("judge_id", sa.String(100)),
        sa.Column("case_ref", sa.String(200)),
        sa.Column("charge", sa.String(100)),
        sa.Column("charges", sa.JSON, nullable=False),
        sa.Column("proposed", sa.JSON, nullable=False),
        sa.Column("proposed_months", sa.Float),
        sa.Column("expected", sa.JSON, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("threshold", sa.JSON),
        sa.Column("index_version", sa.String(64)),
        sa.Column("status", sa.String(16)),
        sa.Column("resolution", sa.String(16)),
        sa.Column("resolution_note", sa.Text),
        sa.Column("acknowledged_at", _TZ),
        sa.Column("acknowledged_by", sa.String(100)),
    )
    _indexes("assessments", "created_at", "court", "charge", "level", "status")


def downgrade() -> None:
    raise NotImplementedError("LeiAn stores are never downgraded: restore a backup instead")

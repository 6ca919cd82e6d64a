"""Cases uploaded through the API: every version of each (``case_versions``) and the refused records
(``upload_quarantine``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

A correction adds a version and never removes one: like the audit log, ``case_versions`` refuses
UPDATE and DELETE in the database itself (the application only inserts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_APPEND_ONLY = {
    "sqlite": (
        "CREATE TRIGGER case_versions_no_update BEFORE UPDATE ON case_versions BEGIN SELECT RAISE(ABORT, 'case_versions is append-only'); END",
        "CREATE TRIGGER case_versions_no_delete BEFORE DELETE ON case_versions BEGIN SELECT RAISE(ABORT, 'case_versions is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION case_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'case_versions is append-only'; END $$",
        "CREATE TRIGGER case_versions_append_only BEFORE UPDATE OR DELETE ON case_versions FOR EACH ROW "
        "EXECUTE FUNCTION case_versions_append_only()",
        "CREATE TRIGGER case_versions_no_truncate BEFORE TRUNCATE ON case_versions FOR EACH STATEMENT "
        "EXECUTE FUNCTION case_versions_append_only()",
    ),
}


def upgrade() -> None:
    op.create_table(
        "case_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("batch_id", sa.String(40)),
        sa.Column("uploaded_by", sa.String(64)),
        sa.Column("role", sa.String(16)),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("sent_sha256", sa.String(64)),
        sa.Column("stored_sha256", sa.String(64), nullable=False),
        sa.Column("audit_seq", sa.Integer),
        sa.Column("record", sa.JSON, nullable=False),
        sa.UniqueConstraint("case_id", "version", name="uq_case_versions_case_id_version"),
    )
    for column in ("case_id", "batch_id", "uploaded_by"):
        op.create_index(f"ix_case_versions_{column}", "case_versions", [column])
    op.create_table(
        "upload_quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16)),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("sent_sha256", sa.String(64), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    for column in ("batch_id", "uploaded_by"):
        op.create_index(f"ix_upload_quarantine_{column}", "upload_quarantine", [column])
    for statement in _APPEND_ONLY.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("LeiAn stores are never downgraded: restore a backup instead")

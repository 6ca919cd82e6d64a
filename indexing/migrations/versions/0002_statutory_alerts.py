"""Assessments record whether the proposal leaves the statutory range (超出法定刑幅度), its own alert.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

``outside_statutory`` is independent of the statistical ``level``: a proposal can be lawful and far
from similar cases, or outside the law and close to a few odd ones. ``statutory`` holds the range
and the article it was judged against. Existing rows were judged before this check: false and null.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("outside_statutory", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("statutory", sa.JSON))
        batch.create_index("ix_assessments_outside_statutory", ["outside_statutory"])


def downgrade() -> None:
    raise NotImplementedError("LeiAn stores are never downgraded: restore a backup instead")

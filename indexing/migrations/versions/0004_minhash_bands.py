"""The near-duplicate pass keeps each case's MinHash LSH bands in the store, not in memory.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

``minhash_bands`` holds, per case, the key of each LSH band of its facts (indexing.quality.minhash_bands);
cases sharing a (band, key) are near-duplicate candidates. ``leian ingest`` writes a case's bands with
the case and fills in those of cases stored before this revision on its next run, so existing stores
need nothing done by hand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "minhash_bands",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("band", sa.Integer, primary_key=True),
        sa.Column("key", sa.LargeBinary(64), nullable=False),
    )
    op.create_index("ix_minhash_bands_band_key", "minhash_bands", ["band", "key"])


def downgrade() -> None:
    raise NotImplementedError("LeiAn stores are never downgraded: restore a backup instead")

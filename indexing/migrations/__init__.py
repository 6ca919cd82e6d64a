"""Schema migrations of the case store (Alembic): every table LeiAn keeps, in one history.

``indexing.db.make_engine`` brings a store up to date when it opens it: a new store gets every
revision in order, a store made before migrations existed (release aa50073, whose tables
``create_all`` made) is stamped as the first revision and upgraded from there, and a current one is
left alone after a single query. Nothing is dropped or rewritten: revisions only add.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

#: The first revision: the schema of release aa50073, the last one without migrations.
BASE_REVISION = "0001"
_HERE = Path(__file__).resolve().parent


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str:
    """The newest revision of this release."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def stored_revision(connection: Connection) -> str | None:
    """The store's revision, or None when it has no ``alembic_version`` table."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def upgrade(connection: Connection) -> str | None:
    """Bring the store behind ``connection`` to the head revision; returns the revision it was at.

    The caller commits. A store whose tables exist without a version table was made by release
    aa50073 (``create_all``): it is stamped :data:`BASE_REVISION` first, so its data stays as it is.
    """
    from alembic import command

    before = stored_revision(connection)
    if before == head_revision():
        return before
    cfg = _config(connection)
    if before is None and inspect(connection).has_table("cases"):
        command.stamp(cfg, BASE_REVISION)
        before = BASE_REVISION
    command.upgrade(cfg, "head")
    return before

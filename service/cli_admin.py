"""Administrator commands: ``leian keys`` (create, list, revoke) and ``leian audit`` (verify, list).

Whoever runs the CLI can open the database, so the CLI acts as the admin; every key change, ingest
and build it makes is written to the audit log as ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from service.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

keys_app = typer.Typer(help="API keys: each maps to a role (judge, litigant, manager, admin, clerk); stored hashed.",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)  # an error line stays one line (a path in it is not broken for grep)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where LeiAn keeps its store and indexes [env LEIAN_DATA_DIR; default ./leian-data]")
]


class RoleOption(StrEnum):
    """``service.keys.Role`` for the command line, which imports it (and the database layer) only when used.

    Why a copy: importing service.keys at start-up cost every ``leian`` command 0.25 s, a third of
    a search answered by a running server. tests/service/test_cli.py checks that the two agree.
    """

    judge = "judge"
    litigant = "litigant"
    manager = "manager"
    admin = "admin"
    clerk = "clerk"


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def audit_cli(engine: Engine, *, action: str, target: str | None, payload: Any, status: int) -> None:
    """Record one admin command; ``status`` is its exit code (0 = done)."""
    from service import audit
    from service.keys import Role

    digest, size = audit.request_digest(payload)
    audit.append(engine, actor=cli_actor(), role=Role.admin.value, action=action, target=target,
                 request_hash=digest, request_size=size, status=status)


def _engine(data_dir: Path | None) -> Engine:
    from indexing.db import make_engine

    return make_engine(get_settings(data_dir=data_dir).resolved_database_url())


@keys_app.command("create")
def keys_create(
    role: Annotated[RoleOption, typer.Option("--role", help="judge, litigant, manager, admin or clerk (uploads cases only)")],
    name: Annotated[str | None, typer.Option("--name", help="Who holds the key (shown in alerts and the audit log)")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create a key; its secret is printed once on stdout and stored only as a hash."""
    if name is not None and len(name) > 100:
        err.print("[bold red]error:[/] --name: at most 100 characters")
        raise typer.Exit(2)
    from service.keys import Role, create_key

    engine = _engine(data_dir)
    key, secret = create_key(engine, role=Role(role.value), name=name)
    audit_cli(engine, action="key.create", target=key.id, payload={"id": key.id, "role": role.value, "name": name}, status=0)
    err.print(f"created key {key.id} (role {role.value}{', ' + name if name else ''}); the secret below is shown only "
              "now: send it as `Authorization: Bearer <key>`")
    print(secret)


@keys_app.command("list")
def keys_list(
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """Every key with its role, name, creation and revocation time (never the secret)."""
    from service.keys import list_keys

    rows = list_keys(_engine(data_dir))
    if json_out:
        for k in rows:
            print(json.dumps({"id": k.id, "role": k.role.value, "name": k.name, "created_at": k.created_at.isoformat(),
                              "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} API key(s)")
    for col in ("id", "role", "name", "created", "revoked"):
        table.add_column(col)
    for k in rows:
        table.add_row(k.id, k.role.value, k.name or "", k.created_at.strftime("%Y-%m-%d %H:%M"),
                      k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "")
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (see leian keys list)")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke a key: requests with it get 401 from the next request on."""
    from service.keys import revoke_key

    engine = _engine(data_dir)
    key = revoke_key(engine, key_id=key_id)
    audit_cli(engine, action="key.revoke", target=key_id, payload={"id": key_id}, status=0 if key else 1)
    if key is None:
        err.print(f"[bold red]error:[/] no key {key_id!r} (see leian keys list)")
        raise typer.Exit(1)
    err.print(f"revoked key {key.id} (role {key.role.value})")


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        err.print("[bold red]error:[/] --anchor: expected SEQ:HASH as printed by `leian audit verify`")
        raise typer.Exit(2)
    return int(seq), digest


@audit_app.command("verify")
def audit_verify(
    data_dir: DataDirOpt = None,
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH noted from an earlier verify: detects a rewritten chain")] = None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first broken seq (edited, deleted or reordered records)."""
    from service import audit

    verdict = audit.verify(_engine(data_dir), anchor=_anchor(anchor))
    if not verdict.ok:
        err.print(f"[bold red]audit log broken at seq {verdict.broken_seq}:[/] {verdict.reason} "
                  f"({verdict.records} record(s) before it verified)")
        raise typer.Exit(1)
    print(f"audit log intact: {verdict.records} record(s); head {verdict.last_seq}:{verdict.last_hash}")


@audit_app.command("list")
def audit_list(
    data_dir: DataDirOpt = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor (key id, local, cli:<user>)")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (search, assess, alert.update, key.create …)")] = None,
    since: Annotated[str | None, typer.Option(help="From this UTC date or time on (2026-12-01, 2026-12-01T09:00)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """The newest audit records first (hashes and sizes of requests, never their texts)."""
    from service import audit

    rows = audit.list_records(_engine(data_dir), actor=actor, action=action, since=since, limit=limit)
    if json_out:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} audit record(s), newest first")
    for col in ("seq", "at", "actor", "role", "action", "target", "status", "size", "request sha256"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["seq"]), r["at"][:19], r["actor"], r["role"] or "", r["action"], r["target"] or "",
                      str(r["status"]), str(r["request_size"]), r["request_hash"][:16])
    Console().print(table)

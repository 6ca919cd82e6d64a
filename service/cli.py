"""The one ``leian`` command. Heavy imports live inside commands so ``leian --help`` stays instant."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.config import get_settings

app = typer.Typer(help="LeiAn (类案): similar-case retrieval and sentencing-deviation warnings.", no_args_is_help=True)
err = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where LeiAn keeps its store and indexes [env LEIAN_DATA_DIR; default ./leian-data]")
]


def _engine(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from indexing.db import make_engine

    settings = get_settings(data_dir=data_dir)
    return settings, make_engine(settings.resolved_database_url())


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@app.command()
def ingest(
    sources: Annotated[list[Path], typer.Argument(help="Files or folders; formats are detected from content")],
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    """Read judgments, extract, anonymize, check quality and store them; print the ingest report."""
    from indexing.errors import LeiAnError
    from indexing.pipeline import ingest as run_ingest

    settings, engine = _engine(data_dir)
    try:
        report = run_ingest(sources, engine, settings.data_dir / "quarantine", progress=not quiet)
    except LeiAnError as exc:
        _fail(str(exc))
    if json_out:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        _print_report(report.to_dict())
    if report.unreadable_sources:
        for path, why in report.unreadable_sources.items():
            err.print(f"[bold red]error:[/] {path}: not ingested: {why}")
        raise typer.Exit(1)


def _print_report(rep: dict) -> None:
    console = Console()
    table = Table(title=f"LeiAn ingest report ({rep['run_id']})", show_header=False)
    for key in ("read", "stored", "stored_new", "updated", "unchanged", "rejected", "statutes", "total_in_store"):
        table.add_row(key.replace("_", " "), str(rep[key]))
    table.add_row("flags in store", ", ".join(f"{k.replace('_', ' ')} {rep[k]}" for k in ("exact_duplicates", "near_duplicates", "overturned", "superseded")))
    table.add_row("time", f"{rep['seconds']} s ({rep['docs_per_second']} docs/s)")
    console.print(table)
    for title, key, limit in (
        ("rejected by reason", "rejected_by_reason", 20),
        ("stored by outcome", "by_outcome", 20),
        ("stored by charge (top 15)", "by_charge", 15),
        ("personal information masked", "masked", 20),
    ):
        if rep[key]:
            sub = Table(title=title)
            sub.add_column(key.split("_")[-1])
            sub.add_column("count", justify="right")
            for name, count in list(rep[key].items())[:limit]:
                sub.add_row(name, str(count))
            console.print(sub)
    if rep["quarantine_file"]:
        console.print(f"rejected records with their location and reason: {rep['quarantine_file']}")


@app.command()
def export(data_dir: DataDirOpt = None) -> None:
    """Write every stored case (anonymized, as stored) as JSON lines to stdout."""
    from indexing.db import iter_cases

    _settings, engine = _engine(data_dir)
    out = sys.stdout
    for record in iter_cases(engine):
        out.write(record.model_dump_json() + "\n")


if __name__ == "__main__":
    app()

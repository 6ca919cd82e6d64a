"""``leian report``: a draft's 类案检索报告 written as .docx, answered through the HTTP API as every CLI answer is.

The report is a file, not JSON, so it takes the bytes of :func:`service.cli._post_api_raw`, the same way
to an answer as every CLI command: a running ``leian serve`` that serves this data dir's index (or the
one ``--server`` names), else the app in this process. The
.docx comes from ``POST /v1/reports`` itself, so the CLI and the API cannot give different reports.

service.cli registers the command (:func:`register`) at its end, so this module imports service.cli
only when called, never at import: the options and helpers it reuses are there by then.
No ``from __future__ import annotations`` here: the command's options are service.cli's, resolved
where the command is defined, inside :func:`register`.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

PATH = "/v1/reports"


def post_api_bytes(data_dir: Path | None, path: str, body: dict, server: str | None = None, key: str | None = None) -> bytes:
    """The bytes of an answer that is a file, taken the way every CLI answer is (:func:`service.cli._post_api_raw`);
    an error exits with the problem's detail (and field) as :func:`service.cli._answer_of` words it."""
    from service import cli

    status, content = cli._post_api_raw(data_dir, path, body, server, key)  # no Accept header: the .docx
    if status != 200:
        cli._answer_of(status, content)  # exits
    return content


def register(app: typer.Typer) -> None:
    """Add ``leian report`` to ``app`` (service.cli calls this at its end).

    Under ``python -m service.cli`` the import below loads service.cli a second time (the running copy
    is ``__main__``): that copy registers its own ``report``, and both use the same helpers.
    """
    from service import cli

    @app.command("report")
    def report(
        question: Annotated[str, typer.Option("--question", "-q", help="The legal question the search is for (法律问题)")],
        text: Annotated[str | None, typer.Argument(help="Draft facts; '-' or nothing reads stdin")] = None,
        file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the draft from a UTF-8 file")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="The .docx to write (default: 类案检索报告-<time>.docx in this folder)")] = None,
        charge: Annotated[list[str] | None, typer.Option("--charge", "-c", help="Charge (repeatable)")] = None,
        proposed_type: Annotated[str | None, typer.Option("--type", help="Proposed outcome: fixed_term, detention, … or 有期徒刑, 拘役 …")] = None,
        months: Annotated[float | None, typer.Option(help="Proposed term in months")] = None,
        probation_months: Annotated[float | None, typer.Option("--probation", help="Proposed probation in months")] = None,
        court: Annotated[str | None, typer.Option(help="The court deciding the draft (sets which cases count as its own and the court above)")] = None,
        case_ref: Annotated[str | None, typer.Option("--case-ref", help="The draft's case number")] = None,
        data_dir: cli.DataDirOpt = None,
        server: cli.ServerOpt = None,
        key: cli.KeyOpt = None,
    ) -> None:
        """类案检索报告 (similar-case search report) of a draft as .docx: the similar cases by source tier, the sentencing steps."""
        body: dict = {"text": cli._read_text(text, file), "question": question, "charges": charge or None,
                      "court": court, "case_ref": case_ref}
        if proposed_type:
            body["proposed"] = {"type": proposed_type, "months": months, "probation_months": probation_months}
        data = post_api_bytes(data_dir, PATH, {k: v for k, v in body.items() if v is not None}, server, key)
        target = out or Path(f"类案检索报告-{datetime.now():%Y%m%d-%H%M%S}.docx")
        try:
            target.write_bytes(data)
        except OSError as exc:
            cli._fail(f"cannot write {target}: {exc.strerror or exc}")
        cli.err.print(f"wrote {target} ({len(data):,} bytes)")

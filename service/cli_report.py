"""``leian report``: a draft's 类案检索报告 written as .docx, answered through the HTTP API as every CLI answer is.

The report is a file, not JSON, so :func:`service.cli._post_api` (which reads a JSON answer) has a
variant here that keeps the bytes; it takes the same way to an answer: a running ``leian serve`` that
serves this data dir's index (or the one ``--server`` names), else the app in this process. The
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


def _post_http_bytes(base: str, path: str, body: dict, key: str | None, *, explicit: bool) -> tuple[int, bytes] | None:
    """:func:`service.cli._post_http` keeping the answer's bytes: None (answer in-process instead) when a
    server found by probing cannot answer."""
    import httpx

    from service import cli
    from service.auth import is_loopback

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = f"{base}{path}"
    try:
        # loopback goes direct, never through a proxy the environment names (as service.cli._http)
        with httpx.Client(timeout=cli.ANSWER_TIMEOUT_S, trust_env=not is_loopback(httpx.URL(url).host)) as client:
            resp = client.post(url, json=body, headers=headers)
    except httpx.TransportError as exc:
        if explicit:
            cli._fail(f"{url}: {exc}")
        return None
    if resp.status_code == 401 and not explicit and not key:
        return None  # the server has keys now; this process is the admin of its own data dir
    cli.err.print(f"[dim]answered by the LeiAn server at {base}[/]")
    return resp.status_code, resp.content


def _content_of(status: int, content: bytes) -> bytes:
    """The answer's bytes, or exit with the problem's detail (and field) as :func:`service.cli._answer_of` words it."""
    from service import cli

    if status != 200:
        cli._answer_of(status, content.decode("utf-8", "replace"))  # exits
    return content


def post_api_bytes(data_dir: Path | None, path: str, body: dict, server: str | None = None, key: str | None = None) -> bytes:
    """:func:`service.cli._post_api` for an answer that is a file: its bytes."""
    from service import cli

    settings = cli.get_settings(data_dir=data_dir)
    explicit = server is not None and server.strip().lower() != "off"
    if server is None or explicit:
        base = cli._live_server((server or cli.DEFAULT_SERVER).rstrip("/"), settings.data_dir, explicit=explicit)
        answer = _post_http_bytes(base, path, body, key, explicit=explicit) if base else None
        if answer is not None:
            return _content_of(*answer)
    resp = cli._post_in_process(settings, path, body)  # no Accept header: the .docx
    return _content_of(resp.status_code, resp.content)


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

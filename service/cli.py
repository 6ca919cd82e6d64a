"""The one ``leian`` command. Heavy imports live inside commands so ``leian --help`` stays instant."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from service.cli_admin import audit_app, audit_cli, cli_actor, keys_app
from service.config import Settings, get_settings

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

app = typer.Typer(help="LeiAn (类案): similar-case retrieval and sentencing-deviation warnings.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
err = Console(stderr=True, soft_wrap=True)  # an error line stays one line (a path in it is not broken for grep)

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


INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM (kill, systemd, a container stop) stops ingest and build as Ctrl-C does: cleanly."""
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)


@app.command()
def ingest(
    sources: Annotated[list[Path], typer.Argument(help="Files or folders; formats are detected from content")],
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Cases per transaction (a kill loses at most the batch in progress)")] = 500,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes that extract and anonymize "
                                         "(the store is written by one; results are the same as with 1)")] = 1,
) -> None:
    """Read judgments, extract, anonymize, check quality and store them; print the ingest report."""
    from indexing.errors import LeiAnError
    from indexing.pipeline import ingest as run_ingest

    _stop_cleanly_on_sigterm()

    settings, engine = _engine(data_dir)
    status = 2
    try:
        report = run_ingest(sources, engine, settings.data_dir / "quarantine", progress=not quiet, batch=batch,
                            workers=workers)
        status = 1 if report.unreadable_sources else 0
    except LeiAnError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted again while finishing: every stored case is complete; re-run the same command "
              "to store the rest", INTERRUPTED)
    finally:
        audit_cli(engine, action="ingest", target=" ".join(str(p) for p in sources),
                  payload={"sources": [str(p) for p in sources]}, status=status)
    if json_out:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        _print_report(report.to_dict())
    if report.interrupted:
        _fail(f"interrupted after {report.read} records: the {report.stored} stored are complete and the run "
              "is finished; re-run the same command to store the rest", INTERRUPTED)
    if report.unreadable_sources:
        for path, why in report.unreadable_sources.items():
            err.print(f"[bold red]error:[/] {path}: not ingested: {why}")
        raise typer.Exit(1)


def _print_report(rep: dict) -> None:
    """The ingest report; the case records read add up: stored (new, updated, unchanged) + repeated + rejected."""
    console = Console()
    table = Table(title=f"LeiAn ingest report ({rep['run_id']})", show_header=False)
    table.add_row("case records read", str(rep["read"]))
    for key, words in (("stored_new", "stored new"), ("updated", "updated"), ("unchanged", "unchanged"),
                       ("repeated", "repeated in this run"), ("rejected", "rejected")):
        table.add_row(f"  {words}", str(rep[key]))
    distinct = "" if rep["statutes_distinct"] == rep["statutes"] else f", {rep['statutes_distinct']} distinct"
    files = ", ".join(f"{Path(f).name} {n}" for f, n in rep["statutes_by_file"].items())
    table.add_row("statute articles read", f"{rep['statutes']}{distinct}" + (f" ({files})" if files else ""))
    table.add_row("cases in store", str(rep["total_in_store"]))
    table.add_row("flags in store", ", ".join(f"{k.replace('_', ' ')} {rep[k]}" for k in ("exact_duplicates", "near_duplicates", "overturned", "superseded")))
    table.add_row("time", f"{rep['seconds']} s ({rep['docs_per_second']} docs/s)")
    console.print(table)
    for line in _report_notes(rep):
        console.print(line, markup=False)
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
        # soft_wrap: the path stays whole on one line, to copy or grep, however narrow the terminal
        console.print(f"rejected records with their location and reason: {rep['quarantine_file']}", soft_wrap=True,
                      markup=False)


def _without_facts(source: str, count: int) -> str:
    """Stored records of ``source`` without facts, in words (only case cards pass the quality check so)."""
    from indexing.quality import CARD_SOURCES

    if source in CARD_SOURCES:
        return f"{count} {source} case cards carry no facts text: stored for sentencing statistics, not searchable"
    return f"{count} {source} records carry no facts text: stored, not searchable"


def _report_notes(rep: dict) -> list[str]:
    """What the counts alone leave unexplained: stored cases that search will not find, repeated records."""
    notes = [_without_facts(source, count) + " (leian build indexes the cases with facts)"
             for source, count in rep["without_facts"].items()]
    if rep["repeated"]:
        named = "; ".join(f"{at} (first at {first})" for at, first in rep["repeated_at"].items())
        more = f" and {rep['repeated'] - len(rep['repeated_at'])} more" if rep["repeated"] > len(rep["repeated_at"]) else ""
        notes.append(f"{rep['repeated']} record(s) repeat a case read earlier in this run, stored once: {named}{more}")
    return notes


@app.command()
def export(
    data_dir: DataDirOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="stored: the stored case records; exchange: exchange records "
                                     "(docs/schema/case-1.0.json), which leian ingest reads back")] = "stored",
) -> None:
    """Write every stored case (anonymized, as stored) as JSON lines to stdout."""
    from indexing.db import iter_cases

    if fmt not in {"stored", "exchange"}:
        _fail(f"--format {fmt!r}: expected stored or exchange")
    _settings, engine = _engine(data_dir)
    out = sys.stdout
    if fmt == "stored":
        for record in iter_cases(engine):
            out.write(record.model_dump_json() + "\n")
        return
    from indexing.exchange import to_exchange
    from indexing.quality import CARD_SOURCES

    without_facts: dict[str, int] = {}
    for record in iter_cases(engine):
        if not record.facts or record.source in CARD_SOURCES:
            without_facts[record.source] = without_facts.get(record.source, 0) + 1
            continue
        out.write(to_exchange(record).model_dump_json(exclude_none=True) + "\n")
    for source, count in without_facts.items():
        # an exchange record needs facts; case cards travel as their CSV
        err.print(f"not exported: {count} {source} records without facts text (use --format stored for them)")


@app.command()
def build(
    data_dir: DataDirOpt = None,
    embedder: Annotated[str | None, typer.Option(help="sentence-transformers model name or path [default: train one here]")] = None,
    faiss_spec: Annotated[str | None, typer.Option("--faiss", help="FAISS factory string (Flat, IVF4096,SQ8, HNSW32,Flat …) [default: Flat below 50k cases, IVF-SQ8 above]")] = None,
    incremental: Annotated[bool, typer.Option(help="Only embed cases new since the current index")] = False,
    epochs: Annotated[int | None, typer.Option(help="Embedder training epochs")] = None,
    backend: Annotated[str | None, typer.Option(
        help="Where searches find candidates: faiss (in process) or milvus [default: the current version's]")] = None,
    milvus_uri: Annotated[str | None, typer.Option(
        help="Milvus: a file in the data dir for milvus-lite [default milvus.db] or http://host:19530 "
             "(token from LEIAN_MILVUS_TOKEN)")] = None,
) -> None:
    """Build a new index version from the case store (embedder, FAISS, BM25) and make it current.

    `--backend milvus` also loads the version into a Milvus collection and serves searches from it;
    `--backend faiss` switches back (with --incremental neither re-embeds a case)."""
    from indexing.build import TRAINED, BuildConfig, build_index
    from indexing.errors import LeiAnError

    _stop_cleanly_on_sigterm()

    settings, engine = _engine(data_dir)
    config = BuildConfig(
        data_dir=settings.data_dir,
        embedder=embedder or settings.embedder or TRAINED,
        faiss_spec=faiss_spec,
        incremental=incremental,
        epochs=epochs,
        backend=backend,
        milvus_uri=milvus_uri,
    )
    status = 2
    try:
        path = build_index(engine, config, progress=lambda msg: err.print(f"[cyan]build:[/] {msg}"))
        status = 0
    except LeiAnError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        from indexing.artifacts import current_dir

        try:
            serving = f"version {current_dir(settings.data_dir).name} is still current"
        except LeiAnError:
            serving = "no version was current before it either"
        _fail(f"build interrupted: nothing of it was published, and {serving}", INTERRUPTED)
    finally:
        audit_cli(engine, action="build", target=str(settings.data_dir), payload={
            "embedder": config.embedder, "faiss": faiss_spec, "incremental": incremental, "epochs": epochs,
            "backend": backend, "milvus_uri": milvus_uri}, status=status)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    left_out = not_indexed(engine)
    stored = manifest["cases"] + sum(left_out.values())
    served_by = (f"Milvus collection {manifest['backend']['collection']} at {manifest['backend']['uri']}"
                 if manifest.get("backend") else f"FAISS {manifest['faiss']}")
    err.print(f"[green]built[/] {path}: {manifest['cases']} of {stored} stored cases indexed (embedder "
              f"{manifest['embedder']['name']}, {served_by}, {manifest['seconds']} s)")
    for why in left_out:
        err.print(f"left out: {why}", markup=False)


def not_indexed(engine: Engine) -> dict[str, int]:
    """Stored cases a build leaves out, in words, with their counts: those ``indexing.build.indexable``
    refuses (no facts text, an exact duplicate, synthetic). Counted in SQL: a second pass over the
    records, as the build makes, would cost a million-case store another minute."""
    from sqlalchemy import func, or_, select

    from indexing.db import cases

    facts = cases.c.record["facts"].as_string()
    no_facts = or_(facts.is_(None), facts == "")
    count = select(func.count()).select_from(cases)
    with engine.connect() as conn:
        by_source = conn.execute(select(cases.c.source, func.count()).where(no_facts).group_by(cases.c.source)).all()
        duplicates = conn.scalar(count.where(~no_facts, cases.c.duplicate_of.is_not(None))) or 0
        synthetic = conn.scalar(count.where(~no_facts, cases.c.duplicate_of.is_(None), cases.c.synthetic)) or 0
    out = {_without_facts(source, n): n for source, n in sorted(by_source, key=lambda row: -row[1])}
    if duplicates:
        out[f"{duplicates} exact duplicates of another stored case"] = duplicates
    if synthetic:
        out[f"{synthetic} synthetic (benchmark) cases"] = synthetic
    return out


@app.command("train-embedder")
def train_embedder_cmd(
    out: Annotated[Path, typer.Argument(help="Directory to write the sentence-transformers model to")],
    data_dir: DataDirOpt = None,
    epochs: Annotated[int | None, typer.Option(help="Contrastive polish epochs (0: statistics only)")] = None,
    seed: int = 13,
) -> None:
    """Train LeiAn's in-domain embedder on the stored cases and save it (usable as --embedder OUT)."""
    from indexing.build import indexable
    from indexing.db import iter_cases
    from indexing.train_embedder import train_embedder

    _settings, engine = _engine(data_dir)
    records = [r for r in iter_cases(engine) if indexable(r, include_synthetic=False)]
    if len(records) < 50:
        _fail(f"only {len(records)} stored cases with facts: ingest a corpus first (leian ingest)")
    kwargs = {"epochs": epochs} if epochs is not None else {}
    train_embedder([r.facts for r in records], [r.charges for r in records], [r.articles for r in records],
                   [r.outcome.months if r.outcome else None for r in records], out, seed=seed,
                   dim=min(256, len(records) - 1), **kwargs)
    err.print(f"[green]saved[/] {out} (trained on {len(records)} cases); use it with `leian build --embedder {out}`")


DEFAULT_SERVER = "http://127.0.0.1:8000"
PROBE_TIMEOUT_S = 0.3  # a loopback server answers /healthz in milliseconds; nothing listening fails at once
ANSWER_TIMEOUT_S = 300.0

ServerOpt = Annotated[str | None, typer.Option(
    "--server", envvar="LEIAN_SERVER_URL", show_envvar=True,
    help=f"Answer through this running `leian serve` ('off': in this process) [default: {DEFAULT_SERVER} when it "
         "serves this data dir's current index, else in this process]")]
KeyOpt = Annotated[str | None, typer.Option(
    "--key", envvar="LEIAN_API_KEY", show_envvar=True,
    help="API key for the server, once it has keys (a keyless server on 127.0.0.1 needs none)")]


def _post_api(data_dir: Path | None, path: str, body: dict, server: str | None = None, key: str | None = None) -> dict:
    """Answer a CLI command through the HTTP API, so the CLI and the API cannot drift (see :func:`_post_api_raw`)."""
    return _answer_of(*_post_api_raw(data_dir, path, body, server, key))


def _post_api_raw(data_dir: Path | None, path: str, body: dict, server: str | None = None,
                  key: str | None = None) -> tuple[int, bytes]:
    """The API's status and body bytes for a CLI command (a JSON answer, or a file such as a report).

    A running server answers in milliseconds what this process would need seconds to load for, so
    it is used when it serves this data dir's current index (or is named with ``--server``);
    otherwise the app answers in this process, loading only what the one answer needs.
    """
    settings = get_settings(data_dir=data_dir)
    explicit = server is not None and server.strip().lower() != "off"
    if server is None or explicit:
        base = _live_server((server or DEFAULT_SERVER).rstrip("/"), settings.data_dir, explicit=explicit)
        answer = _post_http(base, path, body, key, explicit=explicit) if base else None
        if answer is not None:
            return answer
    resp = _post_in_process(settings, path, body)
    return resp.status_code, resp.content


def _http(url: str, body: dict | None = None, headers: dict | None = None, timeout: float = ANSWER_TIMEOUT_S) -> tuple[int, bytes]:
    """GET (or POST ``body`` as JSON) with the standard library: a CLI that only talks to a server should
    start fast, and httpx's import alone was a quarter of such a call. Loopback goes direct, never
    through a proxy the environment names."""
    import ipaddress
    import urllib.error
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(url, headers={"Content-Type": "application/json", **(headers or {})},
                                     data=None if body is None else json.dumps(body).encode("utf-8"))
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        direct = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        direct = False
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({})) if direct else urllib.request.build_opener()
    try:
        with opener.open(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _live_server(base: str, data_dir: Path, *, explicit: bool) -> str | None:
    """``base`` if a LeiAn server answers there (and, unless named, serves ``data_dir``'s current index)."""
    status, health = 0, None
    try:
        status, content = _http(f"{base}/healthz", timeout=5.0 if explicit else PROBE_TIMEOUT_S)
        health = json.loads(content) if status == 200 else None
    except (OSError, ValueError):  # refused, timed out, not HTTP, not JSON
        pass
    if explicit:
        if not isinstance(health, dict):
            _fail(f"no LeiAn server answers at {base}/healthz ({f'HTTP {status}' if status else 'no answer'}): "
                  "start one with `leian serve`, or pass --server off to answer in this process")
        return base
    if not isinstance(health, dict) or health.get("index_version") != _current_version(data_dir):
        return None  # another data dir's server, an older build, or no LeiAn at all: answer here
    return base


def _current_version(data_dir: Path) -> str | None:
    from indexing.artifacts import current_dir
    from indexing.errors import ArtifactError

    try:
        return current_dir(data_dir).name
    except ArtifactError:
        return None


def _post_http(base: str, path: str, body: dict, key: str | None, *, explicit: bool) -> tuple[int, bytes] | None:
    """The server's status and body; None (answer in-process instead) when a server found by probing cannot answer."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        status, content = _http(f"{base}{path}", body, headers)
    except OSError as exc:
        if explicit:
            _fail(f"{base}{path}: {exc}")
        return None
    if status == 401 and not explicit and not key:
        return None  # the server has keys now; this process is the admin of its own data dir
    err.print(f"[dim]answered by the LeiAn server at {base}[/]")
    return status, content


def _post_in_process(settings: Settings, path: str, body: dict) -> httpx.Response:
    from fastapi.testclient import TestClient

    from service.deps import IndexHolder
    from service.main import create_app

    app = create_app(settings, local_actor=cli_actor())
    # one answer, then exit: no warm-up, and the models load only if the answer needs them
    app.state.index_holder = IndexHolder(settings.data_dir, one_shot=True)
    return TestClient(app).post(path, json=body)


def _answer_of(status: int, content: bytes) -> dict:
    """The answer's JSON, or exit with the problem's detail (and field) as the API words it."""
    text = content.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if status != 200 or not isinstance(data, dict):
        problem = data if isinstance(data, dict) else {}
        detail = str(problem.get("detail") or text or f"HTTP {status}")
        field = problem.get("field")
        _fail(detail if not field or detail.startswith(field) else f"{field}: {detail}")
    assert isinstance(data, dict)
    return data


def _read_text(text: str | None, file: Path | None) -> str:
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"{file}: cannot read as UTF-8 text: {exc}")
    if text is None or text == "-":
        return sys.stdin.read()
    return text


def _joined(items: Iterable[object]) -> str:
    return "、".join(str(item) for item in items)


def _article_names(articles: list) -> str:
    """刑法 article keys (133, '133之一') as the statute spells them (第一百三十三条之一)."""
    from indexing.law.statute import article_names

    return article_names(articles)


def _number(value: float) -> str:
    return f"{value:,.10g}"


#: Quantity fields (as the API names them) -> how a judge reads them: label and unit.
_QUANTITY_WORDS = {
    "amount_yuan": ("amount", "元"), "drug_grams": ("drugs", "g"), "blood_alcohol_mg_100ml": ("blood alcohol", "mg/100ml"),
    "injuries.deaths": ("deaths", ""), "injuries.serious": ("serious injuries", ""),
    "injuries.minor": ("minor injuries", ""), "injuries.slight": ("slight injuries", ""),
}


def _draft_quantities(quantities: dict | None) -> list[str]:
    q = dict(quantities or {})
    for grade, count in (q.pop("injuries", None) or {}).items():
        q[f"injuries.{grade}"] = count
    parts = [f"drug {q['drug_type']}"] if q.get("drug_type") else []
    for key, (label, unit) in _QUANTITY_WORDS.items():
        if q.get(key):
            parts.append(f"{label} {_number(q[key])} {unit}".strip())
    return parts


def _draft_text(draft: dict) -> str:
    """The draft as the pipeline read it, in words: charges and where they came from, articles, circumstances, amounts."""
    charges = draft.get("charges") or []
    if charges:
        source = draft.get("charges_source") or ""
        predicted = draft.get("predicted_charges") or []
        if source == "predicted" and len(predicted) == 1:
            source += f", {predicted[0]['probability']:.0%}"
        elif source == "predicted" and predicted:
            source += ": " + ", ".join(f"{p['charge']} {p['probability']:.0%}" for p in predicted)
        written = draft.get("charges_as_written") or {}
        if written:
            source += "; written as " + _joined(written[c] for c in charges if c in written)
        parts = [f"{'charge' if len(charges) == 1 else 'charges'} {_joined(charges)} ({source})"]
    else:
        parts = ["no charge given, stated or predicted"]
    if draft.get("articles"):
        parts.append(f"articles {_article_names(draft['articles'])}")
    if draft.get("circumstances"):
        parts.append(f"circumstances {_joined(draft['circumstances'])}")
    parts += _draft_quantities(draft.get("quantities"))
    return "; ".join(parts)


def _why_text(why: dict, terms: int = 8) -> str:
    """Why a case is similar, in words; parts with nothing in them are left out."""
    parts = []
    if why.get("shared_charges"):
        parts.append(f"same {'charge' if len(why['shared_charges']) == 1 else 'charges'} {_joined(why['shared_charges'])}")
    if why.get("shared_articles"):
        parts.append(f"articles {_article_names(why['shared_articles'])}")
    circumstances = _joined(why.get("shared_circumstances") or [])
    only = [f"{side} only: {_joined(why[key])}" for side, key in (("draft", "circumstances_only_in_draft"),
                                                                   ("case", "circumstances_only_in_case")) if why.get(key)]
    if circumstances or only:
        parts.append(" ".join(filter(None, [f"circumstances {circumstances}" if circumstances else "circumstances",
                                            f"({'; '.join(only)})" if only else ""])))
    for key, compared in (why.get("quantities") or {}).items():
        if key == "drug_type":
            parts.append(f"drug {compared['draft']}" + ("" if compared.get("same") else f" vs {compared['case']}"))
            continue
        label, unit = _QUANTITY_WORDS.get(key, (key, ""))
        parts.append(f"{label} {_number(compared['draft'])} vs {_number(compared['case'])} {unit}".strip())
    for element in why.get("elements") or []:  # a civil case's elements (借款本金 …), as the API words them
        sides = [t for t in (element["draft_text"], element["case_text"]) if t is not None]
        verdict = {True: "same", False: "differs", None: "one side only"}[element["same"]]
        parts.append(f"{element['label']} {' vs '.join(sides)} ({verdict})")
    if why.get("key_terms"):
        parts.append(f"terms {_joined(why['key_terms'][:terms])}")
    return "; ".join(parts) or "similar wording only"


def _outcome_text(outcome: dict | None) -> str:
    """A hit's outcome for the terminal; a record that states none (a LeCaRD query's facts) says so."""
    if not outcome or not outcome.get("type"):
        return "outcome not stated"
    parts = [outcome["type"] + (f" {_number(outcome['months'])} months" if outcome.get("months") else "")]
    if outcome.get("probation_months"):
        parts.append(f"probation {_number(outcome['probation_months'])} months")
    if outcome.get("fine_yuan"):
        parts.append(f"fine {_number(outcome['fine_yuan'])} 元")
    return ", ".join(parts)


@app.command()
def search(
    text: Annotated[str | None, typer.Argument(help="Draft facts; '-' or nothing reads stdin")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the draft from a UTF-8 file")] = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="How many similar cases")] = 10,
    charge: Annotated[list[str] | None, typer.Option("--charge", "-c", help="Charge (repeatable)")] = None,
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the API's JSON response")] = False,
    server: ServerOpt = None,
    key: KeyOpt = None,
) -> None:
    """Similar decided cases for a draft, with why each is similar."""
    data = _post_api(data_dir, "/v1/search", {"text": _read_text(text, file), "k": k, "charges": charge or None},
                     server, key)
    if json_out:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console = Console(soft_wrap=True)  # one line per line, also when piped: the terminal wraps, grep sees whole lines
    console.print(f"draft: {_draft_text(data['draft'])}", markup=False)
    for i, hit in enumerate(data["results"], 1):
        head = [f"{i}. {hit['case_id']} score {hit['score']:.3f}", _joined(hit["charges"]) or hit.get("cause") or "no charge",
                _outcome_text(hit["outcome"]), " ".join(filter(None, [hit.get("court"), hit.get("date")]))]
        line = Text(" | ".join(filter(None, head)))
        line.stylize("bold", 0, len(f"{i}. {hit['case_id']}"))
        console.print(line)
        console.print(f"   why: {_why_text(hit['why'])}", markup=False)


@app.command()
def compare(
    draft: Annotated[Path, typer.Argument(help="UTF-8 file with the draft")],
    cases: Annotated[list[Path], typer.Argument(help="UTF-8 files, one submitted case each")],
    data_dir: DataDirOpt = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
) -> None:
    """Score cases submitted by the parties against a draft (JSON on stdout)."""
    body = {"draft": _read_text(None, draft), "cases": [{"id": p.name, "text": _read_text(None, p)} for p in cases]}
    print(json.dumps(_post_api(data_dir, "/v1/compare", body, server, key), ensure_ascii=False, indent=1))


NATIVE_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def one_native_thread_per_process() -> None:
    """One OpenMP/BLAS thread per process, unless the environment says otherwise.

    Why: a server's parallelism is its concurrent requests and workers, and per-call thread pools on
    top of them oversubscribe the cores (a booster's predict measured 42 ms on 1 thread, 360 ms on
    all). The libraries read these variables once, when they load, so this must run before numpy,
    FAISS or torch is imported. It once ran after ``service.main`` was imported: a single-worker
    server's OpenBLAS then kept a second thread, which spun on the other core after every product
    (4.8 ms of CPU per search, more than the search itself).
    """
    import os

    for var in NATIVE_THREAD_VARS:
        os.environ.setdefault(var, "1")


@app.command()
def serve(
    data_dir: DataDirOpt = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each maps the index read-only; page cache shared)")] = 1,
    threads: Annotated[int | None, typer.Option(min=1, max=64, help="Request threads per worker (default 1: the work holds the GIL; scale with --workers)")] = None,
    access_log: Annotated[bool, typer.Option(help="Also log every request line to stderr (the audit trail records them anyway)")] = False,
    build_every: Annotated[float | None, typer.Option(min=0.1, metavar="MINUTES", help="Also run an incremental build every MINUTES when the store changed (uploaded cases are then served without POST /v1/admin/build)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs) on the current index."""
    import os

    one_native_thread_per_process()  # before the imports below load numpy and FAISS
    import uvicorn

    from service.main import create_app

    os.environ["LEIAN_WORKERS"] = str(workers)  # the app divides per-key rate limits among the workers
    os.environ["LEIAN_HOST"] = host
    settings = get_settings(data_dir=data_dir, request_threads=threads)
    _refuse_open_bind(host, settings)
    if workers > 1:
        _refuse_workers_on_milvus_lite(settings.data_dir)
    if build_every:
        _schedule_builds(settings, build_every)
    err.print(f"LeiAn serving {settings.data_dir} on http://{host}:{port} with {workers} worker(s) (docs: /docs)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=access_log)
        return
    # Each worker process builds its own app (own engine and connection pool) from these settings,
    # passed through the environment; the tables are created here once so that workers starting
    # together do not race to create them.
    create_app(settings).state.engine.dispose()
    for name, value in settings.model_dump(exclude_none=True).items():
        os.environ[f"LEIAN_{name.upper()}"] = str(Path(value).resolve()) if name == "data_dir" else str(value)
    uvicorn.run("service.main:create_app", factory=True, workers=workers, host=host, port=port, log_level="info",
                access_log=access_log)


def _schedule_builds(settings, minutes: float) -> None:  # type: ignore[no-untyped-def]
    """A thread of this (the supervising) process that builds every ``minutes`` (service.builds.every)."""
    import threading

    from indexing.db import make_engine
    from service.builds import BuildRunner, every

    runner = BuildRunner(settings.data_dir, make_engine(settings.resolved_database_url()), embedder=settings.embedder)
    threading.Thread(target=every, args=(minutes, runner), kwargs={"stop": threading.Event()}, name="leian-build-schedule",
                     daemon=True).start()
    err.print(f"building every {minutes:g} minutes when the store changed (state: GET /v1/admin/build)")


def _refuse_open_bind(host: str, settings) -> None:  # type: ignore[no-untyped-def]
    """Keyless local mode is for loopback only: any other bind address needs keys first."""
    from indexing.db import make_engine
    from service.auth import is_loopback
    from service.keys import active_keys_exist

    if not is_loopback(host) and not active_keys_exist(make_engine(settings.resolved_database_url())):
        _fail(f"refusing to serve on {host} without API keys: keyless local mode is for 127.0.0.1 only; "
              "create keys first (leian keys create --role judge|litigant|manager|admin|clerk)")


REPO_SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"


DEMO_DRAFT = "lecard_v1_sample.jsonl"
#: A LeCaRD query (交通肇事, 赔偿 and 谅解 stated) whose assessment shows the guideline's steps.
DEMO_STEPS_QUERY = 2361


def _refuse_workers_on_milvus_lite(data_dir: Path) -> None:
    """milvus-lite opens its file in one process: several workers would each fail to open it."""
    import re

    from indexing.artifacts import current_dir, read_manifest
    from indexing.errors import LeiAnError

    try:
        backend = read_manifest(current_dir(data_dir)).get("backend") or {}
    except LeiAnError:
        return  # no index yet: the app says so itself
    if backend.get("kind") == "milvus" and not re.match(r"^[a-z]+://", backend.get("uri", "")):
        _fail(f"the current index is served from milvus-lite ({backend['uri']}), which one process opens at a time: "
              "serve it with --workers 1, or rebuild on a Milvus server (leian build --incremental --backend milvus "
              "--milvus-uri http://host:19530) for several workers")


@app.command()
def demo(
    data_dir: DataDirOpt = None,
    serve_after: Annotated[bool, typer.Option("--serve", help="Serve the API on 127.0.0.1:8000 afterwards")] = False,
) -> None:
    """The main job on the embedded default: ingest the bundled samples, build, search, assess."""
    if not REPO_SAMPLES.is_dir():
        _fail(f"{REPO_SAMPLES} not found: run demo from a LeiAn source checkout")
    ingest([REPO_SAMPLES], data_dir=data_dir, json_out=False, quiet=False)
    build(data_dir=data_dir, embedder=None, faiss_spec=None, incremental=False, epochs=None)
    first = json.loads((REPO_SAMPLES / DEMO_DRAFT).read_text(encoding="utf-8").splitlines()[0])
    # the paragraph is one of the ingested samples, so it finds itself first (with no outcome: a query)
    Console().rule("example search: a real 危险驾驶 fact paragraph from LeCaRD, charge 危险驾驶 given")
    search(text=first["q"], file=None, k=5, charge=["危险驾驶"], data_dir=data_dir, json_out=False)
    Console().rule("example assessment of a proposed sentence: 拘役 5 months")
    assess(text=first["q"], file=None, charge=["危险驾驶"], proposed_type="detention", months=5.0,
           probation_months=None, data_dir=data_dir, json_out=False)
    traffic = next(json.loads(line) for line in (REPO_SAMPLES / DEMO_DRAFT).read_text(encoding="utf-8").splitlines()
                   if json.loads(line)["ridx"] == DEMO_STEPS_QUERY)
    Console().rule("example assessment with no charge given (predicted) and the guideline's steps: 有期徒刑 24 months")
    assess(text=traffic["q"], file=None, charge=None, proposed_type="fixed_term", months=24.0,
           probation_months=None, data_dir=data_dir, json_out=False)
    if serve_after:
        serve(data_dir=data_dir, host="127.0.0.1", port=8000)
    else:
        err.print("next: [bold]leian serve --data-dir ...[/] for the web page at http://127.0.0.1:8000/ and the HTTP API (docs at /docs)")


@app.command()
def assess(
    text: Annotated[str | None, typer.Argument(help="Draft facts; '-' or nothing reads stdin")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the draft from a UTF-8 file")] = None,
    charge: Annotated[list[str] | None, typer.Option("--charge", "-c", help="Charge (repeatable)")] = None,
    proposed_type: Annotated[str | None, typer.Option("--type", help="Proposed outcome: fixed_term, detention, … or 有期徒刑, 拘役 …")] = None,
    months: Annotated[float | None, typer.Option(help="Proposed term in months")] = None,
    probation_months: Annotated[float | None, typer.Option("--probation", help="Proposed probation in months")] = None,
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the API's JSON response")] = False,
    server: ServerOpt = None,
    key: KeyOpt = None,
) -> None:
    """Expected sentence range for a draft and the calibrated deviation of a proposed sentence."""
    body: dict = {"text": _read_text(text, file), "charges": charge or None}
    if proposed_type:
        body["proposed"] = {"type": proposed_type, "months": months, "probation_months": probation_months}
    data = _post_api(data_dir, "/v1/assess", body, server, key)
    if json_out:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console = Console(soft_wrap=True)
    console.print(f"draft: {_draft_text(data['draft'])}", markup=False)
    console.print(f"expected: {_expected_text(data['expected'])}", markup=False)
    if data.get("steps"):
        table = Table("step", "figure", "how", title="the guideline's steps", show_lines=False)
        for step in data["steps"]:
            if step["step"] == "bracket":
                figure = f"{_range(step['range_months'])} months" if step.get("range_months") else "–"
            elif step["step"] == "circumstance" and step.get("change_pct") is not None:
                figure = f"{step['change_pct']:+.0f}%"
            elif step.get("months") is None and step.get("guideline_months"):
                figure = f"{_range(step['guideline_months'])} months (guideline)"  # a starting point the model does not set
            else:
                figure = f"{step['months']:.1f} months" if step.get("months") is not None else "–"
            table.add_row(step["title"], figure, step["text"])
        Console().print(table)
    dev = data["deviation"]
    if dev:
        if (dev.get("statutory") or {}).get("outside"):
            for reason in dev["statutory"]["reasons"]:
                console.print(Text(reason, style="bold red"))
        console.print(Text.assemble("deviation: ", (dev["level"], "bold"), _threshold_text(dev.get("threshold"))))
        statutory = set((dev.get("statutory") or {}).get("reasons") or [])
        for reason in dev["reasons"]:
            if reason not in statutory:
                console.print(f"  - {reason}", markup=False)
        if dev.get("departs_at"):
            console.print(f"departs at: {dev['departs_at']['title']} — {dev['departs_at']['text']}", markup=False)
        if data.get("alert_id"):
            console.print(f"stored as alert {data['alert_id']}")


def _range(bounds: list | None) -> str:
    return f"{bounds[0]:.1f}–{bounds[1]:.1f}" if bounds else "–"


def _expected_text(e: dict) -> str:
    """The expected outcome in words; figures the model does not give (no term for a fine) are left out."""
    parts = [e.get("outcome_type") or "outcome unknown"]
    if e.get("median_months") is not None:
        parts.append(f"median {e['median_months']:.1f} months")
    for level in ("80", "95"):
        if e.get(f"range_{level}"):
            parts.append(f"{level}% range {_range(e[f'range_{level}'])} months")
    basis = [f"from {e['n_neighbours']} similar cases" if e.get("n_neighbours") is not None else "",
             f"calibration group {e['group']}" if e.get("group") else ""]
    basis_text = ", ".join(filter(None, basis))
    return ", ".join(parts) + (f" ({basis_text})" if basis_text else "")


def _threshold_text(th: dict | None) -> str:
    if not th:
        return ""
    parts = [f"threshold group {th['group']}" if th.get("group") else "", f"n={th['n']}" if th.get("n") is not None else "",
             f"measured false-alarm rate {th['measured_false_alarm']:.1%}" if th.get("measured_false_alarm") is not None else ""]
    text = ", ".join(filter(None, parts))
    return f" ({text})" if text else ""


def _plugin_commands() -> None:
    """Commands other packages register under ``leian`` (entry points in the group ``leian.commands``).

    The benchmarks (``leian eval``, ``leian bench``) live in evaluation/, which imports the product and
    never the reverse: they join the CLI this way, when that package is installed.
    """
    from importlib.metadata import entry_points

    for entry in entry_points(group="leian.commands"):
        try:
            register = entry.load()
        except ImportError as exc:  # installed without its extra: say so instead of vanishing
            name, reason = entry.name, str(exc)

            @app.command(name, help=f"(unavailable: {reason})", context_settings={"ignore_unknown_options": True,
                                                                                  "allow_extra_args": True})
            def _missing(name: str = name, reason: str = reason) -> None:
                _fail(f"`leian {name}` needs the evaluation extra: pip install 'leian[eval]' ({reason})")

            continue
        register(app)


from service.cli_report import register as _register_report  # noqa: E402, I001 - it reuses the helpers above
_register_report(app)
_plugin_commands()

if __name__ == "__main__":
    app()

"""The one ``leian`` command. Heavy imports live inside commands so ``leian --help`` stays instant."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.cli_admin import audit_app, audit_cli, cli_actor, keys_app
from service.config import get_settings

app = typer.Typer(help="LeiAn (类案): similar-case retrieval and sentencing-deviation warnings.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
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
) -> None:
    """Read judgments, extract, anonymize, check quality and store them; print the ingest report."""
    from indexing.errors import LeiAnError
    from indexing.pipeline import ingest as run_ingest

    _stop_cleanly_on_sigterm()

    settings, engine = _engine(data_dir)
    status = 2
    try:
        report = run_ingest(sources, engine, settings.data_dir / "quarantine", progress=not quiet, batch=batch)
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


@app.command()
def build(
    data_dir: DataDirOpt = None,
    embedder: Annotated[str | None, typer.Option(help="sentence-transformers model name or path [default: train one here]")] = None,
    faiss_spec: Annotated[str | None, typer.Option("--faiss", help="FAISS factory string: Flat, HNSW32,Flat, IVF1024,PQ32 …")] = None,
    incremental: Annotated[bool, typer.Option(help="Only embed cases new since the current index")] = False,
    epochs: Annotated[int | None, typer.Option(help="Embedder training epochs")] = None,
) -> None:
    """Build a new index version from the case store (embedder, FAISS, BM25) and make it current."""
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
            "embedder": config.embedder, "faiss": faiss_spec, "incremental": incremental, "epochs": epochs}, status=status)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    err.print(f"[green]built[/] {path} ({manifest['cases']} cases, embedder {manifest['embedder']['name']}, "
              f"FAISS {manifest['faiss']}, {manifest['seconds']} s)")


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


def _post_api(data_dir: Path | None, path: str, body: dict) -> dict:
    """Answer a CLI command through the HTTP API in-process, so the CLI and the API cannot drift."""
    from fastapi.testclient import TestClient

    from service.main import create_app

    resp = TestClient(create_app(get_settings(data_dir=data_dir), local_actor=cli_actor())).post(path, json=body)
    if resp.status_code != 200:
        problem = resp.json()
        detail = problem.get("detail", resp.text)
        field = problem.get("field")
        _fail(detail if not field or detail.startswith(field) else f"{field}: {detail}")
    return resp.json()


def _read_text(text: str | None, file: Path | None) -> str:
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"{file}: cannot read as UTF-8 text: {exc}")
    if text is None or text == "-":
        return sys.stdin.read()
    return text


def _outcome_text(outcome: dict | None) -> str:
    """A hit's outcome for the terminal; a record that states none (a LeCaRD query's facts) says so."""
    if not outcome or not outcome.get("type"):
        return "outcome not stated"
    return f"{outcome['type']} {outcome.get('months') or ''}".strip()


@app.command()
def search(
    text: Annotated[str | None, typer.Argument(help="Draft facts; '-' or nothing reads stdin")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the draft from a UTF-8 file")] = None,
    k: int = 10,
    charge: Annotated[list[str] | None, typer.Option("--charge", "-c", help="Charge (repeatable)")] = None,
    data_dir: DataDirOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the API's JSON response")] = False,
) -> None:
    """Similar decided cases for a draft, with why each is similar."""
    data = _post_api(data_dir, "/v1/search", {"text": _read_text(text, file), "k": k, "charges": charge or None})
    if json_out:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console = Console()
    d = data["draft"]
    console.print(f"draft: charges {d['charges']} ({d['charges_source']}), articles {d['articles']}, circumstances {d['circumstances']}")
    for i, hit in enumerate(data["results"], 1):
        outcome = _outcome_text(hit["outcome"])
        console.print(f"[bold]{i}. {hit['case_id']}[/] score {hit['score']:.3f} | {'、'.join(hit['charges'])} | {outcome} | "
                      f"{hit['court'] or ''} {hit['date'] or ''}")
        w = hit["why"]
        console.print(f"   why: charges {w['shared_charges']} articles {w['shared_articles']} "
                      f"circumstances {w['shared_circumstances']} terms {'、'.join(w['key_terms'][:8])}")


@app.command()
def compare(
    draft: Annotated[Path, typer.Argument(help="UTF-8 file with the draft")],
    cases: Annotated[list[Path], typer.Argument(help="UTF-8 files, one submitted case each")],
    data_dir: DataDirOpt = None,
) -> None:
    """Score cases submitted by the parties against a draft (JSON on stdout)."""
    body = {"draft": _read_text(None, draft), "cases": [{"id": p.name, "text": _read_text(None, p)} for p in cases]}
    print(json.dumps(_post_api(data_dir, "/v1/compare", body), ensure_ascii=False, indent=1))


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


def _refuse_open_bind(host: str, settings) -> None:  # type: ignore[no-untyped-def]
    """Keyless local mode is for loopback only: any other bind address needs keys first."""
    from indexing.db import make_engine
    from service.auth import is_loopback
    from service.keys import active_keys_exist

    if not is_loopback(host) and not active_keys_exist(make_engine(settings.resolved_database_url())):
        _fail(f"refusing to serve on {host} without API keys: keyless local mode is for 127.0.0.1 only; "
              "create keys first (leian keys create --role judge|litigant|manager|admin)")


REPO_SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"


DEMO_DRAFT = "lecard_v1_sample.jsonl"
#: A LeCaRD query (交通肇事, 赔偿 and 谅解 stated) whose assessment shows the guideline's steps.
DEMO_STEPS_QUERY = 2361


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
) -> None:
    """Expected sentence range for a draft and the calibrated deviation of a proposed sentence."""
    body: dict = {"text": _read_text(text, file), "charges": charge or None}
    if proposed_type:
        body["proposed"] = {"type": proposed_type, "months": months, "probation_months": probation_months}
    data = _post_api(data_dir, "/v1/assess", body)
    if json_out:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console = Console()
    e = data["expected"]
    def rng(r: list | None) -> str:
        return f"{r[0]:.1f}–{r[1]:.1f}" if r else "–"

    median = f"{e['median_months']:.1f}" if e["median_months"] is not None else "–"
    console.print(f"expected: {e['outcome_type']}, median {median} months, 80% range {rng(e['range_80'])}, "
                  f"95% range {rng(e['range_95'])} (from {e['n_neighbours']} similar cases, calibration group {e['group']})")
    for former_current in (data["draft"].get("charges_as_written") or {}).items():
        console.print("charge: {1} is now {0}".format(*former_current))
    if data.get("steps"):
        table = Table("step", "figure", "how", title="the guideline's steps", show_lines=False)
        for step in data["steps"]:
            if step["step"] == "bracket":
                figure = f"{rng(step['range_months'])} months"
            elif step["step"] == "circumstance":
                figure = f"{step['change_pct']:+.0f}%"
            else:
                figure = f"{step['months']:.1f} months" if step.get("months") is not None else "–"
            table.add_row(step["title"], figure, step["text"])
        console.print(table)
    dev = data["deviation"]
    if dev:
        if (dev.get("statutory") or {}).get("outside"):
            for reason in dev["statutory"]["reasons"]:
                console.print(f"[bold red]{reason}[/]")
        th = dev["threshold"] or {}
        console.print(f"deviation: [bold]{dev['level']}[/] (threshold group {th.get('group')}, n={th.get('n')}, "
                      f"measured false-alarm rate {th.get('measured_false_alarm', 0):.1%})")
        statutory = set((dev.get("statutory") or {}).get("reasons") or [])
        for reason in dev["reasons"]:
            if reason not in statutory:
                console.print(f"  - {reason}")
        if dev.get("departs_at"):
            console.print(f"departs at: {dev['departs_at']['title']} — {dev['departs_at']['text']}")
        if data.get("alert_id"):
            console.print(f"stored as alert {data['alert_id']}")


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


_plugin_commands()

if __name__ == "__main__":
    app()

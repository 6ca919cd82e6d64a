"""The benchmarks' commands, ``leian eval`` and ``leian bench``, registered with the product's CLI.

evaluation/ imports the product, never the reverse: ``service.cli`` finds these through the entry
point group ``leian.commands`` (pyproject.toml), so a product installed without the evaluation extra
has no benchmark code or its dependencies (matplotlib, ranx) on its path, and says so when asked.
``--benchmark-data`` is the shared data folder; ``--data-dir`` stays LeiAn's own data dir everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evaluation.output import git_commit
from evaluation.paths import BENCHMARK_DATA_ENV, DEFAULT_BENCHMARK_DATA
from service.config import get_settings

eval_app = typer.Typer()
err = Console(stderr=True, soft_wrap=True)  # an error line stays one line (a path in it is not broken for grep)

# service.cli imports this module while it is being imported itself (its entry points): its names are
# not taken from it, so the two modules never wait on each other
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Where LeiAn keeps its store and indexes [env LEIAN_DATA_DIR; default ./leian-data]")
]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)

BenchmarkDataOpt = Annotated[
    Path | None,
    typer.Option("--benchmark-data", help=f"The shared benchmark data folder [env {BENCHMARK_DATA_ENV}; default ../shared/data beside the checkout]"),
]


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``bench`` to the ``leian`` app (the entry point ``leian.commands``)."""
    for command in eval_app.registered_commands:
        app.registered_commands.append(command)


@eval_app.command("eval")
def eval_(
    shared: BenchmarkDataOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Where report.json, report.md and the plots go")] = Path("eval-report"),
    quick: Annotated[bool, typer.Option("--quick", help="Subsampled (about 5 minutes on 2 cores), and gated against recorded.json")] = False,
    work: Annotated[Path | None, typer.Option("--work", help="Keep the search benchmark's corpus build here and reuse it")] = None,
    record_: Annotated[bool, typer.Option("--record", help="Rewrite the recorded figures of this mode with this run's")] = False,
    recorded: Annotated[Path | None, typer.Option("--recorded", help="Recorded figures [default evaluation/recorded.json]")] = None,
    qrels: Annotated[Path | None, typer.Option("--qrels", help="Your relevance judgments (LeCaRD JSON or TREC lines): score your built corpus instead")] = None,
    queries: Annotated[Path | None, typer.Option("--queries", help="With --qrels: the queries, JSON lines with id and fact/q/query/text")] = None,
    index_dir: Annotated[Path | None, typer.Option("--index-data-dir", help="With --qrels: the LeiAn data dir holding the built corpus [default LEIAN_DATA_DIR]")] = None,
) -> None:
    """Run every benchmark, write a report with plots, and fail on figures worse than recorded.

    With --qrels and --queries, score your own built corpus instead (ranx metrics per method, TREC run files).
    """
    from evaluation import report as rep

    if qrels or queries:
        _eval_qrels(qrels, queries, index_dir, out)
        return
    data = shared or DEFAULT_BENCHMARK_DATA
    recorded_path = recorded or rep.RECORDED_PATH
    command = "leian eval" + (" --quick" if quick else "") + f" --benchmark-data {data}" + (f" --work {work}" if work else "")
    try:
        figures = rep.collect(data, quick=quick, work=work, log=lambda m: err.print(m), runs_dir=out / "runs")
    except rep.DataMissing as exc:
        _fail(f"{exc}. `leian eval` measures on the real shared data (../shared/data); nothing was measured "
              f"and nothing passes without it. Pass --benchmark-data or set {BENCHMARK_DATA_ENV}.")
    mode = figures["mode"]
    regressions: list = []
    entry = rep.load_recorded(recorded_path).get(mode)
    if record_:
        rep.record(figures, recorded_path)
        err.print(f"recorded {mode}-mode figures in {recorded_path}")
    elif entry:
        regressions = rep.compare(rep.headline(figures), entry["figures"])
    files = rep.write_report(figures, out, command, None if record_ else regressions)
    err.print(f"wall time {figures['seconds']['total']:.1f}s; wrote {', '.join(str(f) for f in files)}")
    if record_:
        return
    if not entry:
        _fail(f"no recorded {mode}-mode figures in {recorded_path}: the gate cannot pass; run with --record first", 1)
    if regressions:
        for r in regressions:
            err.print(f"[bold red]worse than recorded:[/] {r}")
        _fail(f"{len(regressions)} figure(s) worse than recorded ({recorded_path})", 1)
    err.print(f"gate: all {len(entry['figures'])} recorded {mode}-mode figures within tolerance")


def _eval_qrels(qrels: Path | None, queries: Path | None, index_dir: Path | None, out: Path) -> None:
    """``leian eval --qrels --queries``: ranx metrics of every method on a user's labelled corpus."""
    from evaluation import report as rep
    from evaluation.qrels_eval import evaluate_corpus
    from evaluation.trec import TrecFormatError
    from indexing.artifacts import current_dir
    from indexing.errors import LeiAnError

    if not qrels or not queries:
        _fail("--qrels and --queries go together: the judgments and the queries they judge")
    for name, path in (("--qrels", qrels), ("--queries", queries)):
        if not path.is_file():
            _fail(f"{name}: {path} not found")
    settings = get_settings(data_dir=index_dir)
    try:
        result = evaluate_corpus(current_dir(settings.data_dir), qrels, queries, out / "runs")
    except (TrecFormatError, LeiAnError) as exc:
        _fail(str(exc))
    result["git"] = git_commit()
    command = f"leian eval --qrels {qrels} --queries {queries} --index-data-dir {settings.data_dir} --out {out}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({**result, "command": command}, ensure_ascii=False, indent=1) + "\n",
                                     encoding="utf-8")
    (out / "report.md").write_text(rep.render_qrels_markdown(result, command), encoding="utf-8")
    for name, m in result["methods"].items():
        r = m["ranx"]
        err.print(f"{name:22s} ndcg@10 {r['ndcg@10']:.3f}  p@10 {r['p@10']:.3f}  map@100 {r['map@100']:.3f}  "
                  f"mrr@100 {r['mrr@100']:.3f}  recall@100 {r['recall@100']:.3f}")
    err.print(f"wrote {out / 'report.md'}, {out / 'report.json'} and TREC runs in {out / 'runs'}")


@eval_app.command()
def bench(
    data_dir: DataDirOpt = None,
    shared: BenchmarkDataOpt = None,
    sizes: Annotated[str, typer.Option(help="Synthetic corpus sizes, comma-separated (e.g. 10000,100000,1000000)")] = "10000,100000",
    out: Annotated[Path | None, typer.Option(help="Write the JSON here too")] = None,
    load: Annotated[bool, typer.Option("--load", help="Instead: the open-loop load test of `leian serve --workers 2`, 200 req/s for 60 s (evaluation/load_test.py)")] = False,
) -> None:
    """Speed and scale: stage docs/s on real data, latency and bytes per case on synthetic corpora."""
    from evaluation.bench import run as run_bench
    from indexing.errors import LeiAnError

    cail = (shared or DEFAULT_BENCHMARK_DATA) / "cail2018_sample"
    if not cail.is_dir():
        _fail(f"{cail} not found: `leian bench` measures on the real CAIL sample (../shared/data); "
              f"pass --benchmark-data or set {BENCHMARK_DATA_ENV}")
    if load:
        from evaluation.load_test import main as load_test

        raise typer.Exit(load_test(["--benchmark-data", str(cail.parent), *(["--out", str(out)] if out else [])]))
    settings = get_settings(data_dir=data_dir)
    try:
        result = run_bench(settings.data_dir, cail, [int(x) for x in sizes.split(",") if x.strip()])
    except LeiAnError as exc:
        _fail(str(exc))
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)


"""One evaluation report over every measurement, with plots and a regression gate (``leian eval``).

:func:`collect` runs the existing measurements, unchanged: the extraction report
(:func:`evaluation.extraction_report.extraction_figures`), the anonymization report
(:func:`evaluation.anonymization_report.anonymization_figures`), the search benchmark
(:func:`evaluation.search_benchmark.run`) and the sentencing benchmark
(:func:`evaluation.sentencing_benchmark.run`). The quick mode (``--quick``, about 5 minutes on the
2-core machine) changes only how much is measured: every 3rd of the 1,015 search queries, the
embedder without its contrastive polish (``epochs=0``), no 100k synthetic latency / ANN comparison
and no traffic-card suite. Its figures are therefore not the README's; they are compared with the
figures recorded for the same mode in ``evaluation/recorded.json``.

:func:`write_report` writes ``report.json`` (all figures, timestamp, git commit, library versions),
``report.md`` (one table per area with the command behind it) and PNG plots.

:func:`compare` is the gate: every recorded headline figure carries a tolerance and a direction
(``higher_is_better`` or ``lower_is_better``); a figure worse than recorded by more than its
tolerance, or no longer measured, is a regression.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.output import git_commit

REPO = Path(__file__).resolve().parents[1]
RECORDED_PATH = Path(__file__).resolve().parent / "recorded.json"
HIGHER = "higher_is_better"
LOWER = "lower_is_better"
#: What quick mode leaves out or shrinks (the full mode is every benchmark's default).
QUICK = {"search_query_step": 3, "embedder_epochs": 0, "synthetic_100k": False, "sentencing_suites": "cail"}
FULL = {"search_query_step": 1, "embedder_epochs": None, "synthetic_100k": True, "sentencing_suites": "all"}
SEARCH_METHODS = ("dense", "bm25", "hybrid", "dense+given_charges", "bm25+given_charges", "hybrid+given_charges")
TIERS = ("notice", "warning", "severe")
NOMINAL_FALSE_ALARM = {"notice": 0.20, "warning": 0.05, "severe": 0.01}
SUITE_LABELS = {"cail2018": "CAIL2018", "traffic_cards_2019": "traffic cards 2019"}
#: English plot labels for the charge groups, used when no CJK font is installed.
CHARGE_EN = {
    "走私、贩卖、运输、制造毒品罪": "drug trafficking",
    "故意伤害罪": "intentional injury",
    "诈骗罪": "fraud",
    "寻衅滋事罪": "picking quarrels",
    "合同诈骗罪": "contract fraud",
    "危险驾驶罪": "dangerous driving",
    "交通肇事罪": "traffic accident",
    "强奸罪": "rape",
    "生产、销售有毒、有害食品罪": "toxic food",
    "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪": "false VAT invoices",
    "盗窃罪": "theft",
    "滥用职权罪": "abuse of power",
    "抢劫罪": "robbery",
    "故意杀人罪": "intentional homicide",
    "受贿罪": "bribe taking",
    "贪污罪": "embezzlement",
    "容留他人吸毒罪": "sheltering drug use",
    "非法持有毒品罪": "illegal drug possession",
    "开设赌场罪": "running a casino",
    "掩饰、隐瞒犯罪所得、犯罪所得收益罪": "concealing crime proceeds",
}


class DataMissing(Exception):
    """The shared data folder, or a part a measurement needs, is absent."""


# ------------------------------------------------------------------------------------------ collect


def missing_data(data_dir: Path, quick: bool) -> list[str]:
    """The paths under ``data_dir`` that the chosen mode needs and that are absent."""
    needed = ["cail2018_sample", "judge_fulltext", "lecard_queries", "cjrc_passages"]
    if not quick:
        needed.append("traffic_crime_2019")
    if not data_dir.is_dir():
        return [str(data_dir)]
    return [str(data_dir / n) for n in needed if not (data_dir / n).exists()]


def collect(data_dir: Path, *, quick: bool, work: Path | None = None, log: Callable[[str], None] = print,
            runs_dir: Path | None = None) -> dict:
    """Run every measurement and return the figures (see the module docstring for quick mode).

    ``runs_dir`` receives the search benchmark's derived qrels and TREC run files.

    Raises:
        DataMissing: When ``data_dir`` lacks what the mode needs (nothing is run then).
    """
    from evaluation import (
        anonymization_report,
        civil_benchmark,
        extraction_report,
        search_benchmark,
        sentencing_benchmark,
    )
    from indexing.artifacts import library_versions
    from indexing.errors import LeiAnError

    missing = missing_data(data_dir, quick)
    if missing:
        raise DataMissing("shared data not found: " + ", ".join(missing))
    mode = QUICK if quick else FULL
    figures: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "settings": mode,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(),
        "libraries": library_versions(),
        "data_dir": str(data_dir.resolve()),
        "seconds": {},
    }
    start = time.perf_counter()
    scratch = work or Path(tempfile.mkdtemp(prefix="leian-eval-"))
    steps: list[tuple[str, Callable[[], dict]]] = [
        ("extraction", lambda: extraction_report.extraction_figures(data_dir)),
        ("anonymization", lambda: anonymization_report.anonymization_figures(data_dir)),
        ("search", lambda: search_benchmark.run(
            data_dir, scratch, synthetic=mode["synthetic_100k"], query_step=mode["search_query_step"],
            epochs=mode["embedder_epochs"], runs_dir=runs_dir)),
        # the sentencing benchmark's CAIL suite reuses the search benchmark's corpus build in ``scratch``
        ("sentencing", lambda: sentencing_benchmark.run(
            data_dir, suite=mode["sentencing_suites"], work=scratch, epochs=mode["embedder_epochs"])),
        # civil similar cases (CJRC passages): /v1/compare on cause triplets, /v1/search on same-cause qrels
        ("civil", lambda: civil_benchmark.run(data_dir, scratch / "civil", quick=quick)),
    ]
    try:
        for name, step in steps:
            log(f"eval: {name} …")
            t = time.perf_counter()
            try:
                figures[name] = _finite(step())
            except LeiAnError as exc:
                raise DataMissing(f"{name}: {exc}") from exc
            figures["seconds"][name] = round(time.perf_counter() - t, 1)
            log(f"eval: {name} done in {figures['seconds'][name]:.1f}s")
    finally:
        if work is None:
            shutil.rmtree(scratch, ignore_errors=True)
    figures["seconds"]["total"] = round(time.perf_counter() - start, 1)
    return figures


def _finite(value: Any) -> Any:
    """NaN/inf -> None and tuples -> lists, so the report is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------ gate


def _get(figures: dict, path: tuple[str, ...]) -> Any:
    node: Any = figures
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def headline(figures: dict) -> dict[str, dict[str, Any]]:
    """The gated figures: name -> {"value", "tolerance", "direction"} (default tolerances)."""
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, value: Any, tolerance: float, direction: str) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = {"value": round(float(value), 4), "tolerance": tolerance, "direction": direction}

    ext = figures.get("extraction") or {}
    add("extraction.outcome_parsed_share", _get(ext, ("outcome", "parsed_share")), 0.0, HIGHER)
    add("extraction.articles_precision", _get(ext, ("articles_vs_la", "precision")), 0.005, HIGHER)
    add("extraction.articles_recall", _get(ext, ("articles_vs_la", "recall")), 0.005, HIGHER)
    add("extraction.charges_found_share", _get(ext, ("charges", "with_charge_share")), 0.0, HIGHER)
    anon = figures.get("anonymization") or {}
    add("anonymization.defendant_names_left", _get(anon, ("defendants", "left_in_output")), 0, LOWER)
    add("anonymization.role_names_left", _get(anon, ("other_role_names", "left_in_output")), 0, LOWER)
    for method in SEARCH_METHODS:
        q = _get(figures, ("search", "quality", method)) or {}
        add(f"search.{method}.p_at_10", q.get("p_at_10"), 0.01, HIGHER)
        add(f"search.{method}.ndcg_at_10", q.get("ndcg_at_10"), 0.01, HIGHER)
        add(f"search.{method}.mae_months", q.get("mae_months"), 0.3, LOWER)
        r = q.get("ranx") or {}
        for metric in ("ndcg@30", "map@100", "mrr@100", "recall@100"):
            add(f"search.{method}.ranx.{metric}", r.get(metric), 0.01, HIGHER)
    # timings on a shared 2-core machine are noisy: only a gross slowdown fails
    add("search.latency_real_p95_ms", _get(figures, ("search", "latency_real_corpus", "p95_ms")), 20.0, LOWER)
    for suite, r in (_get(figures, ("sentencing", "suites")) or {}).items():
        add(f"sentencing.{suite}.mae_months", r.get("mae_months"), 0.3, LOWER)
        add(f"sentencing.{suite}.cail_log_score", r.get("cail_log_score"), 0.01, HIGHER)
        for rng in ("range_80", "range_95"):
            add(f"sentencing.{suite}.{rng}_coverage", _get(r, ("intervals", rng, "coverage")), 0.015, HIGHER)
        for tier in TIERS:
            rate = _get(r, ("false_alarm", "all", tier, "rate"))
            add(f"sentencing.{suite}.false_alarm_{tier}_pct", None if rate is None else 100 * rate, 1.5, LOWER)
        # the law is a bound, not a figure to trade: any expectation outside it, or any circumstance
        # adjusted against the guideline's sign, fails the gate
        unlawful = _get(r, ("law", "unlawful_whole_sample")) or _get(r, ("law", "unlawful"))
        if unlawful is not None:
            add(f"sentencing.{suite}.unlawful_expectations",
                unlawful["forbidden_type"] + unlawful["outside_range_without_mitigation"], 0, LOWER)
        add(f"sentencing.{suite}.guideline_sign_violations", _get(r, ("law", "guideline_sign_violations")), 0, LOWER)
    # civil: LeiAn through its API against the same triplets and qrels (500 triplets: ±0.02 is one SE)
    civil = _get(figures, ("civil", "leian", "civil_only")) or {}
    for suite in ("cause_triplets", "read_triplets"):
        add(f"civil.compare.{suite}_accuracy", _get(civil, ("compare", suite, "score", "all", "accuracy")), 0.02, HIGHER)
    add("civil.search.hybrid_api.ndcg_at_10", _get(civil, ("search", "hybrid_api", "ndcg_at_10")), 0.01, HIGHER)
    return out


@dataclass(frozen=True)
class Regression:
    name: str
    recorded: float
    current: float | None
    tolerance: float
    direction: str

    def __str__(self) -> str:
        if self.current is None:
            return f"{self.name}: recorded {self.recorded:g}, not measured in this run"
        word = "fell" if self.direction == HIGHER else "rose"
        return (f"{self.name}: {word} from {self.recorded:g} to {self.current:g} "
                f"(tolerance {self.tolerance:g}, {self.direction.replace('_', '-')})")


def compare(current: dict[str, dict[str, Any]], recorded: dict[str, dict[str, Any]]) -> list[Regression]:
    """Every recorded figure that is worse now by more than its tolerance, or missing now.

    ``current`` is :func:`headline`'s output; ``recorded`` maps names to {"value", "tolerance",
    "direction"}, whose tolerance and direction are the ones applied.
    """
    out: list[Regression] = []
    for name, rec in recorded.items():
        value, tol, direction = float(rec["value"]), float(rec["tolerance"]), rec["direction"]
        if direction not in (HIGHER, LOWER):
            raise ValueError(f"{name}: direction must be {HIGHER} or {LOWER}, not {direction!r}")
        now = current.get(name, {}).get("value")
        if now is None:
            out.append(Regression(name, value, None, tol, direction))
            continue
        worse_by = value - now if direction == HIGHER else now - value
        if worse_by > tol + 1e-9:
            out.append(Regression(name, value, float(now), tol, direction))
    return out


def load_recorded(path: Path = RECORDED_PATH) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def record(figures: dict, path: Path = RECORDED_PATH) -> dict:
    """Write this run's headline figures as the recorded ones for its mode, keeping edited tolerances."""
    data = load_recorded(path)
    mode = figures["mode"]
    old = (data.get(mode) or {}).get("figures", {})
    current = headline(figures)
    for name, entry in current.items():
        if name in old:  # a tolerance or direction set by hand survives re-recording
            entry["tolerance"], entry["direction"] = old[name]["tolerance"], old[name]["direction"]
    data[mode] = {
        "recorded_at": figures["generated_at"],
        "git_commit": figures["git"]["commit"],
        "wall_seconds": figures["seconds"].get("total"),
        "settings": figures["settings"],
        "figures": current,
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return data


# ------------------------------------------------------------------------------------------ markdown


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows)]


def render_markdown(figures: dict, command: str, regressions: list[Regression] | None = None) -> str:
    """The readable report: one table per area, each with the command that produced it."""
    git = figures.get("git") or {}
    secs = figures.get("seconds") or {}
    lines = [
        f"# LeiAn evaluation ({figures.get('mode', '?')} mode)",
        "",
        f"- command: `{command}`",
        f"- generated: {figures.get('generated_at', '?')}, commit `{git.get('commit') or '?'}`"
        + (" (uncommitted changes)" if git.get("dirty") else ""),
        f"- data: `{figures.get('data_dir', '?')}`",
        f"- wall time: {_f(secs.get('total'), 1)} s ("
        + ", ".join(f"{k} {_f(v, 1)} s" for k, v in secs.items() if k != "total") + ")",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in (figures.get("libraries") or {}).items()),
    ]
    if figures.get("mode") == "quick":
        s = figures.get("settings") or QUICK
        step = s["search_query_step"]
        lines.append(f"- quick mode: one search query in {step} (fixed), embedder polish epochs "
                     f"{s['embedder_epochs']}, no 100k synthetic latency, sentencing suites `{s['sentencing_suites']}`"
                     " — not comparable with the README's full-mode figures")
    if regressions is not None:
        lines += ["", "## Regression gate", ""]
        lines += [f"- **{r}**" for r in regressions] if regressions else ["No figure worse than recorded beyond its tolerance."]

    ext = figures.get("extraction")
    if ext:
        n = ext["judgments"]
        c, a, gold = ext["charges"], ext["articles_vs_la"], ext.get("outcome_gold") or {}
        lines += ["", "## Extraction (JuDGE judgments)", "",
                  f"Measured by `evaluation.extraction_report.extraction_figures`; standalone: "
                  f"`python -m evaluation.extraction_report {figures.get('data_dir', '')}`", ""]
        rows = [["outcome parsed", f"{ext['outcome']['parsed']} / {n}"],
                ["刑法 articles vs `la` labels", f"precision {_f(a['precision'])}, recall {_f(a['recall'])}"],
                ["charges found", f"{c['with_charge']} / {n}"],
                ["charge names canonical", f"{c['canonical_names']} / {c['names']}"]]
        if gold:
            rows.append(["hand-checked outcome gold set", f"{gold.get('exact')} / {gold.get('n', gold.get('cases', '?'))}"])
        lines += _table(["what", "figure"], rows)

    anon = figures.get("anonymization")
    if anon:
        d, o = anon["defendants"], anon["other_role_names"]
        lines += ["", "## Anonymization (LeCaRDv2 heads)", "",
                  "Measured by `evaluation.anonymization_report.anonymization_figures`; standalone: "
                  f"`python -m evaluation.anonymization_report {figures.get('data_dir', '')}`", ""]
        lines += _table(["what", "figure"], [
            ["records", str(anon["records"])],
            ["real defendant names left", f"{d['left_in_output']} of {d['real_names']}"],
            ["other role names left", f"{o['left_in_output']} of {o['names']}"],
            ["throughput", f"{anon.get('chars_per_second')} chars/s"],
        ])

    search = figures.get("search")
    if search:
        lines += ["", f"## Search (CAIL pooled split: {search['corpus_cases_indexed']} indexed, "
                  f"{search['queries']} queries)", "",
                  "Measured by `evaluation.search_benchmark.run`; standalone (full): `python -m evaluation.search_benchmark`", ""]
        rows = []
        for method in SEARCH_METHODS:
            q = search["quality"].get(method)
            if q:
                base, _, given = method.partition("+")
                rows.append([base, "with the judge's charges" if given else "text only", _f(q["p_at_10"]),
                             _f(q["ndcg_at_10"]), _f(q["mae_months"], 2)])
        lines += _table(["method", "query", "same-charge P@10", "NDCG@10", "neighbour MAE (months)"], rows)
        lines += _ranx_section(search)
        lines += [""]
        lat = [["real corpus", str(search["latency_real_corpus"]["cases"]), _f(search["latency_real_corpus"]["p50_ms"], 1),
                _f(search["latency_real_corpus"]["p95_ms"], 1)]]
        syn = search.get("latency_100k_synthetic")
        if syn:
            lat.append([f"synthetic ({syn['faiss']})", str(syn["cases"]), _f(syn["p50_ms"], 1), _f(syn["p95_ms"], 1)])
        lines += _table(["search latency", "cases", "p50 ms", "p95 ms"], lat)
        if syn and syn.get("approximate_indexes"):
            lines += [""] + _table(["FAISS index (100k synthetic)", "recall@10", "p50 ms", "bytes/case"], [
                [spec, _f(v["recall_at_10"]), _f(v["p50_ms"], 2), _f(v["bytes_per_case"], 0)]
                for spec, v in syn["approximate_indexes"].items()])
        lines += ["", f"Embedding throughput: {_f(search.get('embedding_docs_per_second'), 0)} docs/s; "
                  f"corpus build {_f(search.get('build_seconds'), 1)} s."]

    sent = figures.get("sentencing")
    if sent:
        lines += ["", "## Sentencing", "",
                  "Measured by `evaluation.sentencing_benchmark.run`; standalone: `python -m evaluation.sentencing_benchmark`", ""]
        rows = []
        for suite, r in sent["suites"].items():
            fa = r["false_alarm"]["all"]
            rows.append([SUITE_LABELS.get(suite, suite), f"{r['n_train']} / {r['n_test']}", _f(r["mae_months"], 2),
                         _f(r["per_charge_median_mae_months"], 2), _f(r["cail_log_score"]),
                         _pct(r["intervals"]["range_80"]["coverage"]), _pct(r["intervals"]["range_95"]["coverage"]),
                         " / ".join(_pct(fa[t]["rate"]) for t in TIERS)])
        lines += _table(["suite", "train / test", "MAE months", "per-charge median MAE", "CAIL log score",
                         "80 % coverage", "95 % coverage", "false alarms notice / warning / severe (nominal 20 / 5 / 1 %)"],
                        rows)
        for suite, r in sent["suites"].items():
            groups = r["false_alarm"]["groups"]
            if not groups:
                continue
            lines += ["", f"False alarms per charge group, {SUITE_LABELS.get(suite, suite)} (groups with ≥ 30 test cases):", ""]
            lines += _table(["charge group", "n", *TIERS], [
                [g, str(v["n"]), *(_pct(v[t]["rate"]) for t in TIERS)] for g, v in groups.items()])
        for suite, r in sent["suites"].items():
            detection = {k: v for k, v in (r.get("detection") or {}).items() if k != "range_80_reach"}
            if not detection:
                continue
            lines += ["", f"Detection, {SUITE_LABELS.get(suite, suite)}: share flagged at or above each level when "
                      "the same held-out judgments' outcomes are altered (target ≥ 85 % at notice):", ""]
            lines += _table(["alteration", "n", *TIERS], [
                [name.replace("_", " "), str(v["n"]), *(_pct(v[t]["rate"]) for t in TIERS)] for name, v in detection.items()])
    civil = figures.get("civil")
    if civil:
        lines += ["", "## Civil similar cases", "",
                  f"{civil['data']['civil_passages']} CJRC civil passages, {civil['data']['causes']} causes of action; "
                  "measured by `evaluation.civil_benchmark.run`; standalone: `python -m evaluation.civil_benchmark`", ""]
        rows = []
        for name, r in (civil.get("scorers") or {}).items():
            if not isinstance(r, dict):  # "absent": the teacher row without --teacher
                continue
            t = r.get("triplets") or {}
            rows.append([name, _f(_get(t, ("cause_triplets", "all", "accuracy"))), _f(_get(t, ("read_triplets", "all", "accuracy"))),
                         _f(_get(r, ("retrieval", "ndcg_at_10")))])
        for name, r in (civil.get("leian") or {}).items():
            rows.append([f"LeiAn /v1/compare, /v1/search ({name.replace('_', ' ')})",
                         _f(_get(r, ("compare", "cause_triplets", "score", "all", "accuracy"))),
                         _f(_get(r, ("compare", "read_triplets", "score", "all", "accuracy"))),
                         _f(_get(r, ("search", "hybrid_api", "ndcg_at_10")))])
        lines += _table(["scorer", "cause triplets", "read triplets", "retrieval NDCG@10"], rows)
    return "\n".join(lines) + "\n"


def _ranx_table(quality: dict) -> list[str]:
    from evaluation.trec import METRICS

    rows = []
    for method, q in quality.items():
        r = q.get("ranx")
        if r:
            base, _, given = method.partition("+")
            rows.append([base, "with given charges" if given else "text only",
                         *(_f(r.get(m)) for m in METRICS.values()), f"{r['queries_with_relevant']} / {r['queries']}"])
    return _table(["method", "query", *METRICS.values(), "queries with a relevant case"], rows)


def _ranx_section(search: dict) -> list[str]:
    """ranx metrics on the qrels derived from the CAIL labels, and the cross-check with metrics.py."""
    quality = search.get("quality") or {}
    if not any(q.get("ranx") for q in quality.values()):
        return []
    check = search.get("ranx_cross_check") or {}
    worst = max((max(v.values()) for v in check.values()), default=None)
    qrels = search.get("qrels") or {}
    return ["", "### TREC-style metrics with ranx (derived qrels)", "",
            f"Qrels: {qrels.get('definition', '')}. {qrels.get('judgments', '?')} judgments over "
            f"{qrels.get('queries', '?')} queries; runs of depth {qrels.get('run_depth', '?')} through the served "
            "ranking. NDCG uses gain 2^grade − 1 (ranx `ndcg_burges`); binary metrics count grade ≥ 1 "
            "(same charge set) as relevant, so ranx P@10 is the same-charge P@10 above"
            + (f" (largest |ranx − metrics.py| over P@10 and NDCG@10: {worst:g})." if worst is not None else "."), "",
            *_ranx_table(quality)]


def render_qrels_markdown(result: dict, command: str) -> str:
    """Report of ``leian eval --qrels``: a user's labelled corpus scored with ranx per method."""
    lines = ["# LeiAn retrieval evaluation on a labelled corpus", "",
             f"- command: `{command}`",
             f"- generated: {result.get('generated_at', '?')}, commit `{(result.get('git') or {}).get('commit') or '?'}`",
             f"- index: `{result['index']}` ({result['cases_indexed']} cases)",
             f"- qrels: `{result['qrels_file']}` ({result['judgments']} judgments, {result['qrels_queries']} queries); "
             f"queries: `{result['queries_file']}` ({result['queries']} queries)",
             f"- judged documents not in the index: {result['judged_docs_not_indexed']} "
             f"(they count as never retrieved); queries without judgments: {result['queries_without_qrels']}",
             f"- TREC run files (depth {result['run_depth']}): `{result['runs_dir']}`", "",
             "NDCG uses gain 2^grade − 1 (ranx `ndcg_burges`); binary metrics count grade ≥ 1 as relevant.", ""]
    lines += _ranx_table(result["methods"])
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ plots


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(key in f.name for key in ("CJK", "WenQuanYi", "SimHei", "Droid Sans Fallback", "Heiti", "Source Han")):
            return f.name
    return None


def write_plots(figures: dict, out: Path) -> list[Path]:
    """PNG plots of the figures that are present; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cjk = _cjk_font()
    if cjk:
        plt.rcParams["font.sans-serif"] = [cjk, *plt.rcParams["font.sans-serif"]]

    def charge_label(name: str, i: int) -> str:
        return name if cjk else CHARGE_EN.get(name, f"group {i + 1}")

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    quality = _get(figures, ("search", "quality")) or {}
    methods = [m for m in SEARCH_METHODS if m in quality]
    if methods:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        x = range(len(methods))
        w = 0.38
        ax1.bar([i - w / 2 for i in x], [quality[m]["p_at_10"] for m in methods], w, label="same-charge P@10")
        ax1.bar([i + w / 2 for i in x], [quality[m]["ndcg_at_10"] for m in methods], w, label="NDCG@10")
        ax1.set_ylim(0, 1)
        ax1.set_title("search quality (higher is better)")
        ax2.bar(list(x), [quality[m]["mae_months"] for m in methods], color="tab:gray")
        ax2.set_title("neighbour MAE, months (lower is better)")
        for ax in (ax1, ax2):
            ax.set_xticks(list(x), [m.replace("+given_charges", "\n+charges") for m in methods], fontsize=8)
        ax1.legend(fontsize=8)
        save(fig, "search_quality.png")

    suites = _get(figures, ("sentencing", "suites")) or {}
    if suites:
        fig, ax = plt.subplots(figsize=(6, 4))
        names = list(suites)
        w = 0.38
        for j, (rng, nominal) in enumerate((("range_80", 0.80), ("range_95", 0.95))):
            xs = [i + (j - 0.5) * w for i in range(len(names))]
            ax.bar(xs, [suites[s]["intervals"][rng]["coverage"] for s in names], w, label=f"{rng[-2:]} % range")
            ax.hlines(nominal, min(xs) - w / 2, max(xs) + w / 2, colors="black", linestyles="dashed")
        ax.set_xticks(range(len(names)), [SUITE_LABELS.get(s, s) for s in names])
        ax.set_ylim(0.5, 1.0)
        ax.set_ylabel("coverage on held-out judgments")
        ax.set_title("sentencing range coverage vs nominal (dashed)")
        ax.legend(fontsize=8, loc="lower right")
        save(fig, "sentencing_coverage.png")

        groups: list[tuple[str, dict]] = []
        for s in names:
            gs = suites[s]["false_alarm"]["groups"]
            groups += [(f"{charge_label(g, i)}" + ("" if len(names) == 1 else f" [{SUITE_LABELS.get(s, s)}]"), v)
                       for i, (g, v) in enumerate(gs.items())]
            groups.append((f"all [{SUITE_LABELS.get(s, s)}]", suites[s]["false_alarm"]["all"]))
        fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(groups) + 2), 4.5))
        w = 0.27
        for j, tier in enumerate(TIERS):
            xs = [i + (j - 1) * w for i in range(len(groups))]
            ax.bar(xs, [100 * (v[tier]["rate"] or 0) for _, v in groups], w, label=tier)
            ax.axhline(100 * NOMINAL_FALSE_ALARM[tier], color=f"C{j}", linestyle="dashed", linewidth=1)
        ax.set_xticks(range(len(groups)), [g for g, _ in groups], rotation=40, ha="right", fontsize=8)
        ax.set_ylabel("false-alarm rate, % of real judgments")
        ax.set_title("deviation false alarms per charge group vs nominal 20 / 5 / 1 % (dashed)")
        ax.legend(fontsize=8)
        save(fig, "false_alarms.png")

    real = _get(figures, ("search", "latency_real_corpus"))
    if real:
        bars = [(f"real corpus\n({real['cases']} cases)", real)]
        syn = _get(figures, ("search", "latency_100k_synthetic"))
        if syn:
            bars.append((f"synthetic\n({syn['cases']} cases, {syn['faiss']})", syn))
        fig, ax = plt.subplots(figsize=(5 + len(bars), 4))
        w = 0.38
        ax.bar([i - w / 2 for i in range(len(bars))], [b["p50_ms"] for _, b in bars], w, label="p50")
        ax.bar([i + w / 2 for i in range(len(bars))], [b["p95_ms"] for _, b in bars], w, label="p95")
        ax.set_xticks(range(len(bars)), [n for n, _ in bars])
        ax.set_ylabel("ms per search (with explanations)")
        ax.set_title("search latency")
        ax.legend(fontsize=8)
        save(fig, "latency.png")
    return written


def write_report(figures: dict, out: Path, command: str, regressions: list[Regression] | None = None) -> list[Path]:
    """report.json, report.md and the plots under ``out``; returns every file written."""
    out.mkdir(parents=True, exist_ok=True)
    report = {**figures, "command": command,
              "regressions": None if regressions is None else [str(r) for r in regressions]}
    (out / "report.json").write_text(json.dumps(_finite(report), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(figures, command, regressions), encoding="utf-8")
    return [out / "report.json", out / "report.md", *write_plots(figures, out)]

"""The evaluation report's arithmetic and rendering: regression gate, markdown, plots (no shared data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation import report as rep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rates(notice: float, warning: float, severe: float, n: int) -> dict:
    return {"n": n, **{t: {"rate": r, "ci95": [max(0.0, r - 0.02), r + 0.02]}
                       for t, r in zip(rep.TIERS, (notice, warning, severe), strict=True)}}


def _suite(mae: float, groups: dict) -> dict:
    return {
        "n_train": 4057, "n_test": 1015, "n_custodial": 990, "mae_months": mae, "per_charge_median_mae_months": 16.25,
        "neighbour_median_mae_months": 13.1, "cail_log_score": 0.61,
        "intervals": {"range_80": {"coverage": 0.818, "n": 1015, "mean_width_months": 30.2, "median_width_months": 20.0},
                      "range_95": {"coverage": 0.962, "n": 1015, "mean_width_months": 60.1, "median_width_months": 41.0}},
        "false_alarm": {"all": _rates(0.182, 0.038, 0.013, 1000), "groups": groups,
                        "groups_within_tolerance": {"n_groups": len(groups), "notice": 1, "warning": 1, "severe": 1}},
        "detection": {}, "probation": None, "seconds": {"load_and_neighbours": 8, "fit": 15, "evaluate": 6},
    }


@pytest.fixture
def figures() -> dict:
    """Shaped like collect()'s output (figures abridged from docs/benchmarks)."""
    quality = {m: {"p_at_10": p, "ndcg_at_10": nd, "mae_months": mae, "n_queries": 338, "n_mae": 330}
               for m, p, nd, mae in (("dense", 0.815, 0.486, 12.19), ("bm25", 0.606, 0.364, 16.09),
                                     ("hybrid", 0.813, 0.494, 12.07), ("dense+given_charges", 0.927, 0.587, 12.13),
                                     ("bm25+given_charges", 0.927, 0.566, 14.99),
                                     ("hybrid+given_charges", 0.927, 0.595, 11.66))}
    return {
        "mode": "quick", "settings": rep.QUICK, "generated_at": "2024-06-01T00:00:00+00:00",
        "git": {"commit": "abc123", "dirty": False}, "libraries": {"python": "3.11.9", "faiss-cpu": "1.8.0"},
        "data_dir": "/shared/data", "seconds": {"extraction": 2.0, "search": 60.0, "total": 120.0},
        "extraction": {"judgments": 501, "outcome": {"parsed": 501, "parsed_share": 1.0, "types": {}},
                       "articles_vs_la": {"tp": 900, "fp": 6, "fn": 10, "precision": 0.993, "recall": 0.989, "f1": 0.991},
                       "charges": {"with_charge": 501, "with_charge_share": 1.0, "names": 521, "canonical_names": 521},
                       "outcome_gold": {"n": 50, "exact": 50}},
        "anonymization": {"records": 360, "defendants": {"real_names": 43, "left_in_output": 0},
                          "other_role_names": {"names": 323, "left_in_output": 1}, "chars_per_second": 50000},
        "search": {"corpus_cases_indexed": 4051, "queries": 338, "build_seconds": 30.0, "quality": quality,
                   "latency_real_corpus": {"cases": 4051, "p50_ms": 7.8, "p95_ms": 12.2, "p99_ms": 21.0},
                   "latency_100k_synthetic": None, "embedding_docs_per_second": 1300.0},
        "sentencing": {"suites": {"cail2018": _suite(11.77, {"盗窃罪": _rates(0.19, 0.05, 0.01, 200),
                                                              "故意伤害罪": _rates(0.22, 0.06, 0.02, 80),
                                                              "某个未翻译罪": _rates(0.15, 0.03, 0.0, 31)})}},
    }


def test_headline_names_direction_and_tolerance(figures: dict) -> None:
    h = rep.headline(figures)
    assert h["search.hybrid.p_at_10"] == {"value": 0.813, "tolerance": 0.01, "direction": rep.HIGHER}
    assert h["search.hybrid+given_charges.mae_months"]["direction"] == rep.LOWER
    assert h["sentencing.cail2018.mae_months"] == {"value": 11.77, "tolerance": 0.3, "direction": rep.LOWER}
    assert h["sentencing.cail2018.false_alarm_notice_pct"]["value"] == pytest.approx(18.2)
    assert h["sentencing.cail2018.false_alarm_notice_pct"]["tolerance"] == 1.5
    assert h["anonymization.role_names_left"]["value"] == 1
    assert "search.latency_real_p95_ms" in h
    assert not any(k.startswith("sentencing.traffic") for k in h)  # suite not run: not invented


def test_compare_flags_only_worse_beyond_tolerance_in_the_right_direction(figures: dict) -> None:
    recorded = rep.headline(figures)
    assert rep.compare(rep.headline(figures), recorded) == []

    q = figures["search"]["quality"]
    q["hybrid"]["p_at_10"] -= 0.009  # worse, but within 0.01
    q["dense"]["p_at_10"] -= 0.02  # worse beyond 0.01
    q["bm25"]["ndcg_at_10"] += 0.05  # better: never a regression
    q["hybrid"]["mae_months"] += 0.5  # lower is better: rose beyond 0.3
    q["dense"]["mae_months"] -= 2.0  # lower is better: improved
    q["bm25"]["mae_months"] += 0.29  # within 0.3
    fa = figures["sentencing"]["suites"]["cail2018"]["false_alarm"]["all"]
    fa["warning"]["rate"] += 0.016  # 1.6 points > 1.5
    fa["notice"]["rate"] -= 0.05  # fewer false alarms: fine
    regressions = rep.compare(rep.headline(figures), recorded)
    names = {r.name for r in regressions}
    assert names == {"search.dense.p_at_10", "search.hybrid.mae_months", "sentencing.cail2018.false_alarm_warning_pct"}
    text = {r.name: str(r) for r in regressions}
    assert "fell from 0.815 to 0.795" in text["search.dense.p_at_10"]
    assert "rose from 12.07 to 12.57" in text["search.hybrid.mae_months"]


def test_compare_uses_recorded_tolerance_and_reports_unmeasured_figures(figures: dict) -> None:
    recorded = {
        "search.dense.p_at_10": {"value": 0.9, "tolerance": 0.1, "direction": rep.HIGHER},  # 0.815 within 0.1
        "search.bm25.p_at_10": {"value": 0.5, "tolerance": 0.0, "direction": rep.LOWER},  # 0.606 is worse if lower wins
        "sentencing.traffic_cards_2019.mae_months": {"value": 9.0, "tolerance": 0.3, "direction": rep.LOWER},
    }
    regressions = rep.compare(rep.headline(figures), recorded)
    assert [r.name for r in regressions] == ["search.bm25.p_at_10", "sentencing.traffic_cards_2019.mae_months"]
    assert "not measured" in str(regressions[1])
    with pytest.raises(ValueError, match="direction"):
        rep.compare({}, {"x": {"value": 1, "tolerance": 0, "direction": "sideways"}})


def test_record_keeps_hand_set_tolerances(figures: dict, tmp_path: Path) -> None:
    path = tmp_path / "recorded.json"
    rep.record(figures, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["quick"]["figures"]["search.hybrid.p_at_10"]["tolerance"] = 0.05
    path.write_text(json.dumps(data), encoding="utf-8")
    figures["search"]["quality"]["hybrid"]["p_at_10"] = 0.8
    rep.record(figures, path)
    entry = rep.load_recorded(path)["quick"]
    assert entry["figures"]["search.hybrid.p_at_10"] == {"value": 0.8, "tolerance": 0.05, "direction": rep.HIGHER}
    assert entry["git_commit"] == "abc123" and entry["wall_seconds"] == 120.0


def test_markdown_has_one_table_per_area_with_its_command(figures: dict) -> None:
    worse = [rep.Regression("search.dense.p_at_10", 0.9, 0.815, 0.01, rep.HIGHER)]
    md = rep.render_markdown(figures, "leian eval --quick --benchmark-data /shared/data", worse)
    assert "`leian eval --quick --benchmark-data /shared/data`" in md
    for heading in ("## Extraction", "## Anonymization", "## Search", "## Sentencing", "## Regression gate"):
        assert heading in md
    for module in ("extraction_report", "anonymization_report", "search_benchmark", "sentencing_benchmark"):
        assert f"python -m evaluation.{module}" in md
    assert "| hybrid | with the judge's charges | 0.927 | 0.595 | 11.66 |" in md
    assert "| dense | text only | 0.815 | 0.486 | 12.19 |" in md
    assert "| CAIL2018 | 4057 / 1015 | 11.77 | 16.25 | 0.610 | 81.8 % | 96.2 % | 18.2 % / 3.8 % / 1.3 % |" in md
    assert "| 盗窃罪 | 200 | 19.0 % | 5.0 % | 1.0 % |" in md
    assert "| outcome parsed | 501 / 501 |" in md
    assert "| real defendant names left | 0 of 43 |" in md
    assert "fell from 0.9 to 0.815" in md
    assert "synthetic" not in md.split("## Search")[1].split("## Sentencing")[0].replace("no 100k synthetic", "")
    assert "No figure worse" in rep.render_markdown(figures, "leian eval --quick", [])


def test_plots_are_png_files(figures: dict, tmp_path: Path) -> None:
    files = rep.write_report(figures, tmp_path, "leian eval --quick", [])
    names = {f.name for f in files}
    assert {"report.json", "report.md", "search_quality.png", "sentencing_coverage.png", "false_alarms.png",
            "latency.png"} <= names
    for f in files:
        if f.suffix == ".png":
            assert f.read_bytes()[:8] == PNG_SIGNATURE, f
            assert f.stat().st_size > 5000
    saved = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert saved["command"] == "leian eval --quick" and saved["regressions"] == []
    assert saved["search"]["quality"]["hybrid"]["p_at_10"] == 0.813


def test_latency_plot_includes_synthetic_when_present(figures: dict, tmp_path: Path) -> None:
    figures["search"]["latency_100k_synthetic"] = {"cases": 100000, "faiss": "HNSW32,Flat", "p50_ms": 11.1, "p95_ms": 23.5}
    files = rep.write_plots(figures, tmp_path)
    assert tmp_path / "latency.png" in files
    assert "synthetic (HNSW32,Flat) | 100000 | 11.1 | 23.5" in rep.render_markdown(figures, "leian eval")


def test_missing_shared_data_is_named(tmp_path: Path) -> None:
    assert rep.missing_data(tmp_path / "absent", quick=True) == [str(tmp_path / "absent")]
    (tmp_path / "cail2018_sample").mkdir()
    missing = rep.missing_data(tmp_path, quick=False)
    assert str(tmp_path / "judge_fulltext") in missing and str(tmp_path / "traffic_crime_2019") in missing
    with pytest.raises(rep.DataMissing, match="shared data not found"):
        rep.collect(tmp_path / "absent", quick=True, log=lambda _m: None)


def test_cli_eval_fails_clearly_without_shared_data(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(app, ["eval", "--quick", "--benchmark-data", str(tmp_path / "absent"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "shared data not found" in result.output
    assert not (tmp_path / "o").exists()


def test_civil_figures_are_gated_and_tabled_without_a_teacher(figures: dict) -> None:
    """The quick gate runs the civil benchmark without --teacher: its teacher row is the word "absent"."""
    triplets = {"cause_triplets": {"all": {"accuracy": 0.738}}, "read_triplets": {"all": {"accuracy": 0.844}}}
    figures["civil"] = {
        "data": {"civil_passages": 997, "causes": 188},
        "scorers": {"tfidf_char12_corpus": {"triplets": triplets, "retrieval": {"ndcg_at_10": 0.539}}, "teacher": "absent"},
        "leian": {"civil_only": {"compare": {"cause_triplets": {"score": {"all": {"accuracy": 0.745}}},
                                             "read_triplets": {"score": {"all": {"accuracy": 0.875}}}},
                                 "search": {"hybrid_api": {"ndcg_at_10": 0.528}}}},
    }
    h = rep.headline(figures)
    assert h["civil.compare.cause_triplets_accuracy"] == {"value": 0.745, "tolerance": 0.02, "direction": rep.HIGHER}
    assert h["civil.search.hybrid_api.ndcg_at_10"]["value"] == 0.528
    md = rep.render_markdown(figures, "leian eval --quick")
    assert "## Civil similar cases" in md and "| tfidf_char12_corpus | 0.738 | 0.844 | 0.539 |" in md
    assert "teacher" not in md.split("## Civil similar cases")[1]

"""docs/FIGURES.md is generated from the reports in docs/benchmarks/ and must not drift from them."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation import figures


def test_committed_page_matches_the_reports() -> None:
    assert figures.main(["--check"]) == 0, "docs/FIGURES.md is stale: run python -m evaluation.figures"


def test_every_figure_is_found_in_its_report() -> None:
    page = figures.render()
    assert "report missing" not in page and "not in report" not in page


def test_a_changed_report_changes_the_page_and_its_verdict(tmp_path: Path) -> None:
    for src in figures.REPORTS.glob("*.json"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    report = json.loads((tmp_path / "sentencing.json").read_text(encoding="utf-8"))
    report["suites"]["cail2018"]["mae_months"] = 9.5
    (tmp_path / "sentencing.json").write_text(json.dumps(report), encoding="utf-8")
    page = figures.render(tmp_path)
    assert "| sentencing | CAIL: MAE of the median term, months | 9.50 | ≤ 10.0 | yes | `sentencing.json` |" in page
    out = tmp_path / "FIGURES.md"
    out.write_text(figures.render(), encoding="utf-8")
    assert figures.main(["--reports", str(tmp_path), "--out", str(out), "--check"]) == 1


def test_a_report_without_provenance_is_marked(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps({"x": 1}), encoding="utf-8")
    assert "the report records none" in figures.provenance_of(tmp_path / "r.json")["commit"]
    (tmp_path / "a.json").write_text(json.dumps({"about": {"commit": "0123456789", "dirty": True, "date": "2026-12-04T08:00",
                                                            "command": "python -m x"}}), encoding="utf-8")
    assert figures.provenance_of(tmp_path / "a.json") == {
        "commit": "0123456 (uncommitted edits in the tree)", "date": "2026-12-04", "command": "python -m x"}

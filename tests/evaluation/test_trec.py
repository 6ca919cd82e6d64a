"""TREC/LeCaRD qrels and runs, and ranx scoring of LeiAn's own runs on real CAIL samples.

The ranx wiring is checked against evaluation/metrics.py on the same runs: with qrels derived from the
CAIL labels, ranx P@10 must equal the same-charge P@10 and ranx NDCG@10 the graded NDCG@10.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evaluation.metrics import retrieval_scores
from evaluation.qrels_eval import evaluate_corpus
from evaluation.trec import (
    TrecFormatError,
    ranx_scores,
    read_qrels,
    read_queries,
    read_run,
    write_qrels,
    write_run,
)
from indexing.artifacts import current_dir
from service.cli import app
from tests.conftest import SAMPLES
from tests.evaluation.conftest import QUERY_LINES

# ------------------------------------------------------------------------------------------ readers


def test_json_and_trec_qrels_read_the_same_judgments(tmp_path: Path) -> None:
    judgments = {"5156": {"38633": 3, "12100": 0, "9921": 1}, "201": {"77": 2}}
    (tmp_path / "label.json").write_text(json.dumps(judgments), encoding="utf-8")
    write_qrels(tmp_path / "label.qrels", judgments)
    assert read_qrels(tmp_path / "label.json") == judgments
    assert read_qrels(tmp_path / "label.qrels") == judgments


@pytest.mark.parametrize(("content", "expected"), [
    ("q1 0 d1 2\nq1 0 d2\n", r":2: expected 4 columns"),
    ("q1 0 d1 2\n# note\nq1 0 d2 high\n", r":3: relevance grade 'high' is not an integer"),
    ("q1 0 d1 -1\n", r":1: relevance grade -1 is negative"),
    ("q1 0 d1 1\nq1 0 d1 2\n", r":2: query 'q1' judges doc 'd1' twice"),
    ('{"q1": {"d1": 1},\n "q2": [1, 2]}', r"query 'q2': expected an object"),
    ('{"q1": {"d1": 1},\n "q2": {"d1": }}', r":2: invalid JSON"),
    ("\n\n", "empty qrels file"),
])
def test_malformed_qrels_name_the_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.qrels"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrecFormatError, match=expected) as info:
        read_qrels(path)
    assert str(path) in str(info.value)


def test_real_lecard_queries_are_read_with_their_charges() -> None:
    queries = read_queries(SAMPLES / "lecard_v1_sample.jsonl")
    assert len(queries) == 30
    assert all(q["text"] and q["charges"] for q in queries)
    assert queries[0]["qid"] == "5156"


def test_a_query_without_text_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 1, "fact": "被告人张某盗窃"}\n{"id": 2, "fact": "  "}\n', encoding="utf-8")
    with pytest.raises(TrecFormatError, match=r"q.jsonl:2: field 'fact'"):
        read_queries(path)


def test_run_files_round_trip(tmp_path: Path) -> None:
    run = {"q1": [("d3", 2.5), ("d1", 1.25)], "q2": [("d9", 0.5)]}
    write_run(tmp_path / "x.run", run, tag="t")
    assert read_run(tmp_path / "x.run") == run
    assert (tmp_path / "x.run").read_text().splitlines()[0] == "q1 Q0 d3 1 2.500000 t"


def test_ranx_scores_a_hand_computable_run() -> None:
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"z": 0}}  # q2 has no relevant document: scores 0, still counted
    run = {"q1": [("a", 3.0), ("c", 2.0), ("b", 1.0)], "q2": [("z", 1.0)]}
    got = ranx_scores(qrels, run)
    assert got["queries"] == 2 and got["queries_with_relevant"] == 1
    assert got["p@10"] == pytest.approx((2 / 10) / 2)
    assert got["mrr@100"] == pytest.approx(1.0 / 2)
    assert got["map@100"] == pytest.approx(((1 + 2 / 3) / 2) / 2, abs=1e-4)
    ideal = 3 + 1 / np.log2(3)
    assert got["ndcg@10"] == pytest.approx(((3 + 1 / np.log2(4)) / ideal) / 2, abs=1e-4)


# ------------------------------------------------------------------------------------------ ranx wiring


def test_ranx_agrees_with_metrics_py_on_leian_runs(labelled: dict) -> None:
    root = labelled["root"]
    result = evaluate_corpus(current_dir(root), root / "cail.qrels", root / "queries.jsonl", root / "runs")
    assert set(result["methods"]) == {"dense", "bm25", "hybrid", "dense+given_charges", "bm25+given_charges",
                                      "hybrid+given_charges"}
    assert result["judged_docs_not_indexed"] == 0 and result["queries"] == QUERY_LINES
    row_of = {d: i for i, d in enumerate(labelled["docids"])}
    for name, m in result["methods"].items():
        run = read_run(root / "runs" / f"{name}.run")
        assert set(run) == set(labelled["qids"]) and all(len(v) <= 100 for v in run.values())
        neighbours = np.full((QUERY_LINES, 10), -1)
        for qi, qid in enumerate(labelled["qids"]):
            top = [row_of[d] for d, _ in run[qid][:10]]
            neighbours[qi, : len(top)] = top
        s = retrieval_scores(labelled["q_arr"], labelled["c_arr"], neighbours, 10)
        assert m["ranx"]["p@10"] == pytest.approx(s.p_at_k, abs=1e-4), name
        assert m["ranx"]["ndcg@10"] == pytest.approx(s.ndcg_at_k, abs=1e-4), name
    # real retrieval, not a degenerate run: given the charges, the hybrid ranks the same-charge cases
    # first, close to the best P@10 this small corpus allows (a charge may have fewer than 10 cases)
    best = np.mean([min(10, sum(g > 0 for g in labelled["qrels"].get(q, {}).values())) / 10 for q in labelled["qids"]])
    assert result["methods"]["hybrid+given_charges"]["ranx"]["p@10"] >= 0.8 * best


def test_cli_scores_a_labelled_corpus_and_rejects_a_bad_qrels_line(labelled: dict, tmp_path: Path) -> None:
    root = labelled["root"]
    runner = CliRunner()
    out = tmp_path / "report"
    ok = runner.invoke(app, ["eval", "--qrels", str(root / "cail.qrels"), "--queries", str(root / "queries.jsonl"),
                             "--index-data-dir", str(root), "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["methods"]["hybrid"]["ranx"]["queries"] == QUERY_LINES
    assert "| hybrid | text only |" in (out / "report.md").read_text(encoding="utf-8")
    assert len((out / "runs" / "hybrid.run").read_text().splitlines()) > QUERY_LINES
    bad = tmp_path / "bad.qrels"
    bad.write_text("q0 0 cail_part:1 1\nq0 0 cail_part:2 yes\n", encoding="utf-8")
    failed = runner.invoke(app, ["eval", "--qrels", str(bad), "--queries", str(root / "queries.jsonl"),
                                 "--index-data-dir", str(root), "--out", str(tmp_path / "r2")])
    assert failed.exit_code == 2
    assert "bad.qrels:2: relevance grade 'yes' is not an integer" in " ".join(failed.output.split())

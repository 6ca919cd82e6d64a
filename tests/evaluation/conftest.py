"""A small real corpus built once for the evaluation tests: CAIL sample cases, held-out queries, qrels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.datasets import cail_label
from evaluation.metrics import encode_labels
from evaluation.search_benchmark import derived_qrels
from evaluation.trec import write_qrels
from indexing.build import BuildConfig, build_index
from indexing.db import make_engine
from indexing.pipeline import ingest
from tests.conftest import SAMPLES, built_once

CORPUS_LINES = 200
QUERY_LINES = 24


@pytest.fixture(scope="session")
def cail_lines() -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def labelled(tmp_path_factory: pytest.TempPathFactory, cail_lines: list[dict]) -> dict:
    """A built corpus of real CAIL sample cases, held-out CAIL queries, and qrels from their labels."""
    corpus, queries = cail_lines[:CORPUS_LINES], cail_lines[CORPUS_LINES:CORPUS_LINES + QUERY_LINES]

    def build(root: Path) -> None:
        src = root / "cail_part.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus), encoding="utf-8")
        engine = make_engine(f"sqlite:///{root / 'leian.db'}")
        ingest([src], engine, root / "quarantine", progress=False)
        build_index(engine, BuildConfig(data_dir=root, epochs=0))
        engine.dispose()

    root = built_once(tmp_path_factory, "qrels", build)
    docids = [f"cail_part:{i}" for i in range(1, CORPUS_LINES + 1)]  # the ids the ingest gives JSON lines
    q_arr, c_arr = encode_labels([cail_label(q) for q in queries], [cail_label(r) for r in corpus])
    qids = [f"q{i}" for i in range(len(queries))]
    qrels = derived_qrels(q_arr, c_arr, qids, docids)
    write_qrels(root / "cail.qrels", qrels)
    (root / "queries.jsonl").write_text("".join(
        json.dumps({"id": qid, "fact": q["fact"], "charges": q["meta"]["accusation"]}, ensure_ascii=False) + "\n"
        for qid, q in zip(qids, queries, strict=True)), encoding="utf-8")
    return {"root": root, "q_arr": q_arr, "c_arr": c_arr, "qids": qids, "docids": docids, "qrels": qrels}



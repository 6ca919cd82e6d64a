"""A user's labelled corpus scored with ranx: ``leian eval --qrels FILE --queries FILE``.

The user ingests and builds their corpus as usual (``leian ingest``, ``leian build``); the qrels name
its documents by the ids LeiAn keeps for them: the record ``id`` of JSON lines, the file name without
extension of a plain-text judgment (LeCaRD's candidate files are named by their doc id), or LeiAn's
own ``case_id``. Each query is then searched through the served ranking (the same code as
``POST /v1/search``) with each method — dense, BM25, hybrid, and, when the query file names charges
(LeCaRD's ``crime``), the same three with the charges given — to depth 100. Every run is written as
a TREC run file and scored with ranx (see evaluation/trec.py for the formats and metrics).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from evaluation.trec import RUN_DEPTH, Qrels, RunRows, ranx_scores, read_qrels, read_queries, write_run
from indexing.fusion import BM25_ONLY, DENSE_ONLY, HYBRID, retrieve
from indexing.search_index import SearchIndex

METHODS = {"dense": DENSE_ONLY, "bm25": BM25_ONLY, "hybrid": HYBRID}


def doc_keys(row: dict) -> list[str]:
    """The ids a qrels file may use for an indexed case (most specific first)."""
    source_id = str(row.get("source_id") or "")
    keys = [source_id, row["case_id"]]
    if ":" in source_id:  # JSON-lines records without an id are named "file:line"
        keys.append(source_id.rsplit(":", 1)[1])
    return [k for k in keys if k]


def doc_ids(index: SearchIndex, qrels: Qrels) -> list[str]:
    """The qrels' id of every indexed row: the first of its keys the qrels use, else its source id."""
    judged = {d for docs in qrels.values() for d in docs}
    out = []
    for row in index.rows:
        keys = doc_keys(row)
        out.append(next((k for k in keys if k in judged), keys[0]))
    return out


def evaluate_corpus(index_dir: Path, qrels_path: Path, queries_path: Path, runs_dir: Path) -> dict:
    """Runs of every method over the queries, written to ``runs_dir`` and scored against the qrels."""
    from service.retrieve import prepare_draft

    qrels = read_qrels(qrels_path)
    queries = read_queries(queries_path)
    index = SearchIndex(index_dir, with_sentencing=False)
    ids = doc_ids(index, qrels)
    indexed = set(ids)
    variants = dict(METHODS)
    if any(q["charges"] for q in queries):
        variants |= {f"{name}+given_charges": replace(f, given_charge=HYBRID.given_charge) for name, f in METHODS.items()}
    runs: dict[str, RunRows] = {name: {} for name in variants}
    for q in queries:
        draft = prepare_draft(q["text"], index)
        given = prepare_draft(q["text"], index, q["charges"]) if q["charges"] else None
        for name, fusion in variants.items():
            d = given if name.endswith("+given_charges") else draft
            if d is None:  # this query names no charges: its given-charges run is its text-only run
                d = draft
            runs[name][q["qid"]] = [(ids[h.row], h.score) for h in retrieve(d, index, RUN_DEPTH, fusion=fusion)]
    runs_dir.mkdir(parents=True, exist_ok=True)
    methods = {}
    for name, run in runs.items():
        write_run(runs_dir / f"{name}.run", run, tag=f"leian-{name}")
        methods[name] = {"ranx": ranx_scores(qrels, run)}
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "index": str(index_dir), "index_version": index.version, "cases_indexed": len(index),
        "qrels_file": str(qrels_path), "queries_file": str(queries_path), "runs_dir": str(runs_dir),
        "qrels_queries": len(qrels), "judgments": sum(len(v) for v in qrels.values()),
        "queries": len(queries), "queries_without_qrels": sum(1 for q in queries if q["qid"] not in qrels),
        "judged_docs_not_indexed": len({d for docs in qrels.values() for d in docs} - indexed),
        "run_depth": RUN_DEPTH, "methods": methods,
    }

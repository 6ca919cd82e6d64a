"""Similar-case search benchmark on the fixed pooled CAIL split, through the product's own code.

The 80 % corpus part is ingested and built exactly as `leian ingest` + `leian build` would (the
in-domain embedder is trained on that part only); each of the 1,015 held-out facts is then searched
as a judge's draft through ``service.retrieve`` with the fusion weights zeroed for the single methods.
Reported: same-charge P@10, graded NDCG@10 and neighbour-median MAE (evaluation/metrics.py) for dense,
BM25 and hybrid, with the draft's charges read from its text and, separately, given by the judge;
search latency p50/p95 on the real corpus and on a 100k-case synthetic corpus; embedding throughput.

Run: ``python -m evaluation.search_benchmark [--benchmark-data ../shared/data] [--work DIR] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_label, cail_split, load_cail_pooled
from evaluation.metrics import (
    LabelArrays,
    encode_labels,
    graded_relevance,
    latency_percentiles,
    retrieval_scores,
)
from evaluation.output import emit_json
from evaluation.trec import RUN_DEPTH, Qrels, RunRows, ranx_scores, write_qrels, write_run
from indexing.build import BuildConfig, build_index
from indexing.db import make_engine
from indexing.pipeline import ingest
from indexing.search_index import SearchIndex
from service.explain import Explainer
from service.retrieve import BM25_ONLY, DENSE_ONLY, HYBRID, prepare_draft, retrieve

K = 10


def build_corpus(corpus: list[dict], work: Path, epochs: int | None = None) -> Path:
    """Ingest and build the corpus part once; reuse the build when ``work`` already holds it.

    ``epochs``: contrastive-polish epochs of the trained embedder (None = the recipe's default).
    """
    marker = work / "indexes" / "CURRENT"
    if marker.is_file():
        return work
    work.mkdir(parents=True, exist_ok=True)
    src = work / "cail_corpus.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for rec in corpus:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    engine = make_engine(f"sqlite:///{work / 'leian.db'}")
    ingest([src], engine, work / "quarantine", progress=False)
    build_index(engine, BuildConfig(data_dir=work, epochs=epochs))
    engine.dispose()
    return work


def timed_search(text: str, index: SearchIndex) -> tuple:
    """One search as the API runs it (draft pipeline, ranking, explanations) and its milliseconds."""
    start = time.perf_counter()
    draft = prepare_draft(text, index)
    hits = retrieve(draft, index, K)
    explainer = Explainer(draft.record, draft.tokens, index.term_weights(draft.tokens, draft.record.case_type.value))
    for h in hits:
        explainer.why(index.rows[h.row])
    return draft, hits, (time.perf_counter() - start) * 1000


def run(data_dir: Path, work: Path, *, synthetic: bool = True, query_step: int = 1, epochs: int | None = None,
        runs_dir: Path | None = None) -> dict:
    """All figures; the defaults are the full benchmark.

    ``synthetic=False`` leaves out the 100k synthetic latency and the ANN comparison; ``query_step=n``
    searches every n-th held-out query only (a fixed subsample); ``epochs`` is passed to the build;
    ``runs_dir`` receives the derived qrels and one TREC run file per method.
    """
    records = load_cail_pooled(data_dir / "cail2018_sample" if (data_dir / "cail2018_sample").is_dir() else data_dir)
    corpus, queries = cail_split(records)
    queries = queries[::query_step]
    t0 = time.perf_counter()
    build_corpus(corpus, work, epochs)
    build_seconds = time.perf_counter() - t0
    from indexing.artifacts import current_dir

    index = SearchIndex(current_dir(work))
    # rows -> corpus position: the ingest names CAIL records by file line (source_id "cail_corpus:N")
    row_labels = [cail_label(corpus[int(r["source_id"].rsplit(":", 1)[1]) - 1]) for r in index.rows]
    query_labels = [cail_label(q) for q in queries]
    q_arr, c_arr = encode_labels(query_labels, row_labels)

    # with the judge's charges, each single method gets the same charge filter-with-fallback the
    # hybrid uses, so the comparison is like with like
    variants = {"dense": (DENSE_ONLY, False), "bm25": (BM25_ONLY, False), "hybrid": (HYBRID, False),
                "dense+given_charges": (replace(DENSE_ONLY, given_charge=HYBRID.given_charge), True),
                "bm25+given_charges": (replace(BM25_ONLY, given_charge=HYBRID.given_charge), True),
                "hybrid+given_charges": (HYBRID, True)}
    neighbours = {name: np.full((len(queries), K), -1) for name in variants}
    runs: dict[str, RunRows] = {name: {} for name in variants}
    latency: list[float] = []
    given_drafts: dict = {}
    for qi, q in enumerate(queries):
        draft, hits, ms = timed_search(q["fact"], index)
        latency.append(ms)
        for name, (fusion, given) in variants.items():
            d = given_drafts.setdefault(qi, prepare_draft(q["fact"], index, q["meta"]["accusation"])) if given else draft
            # the candidate pool does not depend on k, so the first K of the deeper run are the top-K
            got = retrieve(d, index, RUN_DEPTH, fusion=fusion)
            neighbours[name][qi, : min(K, len(got))] = [h.row for h in got[:K]]
            runs[name][query_id(qi * query_step)] = [(index.rows[h.row]["case_id"], h.score) for h in got]
        if [h.row for h in hits] != [int(r) for r in neighbours["hybrid"][qi, : len(hits)]]:
            raise RuntimeError(f"query {qi}: the served top-{K} differs from the top of the depth-{RUN_DEPTH} run")
    qrels = derived_qrels(q_arr, c_arr, [query_id(qi * query_step) for qi in range(len(queries))],
                          [r["case_id"] for r in index.rows])
    quality = {}
    for name, nb in neighbours.items():
        s = retrieval_scores(q_arr, c_arr, nb, K)
        quality[name] = {"p_at_10": round(s.p_at_k, 4), "ndcg_at_10": round(s.ndcg_at_k, 4), "mae_months": round(s.mae, 2),
                         "n_queries": s.n_queries, "n_mae": s.n_mae,
                         # unrounded, for the cross-check against ranx below
                         "ranx": ranx_scores(qrels, runs[name]), "_metrics_py": (s.p_at_k, s.ndcg_at_k)}
    cross_check = ranx_cross_check(quality)
    if runs_dir is not None:
        runs_dir.mkdir(parents=True, exist_ok=True)
        write_qrels(runs_dir / "cail_pooled_split.qrels", qrels)
        for name, run_rows in runs.items():
            write_run(runs_dir / f"{name}.run", run_rows, tag=f"leian-{name}")
    texts = [q["fact"] for q in queries[:300]]
    t = time.perf_counter()
    index.embedder.encode(texts, batch_size=64)
    embed_rate = len(texts) / (time.perf_counter() - t)
    return {
        "corpus_cases_indexed": len(index),
        "queries": len(queries),
        "build_seconds": round(build_seconds, 1),
        "quality": quality,
        "ranx_cross_check": cross_check,
        "qrels": {"definition": QRELS_DEFINITION, "queries": len(qrels), "judgments": sum(len(v) for v in qrels.values()),
                  "run_depth": RUN_DEPTH},
        "latency_real_corpus": {"cases": len(index), **latency_percentiles(latency[50:])},
        "latency_100k_synthetic": synthetic_latency(index, queries[:200], 100_000) if synthetic else None,
        "embedding_docs_per_second": round(embed_rate, 1),
    }


QRELS_DEFINITION = ("graded qrels derived from the CAIL labels (evaluation/metrics.py graded_relevance): "
                    "3 = same charge set, same article set and a similar sentence (fixed terms within ±25 %, "
                    "death/life the same type); 2 = same charge set and article set; 1 = same charge set; "
                    "every indexed corpus case with grade ≥ 1 is judged")


def query_id(position: int) -> str:
    """Id of a held-out CAIL query in the derived qrels and the runs: its position in the fixed split."""
    return f"cail-test-{position}"


def derived_qrels(queries: LabelArrays, corpus: LabelArrays, qids: list[str], docids: list[str]) -> Qrels:
    """Graded judgments of every corpus case for every query, from the labels (see QRELS_DEFINITION)."""
    qrels: Qrels = {}
    for i, qid in enumerate(qids):
        grades = graded_relevance(int(queries.charge_ids[i]), int(queries.article_ids[i]), int(queries.kinds[i]),
                                  float(queries.months[i]), corpus)
        qrels[qid] = {docids[j]: int(grades[j]) for j in np.flatnonzero(grades > 0)}
    return qrels


def ranx_cross_check(quality: dict) -> dict:
    """|ranx - metrics.py| for P@10 and NDCG@10 per method (the same qrels, so they must agree)."""
    out = {}
    for name, q in quality.items():
        p, ndcg = q.pop("_metrics_py")
        out[name] = {"p_at_10_abs_diff": round(abs(q["ranx"]["p@10"] - p), 4),
                     "ndcg_at_10_abs_diff": round(abs(q["ranx"]["ndcg@10"] - ndcg), 4)}
    worst = max(max(v.values()) for v in out.values())
    if worst > 1e-3:
        raise RuntimeError(f"ranx and evaluation/metrics.py disagree on the same qrels by {worst}: {out}")
    return out


def synthetic_pairs(index: SearchIndex, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The real row pairs (a, b) of ``n`` SYNTHETIC cases and their embeddings (normalized means), seeded."""
    rng = np.random.default_rng(0)
    base = np.asarray(index.embeddings)
    by_charge: dict[str, list[int]] = {}
    for i, r in enumerate(index.rows):
        by_charge.setdefault("|".join(r["charges"]), []).append(i)
    a = rng.integers(0, len(index), n)
    b = np.array([rng.choice(by_charge["|".join(index.rows[i]["charges"])]) for i in a])
    emb = base[a] + base[b]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    return a, b, emb.astype(np.float32)


def make_synthetic_index(index: SearchIndex, n: int, directory: Path) -> dict:
    """Write a SYNTHETIC index of ``n`` cases into ``directory``: recombinations of real ones.

    Each synthetic case mixes two real indexed cases of the same charges: its embedding is the
    normalized mean of theirs and its tokens are the first half of one case's tokens followed by the
    second half of the other's; its display row (outcome included) is the first case's, flagged
    synthetic. The embedder and sentencing model are the real index's. Only speed is measured on it.
    """
    from indexing.bm25 import BM25Index
    from indexing.dense import build_faiss, default_faiss_spec, save_faiss
    from indexing.rows import IndexRow, write_rows

    with (index.directory / "tokens.jsonl").open(encoding="utf-8") as fh:
        tokens = [json.loads(line) for line in fh]
    a, b, emb = synthetic_pairs(index, n)
    toks = [tokens[i][: len(tokens[i]) // 2] + tokens[j][len(tokens[j]) // 2 :] for i, j in zip(a, b, strict=True)]
    spec = default_faiss_spec(n)
    t = time.perf_counter()
    save_faiss(build_faiss(emb, spec), directory / "dense.faiss")
    np.save(directory / "embeddings.npy", emb)
    faiss_s = time.perf_counter() - t
    BM25Index.build(toks).save(directory / "bm25")
    del toks
    build_s = time.perf_counter() - t
    for part in ("embedder", "charges", "sentencing"):  # the real index's models, as a server loads them
        if (index.directory / part).is_dir():
            shutil.copytree(index.directory / part, directory / part)
    def synthetic_rows() -> Iterator[IndexRow]:
        for k, (i, j) in enumerate(zip(a, b, strict=True)):
            row = dict(index.rows[i])
            row["case_id"] = f"synthetic-{k}-{i}-{j}"  # the same pair can be drawn twice
            row["flags"] = {**row["flags"], "synthetic": True}
            yield row  # type: ignore[misc]

    write_rows(synthetic_rows(), directory / "cases.jsonl")
    (directory / "manifest.json").write_text(
        json.dumps({**index.manifest, "version": "synthetic", "cases": n, "faiss": spec}), encoding="utf-8"
    )
    return {"cases": n, "synthetic": True, "faiss": spec, "index_build_seconds": round(build_s, 1),
            "faiss_build_seconds": round(faiss_s, 1), "bm25_build_seconds": round(build_s - faiss_s, 1),
            "rows_write_seconds": round(time.perf_counter() - t - build_s, 1), "embeddings": emb}


def synthetic_latency(index: SearchIndex, queries: list[dict], n: int) -> dict:
    """Search latency on ``n`` SYNTHETIC cases (see make_synthetic_index), plus the ANN comparison."""
    tmp = Path(tempfile.mkdtemp(prefix="leian-synth-"))
    try:
        info = make_synthetic_index(index, n, tmp)
        emb = info.pop("embeddings")
        ann = ann_comparison(emb, np.stack([index.embedder.encode([q["fact"]])[0] for q in queries[:100]]))
        synth = SearchIndex(tmp, with_sentencing=False)
        ms = [timed_search(q["fact"], synth)[2] for q in queries]
        return {**info, **latency_percentiles(ms[20:]), "approximate_indexes": ann}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


ANN_SPECS = ("Flat", "HNSW32,Flat", "IVF1024,PQ32")


def ann_comparison(emb: np.ndarray, queries: np.ndarray) -> dict:
    """Exact vs approximate FAISS indexes on the same vectors, in one run: recall@10, latency, size."""
    from indexing.dense import build_faiss, search

    out: dict = {}
    exact: list[set[int]] = []
    for spec in ANN_SPECS:
        if spec.startswith("IVF"):  # PQ needs a sub-quantizer count that divides the dimension
            m = max(d for d in (32, 24, 16, 12, 8, 4, 2, 1) if emb.shape[1] % d == 0)
            spec = f"IVF1024,PQ{m}"
        t = time.perf_counter()
        index = build_faiss(emb, spec)
        build_s = time.perf_counter() - t
        rows, ms = [], []
        for q in queries:
            start = time.perf_counter()
            r, _ = search(index, q, K)
            ms.append((time.perf_counter() - start) * 1000)
            rows.append(set(r.tolist()))
        if spec == "Flat":
            exact = rows
        recall = float(np.mean([len(a & b) / K for a, b in zip(rows, exact, strict=True)]))
        import faiss

        size = len(faiss.serialize_index(index))
        out[spec] = {"recall_at_10": round(recall, 4), "build_seconds": round(build_s, 1), **latency_percentiles(ms),
                     "bytes_per_case": round(size / len(emb), 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_CAIL_DIR.parent)
    parser.add_argument("--work", type=Path, default=None, help="keep the corpus build here and reuse it")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not (args.data_dir / "cail2018_sample").is_dir():
        sys.exit(f"search benchmark: {args.data_dir / 'cail2018_sample'} not found (needs ../shared/data)")
    work = args.work or Path(tempfile.mkdtemp(prefix="leian-bench-"))
    result = run(args.data_dir, work)
    emit_json(result, args.out)


if __name__ == "__main__":
    main()

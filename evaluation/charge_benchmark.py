"""Charge prediction benchmark: charges of a draft from its facts alone, on real held-out judgments.

Suites (real published data, ``../shared/data``):

1. **CAIL2018 sample**, pooled and split 80/20 with :func:`evaluation.datasets.cail_split` (the split
   every benchmark uses). :class:`indexing.charge_model.ChargePredictor` is fitted on the 80 % corpus
   part (its threshold and vote weight come from its own inner split of that part) and each held-out
   fact is predicted as a draft without charges.
2. **LeCaRD v1 queries** (107 fact paragraphs with their ``crime``), predicted by the same model: an
   out-of-distribution check (other courts and years, facts not masked as CAIL's are, charges CAIL
   lacks).

Methods: (0) the charges the text itself names after 犯/构成 (:func:`indexing.extract.extract_charges`,
what a draft got before this model); (a) the text model alone; (b) the vote of the top-10 similar cases
alone (:func:`indexing.charge_model.vote_charges`: their most common charge, plus any other carried by
at least half); (c) the text model joined with those votes. **Similar cases here are a simple, honest
stand-in for the product's search**: TF-IDF cosine over character 1–2-grams of the corpus part's facts
(sublinear tf, min_df 2), the training cases' own neighbours found leave-one-out in the corpus part.
The product's hybrid search is to be wired in later.

Figures: micro-F1, macro-F1 (over charges that occur in the truth or the predictions), top-1 accuracy
(the first predicted charge is among the true ones), exact-set accuracy; fit seconds, predict ms per
draft (one draft at a time), model size on disk.

Run: ``python -m evaluation.charge_benchmark [--benchmark-data ../shared/data] [--out docs/benchmarks/charges.json]``.
Exits with status 2 and says why when the shared data folder is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from evaluation.datasets import cail_split, load_cail_pooled
from evaluation.output import emit_json, provenance
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.charge_model import ChargeModelConfig, ChargePredictor, canonical_charges, vote_charges
from indexing.errors import LeiAnError
from indexing.extract import extract_charges

REPO = Path(__file__).resolve().parents[1]
CAIL_DIR = Path("cail2018_sample")
LECARD_FILE = Path("lecard_queries") / "lecard_v1_query.jsonl"
K_NEIGHBOURS = 10
SEED = 0
METHODS = ("named_in_text", "text", "votes", "text+votes")


def tfidf_neighbours(
    corpus: Sequence[str], queries: Sequence[str] | None, k: int = K_NEIGHBOURS
) -> np.ndarray:
    """Positions in ``corpus`` of each query's k most similar facts (char 1–2-gram TF-IDF cosine).

    With ``queries=None`` the corpus searches itself, each fact left out of its own list.
    """
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
    x_corpus = vec.fit_transform(corpus)
    x_query = x_corpus if queries is None else vec.transform(queries)
    tops = []
    for start in range(0, x_query.shape[0], 500):
        sim = (x_query[start : start + 500] @ x_corpus.T).toarray()
        if queries is None:
            rows = np.arange(sim.shape[0])
            sim[rows, start + rows] = -np.inf  # leave one out
        tops.append(np.argsort(-sim, axis=1, kind="stable")[:, :k])
    return np.vstack(tops) if tops else np.zeros((0, k), dtype=np.int64)


def figures(predicted: Sequence[Sequence[str]], truth: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro/macro-F1, top-1 and exact-set accuracy of predicted charge lists (most likely first)."""
    mlb = MultiLabelBinarizer().fit([*truth, *predicted])
    y_true, y_pred = mlb.transform(truth), mlb.transform(predicted)
    n = len(truth)
    return {
        "micro_f1": round(float(f1_score(y_true, y_pred, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4),
        "top1_accuracy": round(sum(bool(p) and p[0] in t for p, t in zip(predicted, truth, strict=True)) / n, 4),
        "exact_set_accuracy": round(sum(set(p) == set(t) for p, t in zip(predicted, truth, strict=True)) / n, 4),
        "mean_predicted": round(sum(len(p) for p in predicted) / n, 3),
        "cases": n,
    }


def evaluate(
    model: ChargePredictor, texts: Sequence[str], truth: Sequence[Sequence[str]],
    neighbours: Sequence[Sequence[Sequence[str]]],
) -> dict[str, dict[str, float]]:
    """The four methods' figures on one suite."""
    preds = {
        "named_in_text": [extract_charges(t) for t in texts],
        "text": [[c for c, _p in row] for row in model.predict(texts)],
        "votes": [vote_charges(cases) for cases in neighbours],
        "text+votes": [[c for c, _p in row] for row in model.predict(texts, neighbours)],
    }
    return {name: figures(preds[name], truth) for name in METHODS}


def load_lecard(path: Path) -> tuple[list[str], list[list[str]], int]:
    """LeCaRD v1 query facts and their canonical charges; queries without a known charge are skipped."""
    texts, labels, skipped = [], [], 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            item = json.loads(line)
            charges = canonical_charges(item.get("crime") or [])
            if not charges or not str(item.get("q", "")).strip():
                skipped += 1
                continue
            texts.append(item["q"])
            labels.append(charges)
    return texts, labels, skipped


def predict_ms(model: ChargePredictor, texts: Sequence[str], neighbours: Sequence | None = None) -> dict[str, float]:
    """Milliseconds to predict one draft at a time (mean, median, p95 over ``texts``)."""
    times = []
    for i, text in enumerate(texts):
        start = time.perf_counter()
        model.predict([text], None if neighbours is None else [neighbours[i]])
        times.append((time.perf_counter() - start) * 1000)
    return {"mean": round(float(np.mean(times)), 3), "p50": round(float(np.median(times)), 3),
            "p95": round(float(np.percentile(times, 95)), 3), "drafts": len(times)}


def run(data_dir: Path, *, config: ChargeModelConfig | None = None, seed: int = SEED) -> dict[str, Any]:
    """Fit on the CAIL corpus part, evaluate on its held-out part and on LeCaRD v1; see the module docstring."""
    corpus, held = cail_split(load_cail_pooled(data_dir / CAIL_DIR))
    train_texts = [r["fact"] for r in corpus]
    train_labels = [canonical_charges(r["meta"]["accusation"]) for r in corpus]
    held_texts = [r["fact"] for r in held]
    held_labels = [canonical_charges(r["meta"]["accusation"]) for r in held]
    lecard_texts, lecard_labels, lecard_skipped = load_lecard(data_dir / LECARD_FILE)

    start = time.perf_counter()
    train_nb = tfidf_neighbours(train_texts, None)
    query_nb = tfidf_neighbours(train_texts, held_texts + lecard_texts)
    retrieval_s = time.perf_counter() - start

    def charges_of(rows: np.ndarray) -> list[list[list[str]]]:
        return [[train_labels[j] for j in row] for row in rows]

    train_votes = charges_of(train_nb)
    held_votes, lecard_votes = charges_of(query_nb[: len(held)]), charges_of(query_nb[len(held) :])

    start = time.perf_counter()
    model = ChargePredictor(config).fit(train_texts, train_labels, seed=seed, neighbour_charges=train_votes)
    fit_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="leian-charges-") as tmp:
        model.save(tmp)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        files = {p.name: p.stat().st_size for p in sorted(Path(tmp).iterdir())}
    seen = set(model.classes)
    return {
        "suites": {
            "cail2018_heldout": evaluate(model, held_texts, held_labels, held_votes),
            "lecard_v1": {
                **evaluate(model, lecard_texts, lecard_labels, lecard_votes),
                "skipped_without_charge": lecard_skipped,
                "queries_with_a_charge_unseen_in_training": sum(any(c not in seen for c in t) for t in lecard_labels),
            },
        },
        "data": {
            "corpus_cases": len(corpus),
            "heldout_cases": len(held),
            "heldout_charges_unseen_in_corpus": sum(any(c not in seen for c in t) for t in held_labels),
            "lecard_queries": len(lecard_texts),
        },
        "model": {
            "config": {k: v for k, v in model.config.__dict__.items() if k != "thresholds"},
            "info": model.info,
            "thresholds": {"text": model.calibration("text").threshold,
                           "text+votes": model.calibration("text+votes").threshold},
            "vote_weight": model.calibration("text+votes").validation["vote_weight"],
        },
        "speed": {
            "fit_seconds": round(fit_s, 2),
            "retrieval_seconds_all_suites": round(retrieval_s, 2),
            "predict_ms_per_draft_text": predict_ms(model, held_texts[:300]),
            "predict_ms_per_draft_text+votes": predict_ms(model, held_texts[:300], held_votes[:300]),
            "model_bytes": size,
            "model_files": files,
        },
        "retrieval_for_votes": "TF-IDF cosine, char 1-2-grams (sublinear tf, min_df 2) over the corpus part's "
                               f"facts, top {K_NEIGHBOURS}; corpus cases' own neighbours leave-one-out",
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain table of the suites' figures."""
    lines = [f"{'suite':18} {'method':14} {'micro-F1':>8} {'macro-F1':>8} {'top-1':>6} {'exact':>6} {'n':>5}"]
    for suite, table in report["suites"].items():
        for method in METHODS:
            f = table[method]
            lines.append(f"{suite:18} {method:14} {f['micro_f1']:8.4f} {f['macro_f1']:8.4f} "
                         f"{f['top1_accuracy']:6.4f} {f['exact_set_accuracy']:6.4f} {f['cases']:5d}")
    speed = report["speed"]
    lines.append(f"fit {speed['fit_seconds']} s, predict {speed['predict_ms_per_draft_text']['mean']} ms/draft, "
                 f"model {speed['model_bytes'] / 2**20:.1f} MiB")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run both suites, print the table and the JSON (and write it); 2 when data is missing."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_BENCHMARK_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the model's inner split and SVMs")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir
    missing = [str(data_dir / p) for p in (CAIL_DIR, LECARD_FILE) if not (data_dir / p).exists()]
    if missing:
        print(f"error: shared data not found: {', '.join(missing)}. The charge benchmark needs the CAIL2018 "
              "sample and the LeCaRD v1 queries of ../shared/data; pass --benchmark-data.", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    try:
        report = run(data_dir, seed=args.seed)
    except LeiAnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = {
        "benchmark": "charge prediction from facts",
        "about": {**provenance("python -m evaluation.charge_benchmark " + " ".join(sys.argv[1:] if argv is None else argv)),
                  "date": started.isoformat(timespec="seconds")},
        **report,
    }
    print(format_report(report), file=sys.stderr)
    emit_json(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

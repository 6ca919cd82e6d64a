"""Variants of the charge model compared on an inner validation split of the CAIL corpus part only.

Why a separate run: the settings in :class:`indexing.charge_model.ChargeModelConfig` were chosen here,
never on the held-out 20 % that :mod:`evaluation.charge_benchmark` reports. The corpus part (80 % of
:func:`evaluation.datasets.cail_split`) is split again exactly as the model's own fit splits it
(:func:`indexing.charge_model.inner_split`, seed 0); each variant is fitted on the fit part (which it
splits once more for its own threshold and vote weight) and measured on the validation part:

* as published (CAIL facts mask their own charge name as ××), text model alone and with the votes of
  the top-10 similar fit-part cases (char 1–2-gram TF-IDF cosine, as in the benchmark);
* with the masked charge names written out (:func:`indexing.charge_model.restore_masked_charge`), a stand-in for drafts that name the act (抢夺其手机), which CAIL never shows.

Run: ``python -m evaluation.charge_variants [--benchmark-data ../shared/data] [--out docs/benchmarks/charge_variants.json]``.
Exits with status 2 when the shared data folder is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.charge_benchmark import CAIL_DIR, figures, tfidf_neighbours
from evaluation.datasets import cail_split, load_cail_pooled
from evaluation.output import emit_json, provenance
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.charge_model import (
    ChargeModelConfig,
    ChargePredictor,
    canonical_charges,
    inner_split,
    restore_masked_charge,
)

BASE = ChargeModelConfig()
#: name -> the settings it changes from the default.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "C=1": {"c": 1.0},
    "C=20": {"c": 20.0},
    "no class weights": {"class_weight": None},
    "1-3-grams, 60k": {"ngram_range": (1, 3)},
    "1-3-grams, 100k": {"ngram_range": (1, 3), "max_features": 100_000},
    "1-2-grams, 30k": {"max_features": 30_000},
    "no folding of names/digits": {"fold": False},
    "restore masked: none": {"restore_masked": 0.0},
    "restore masked: 3/4": {"restore_masked": 0.75},
    "restore masked: all": {"restore_masked": 1.0},
}


def run(data_dir: Path, names: Sequence[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Fit every variant on the inner fit part and measure it on the inner validation part."""
    corpus, _held = cail_split(load_cail_pooled(data_dir / CAIL_DIR))  # the held-out part is never read
    texts = [r["fact"] for r in corpus]
    labels = [canonical_charges(r["meta"]["accusation"]) for r in corpus]
    fit_part, val_part = inner_split(len(texts), BASE.validation_fraction, seed)
    fit_texts, fit_labels = [texts[i] for i in fit_part], [labels[i] for i in fit_part]
    val_texts, val_labels = [texts[i] for i in val_part], [labels[i] for i in val_part]
    plain_texts = [restore_masked_charge(t, c) for t, c in zip(val_texts, val_labels, strict=True)]
    fit_votes = [[fit_labels[j] for j in row] for row in tfidf_neighbours(fit_texts, None)]
    val_votes = [[fit_labels[j] for j in row] for row in tfidf_neighbours(fit_texts, val_texts)]

    rows = []
    for name in names or VARIANTS:
        config = replace(BASE, **VARIANTS[name])
        start = time.perf_counter()
        model = ChargePredictor(config).fit(fit_texts, fit_labels, seed=seed, neighbour_charges=fit_votes)
        fit_s = time.perf_counter() - start

        def charges(rows: list[list[tuple[str, float]]]) -> list[list[str]]:
            return [[c for c, _p in row] for row in rows]

        text = figures(charges(model.predict(val_texts)), val_labels)
        mixed = figures(charges(model.predict(val_texts, val_votes)), val_labels)
        plain = figures(charges(model.predict(plain_texts)), val_labels)
        rows.append({
            "variant": name,
            "changes": {k: list(v) if isinstance(v, tuple) else v for k, v in VARIANTS[name].items()},
            "text": text,
            "text+votes": mixed,
            "names_written_out_text": plain,
            "threshold": model.calibration("text").threshold,
            "vote_weight": model.calibration("text+votes").validation["vote_weight"],
            "top1_only_micro_f1_inner": round(model.calibration("text").validation["top1_only_micro_f1"], 4),
            "features": model.info["features"],
            "fit_seconds": round(fit_s, 1),
        })
        print(f"{name:28} micro-F1 {text['micro_f1']:.4f} top-1 {text['top1_accuracy']:.4f} "
              f"+votes {mixed['micro_f1']:.4f} names-out {plain['micro_f1']:.4f}/{plain['top1_accuracy']:.4f} "
              f"t={rows[-1]['threshold']} w={rows[-1]['vote_weight']} fit {fit_s:.0f} s", file=sys.stderr)
    return {
        "split": {"corpus_cases": len(corpus), "inner_fit_cases": len(fit_part),
                  "inner_validation_cases": len(val_part), "seed": seed},
        "base_config": {k: list(v) if isinstance(v, tuple) else v for k, v in BASE.__dict__.items()},
        "variants": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the variant table as JSON (stdout, and ``--out``); 2 when data is missing."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_BENCHMARK_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="run only these variants")
    args = parser.parse_args(argv)
    if not (args.data_dir / CAIL_DIR).is_dir():
        print(f"error: shared data not found: {args.data_dir / CAIL_DIR}; pass --benchmark-data.", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    report = run(args.data_dir, args.only)
    emit_json({
        "benchmark": "charge model variants, inner validation split of the CAIL corpus part",
        "about": {**provenance("python -m evaluation.charge_variants " + " ".join(sys.argv[1:] if argv is None else argv)),
                  "date": started.isoformat(timespec="seconds")},
        **report,
    }, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

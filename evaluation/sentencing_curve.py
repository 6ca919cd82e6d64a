"""Learning curve of the sentencing model on the traffic cards: do more cases of one kind narrow the ranges?

Why: on CAIL the 80 % range of the median case reaches about ×2 above the median, so a doubled sentence
is flagged only about half the time. Whether more judgments would fix that, or only facts that explain
more of the sentence, is a question with a measurable answer: fit the same model on growing random
subsets of the 2019 交通肇事罪 case cards (one charge, structured facts) and score each on the same held-out
cards as :mod:`evaluation.sentencing_benchmark` does.

Run: ``python -m evaluation.sentencing_curve [--benchmark-data ../shared/data] [--sizes 1000,2000,4051]
[--out docs/benchmarks/sentencing_curve.json]``; exits 2 when the data is absent.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from evaluation.output import emit_json
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from evaluation.sentencing_benchmark import (
    K_NEIGHBOURS,
    SEED,
    TRAFFIC_FILE,
    card_neighbours,
    evaluate,
    load_traffic_records,
)
from indexing.sentencing import SentencingConfig, SentencingModel


def curve(data_dir: Path, sizes: Sequence[int]) -> dict[str, Any]:
    """Figures per training-set size (a seeded random subset of the training cards each)."""
    train, test, _rejected = load_traffic_records(data_dir)
    order = np.random.default_rng(SEED).permutation(len(train))
    rows = []
    with threadpool_limits(1):
        for n in sizes:
            subset = [train[i] for i in sorted(order[: min(n, len(train))].tolist())]
            train_nb, test_nb = card_neighbours(subset, test, K_NEIGHBOURS)
            model = SentencingModel.fit(subset, train_nb, seed=SEED, config=SentencingConfig())
            kept = [(r, nb) for r, nb in zip(test, test_nb, strict=True) if r.outcome is not None]
            r = evaluate(model, subset, [c for c, _ in kept], [nb for _, nb in kept])
            rows.append({
                "n_train": len(subset),
                "mae_months": r["mae_months"],
                "cail_log_score": r["cail_log_score"],
                "range_80_coverage": r["intervals"]["range_80"]["coverage"],
                "range_80_upper_factor_median": r["detection"]["range_80_reach"]["upper_factor_median"],
                "doubled_flagged": r["detection"]["doubled"]["notice"]["rate"],
                "halved_flagged": r["detection"]["halved"]["notice"]["rate"],
            })
            print(rows[-1], file=sys.stderr, flush=True)
    return {"suite": "traffic_cards_2019", "n_test": len(test), "seed": SEED, "sizes": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--sizes", default="1000,2000,4051", help="training-set sizes, comma-separated")
    parser.add_argument("--out", type=Path, help="also write the JSON report here (with its provenance)")
    args = parser.parse_args(argv)
    if not (args.data_dir / TRAFFIC_FILE).is_file():
        print(f"error: {args.data_dir / TRAFFIC_FILE} not found (the shared data folder; pass --benchmark-data)",
              file=sys.stderr)
        return 2
    emit_json(curve(args.data_dir, [int(s) for s in args.sizes.split(",")]), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

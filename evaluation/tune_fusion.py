"""Choose the hybrid fusion weights on a validation split carved out of the benchmark's corpus part.

The test queries of the fixed CAIL split are never looked at: the 80 % corpus part is split again
(80/20, its own seed), an index is built on the inner part exactly as `leian build` does, and a grid
of weights is scored on the inner held-out part by NDCG@10 (the metric that rewards both same charge
and within-charge similarity). The winner becomes ``indexing.fusion.HYBRID``.

Run: ``python -m evaluation.tune_fusion [--benchmark-data ../shared/data] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_label, cail_split, load_cail_pooled
from evaluation.metrics import encode_labels, retrieval_scores
from evaluation.search_benchmark import K, build_corpus
from indexing.artifacts import current_dir
from indexing.fusion import HYBRID, Fusion, retrieve
from indexing.search_index import SearchIndex
from service.retrieve import prepare_draft

INNER_SEED = 7
GRID_BM25 = (0.0, 0.05, 0.1, 0.2)
GRID_CHARGE = (0.0, 0.05, 0.1)
GRID_ELEMENTS = (0.0, 0.1, 0.2, 0.35, 0.5)
#: weights of the charges the charge model predicts for a draft naming none (--predicted: HYBRID otherwise)
GRID_PREDICTED = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_CAIL_DIR.parent)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--predicted", action="store_true",
                        help="tune only the weight of predicted charges, the other weights as in HYBRID")
    args = parser.parse_args()
    if not (args.data_dir / "cail2018_sample").is_dir():
        sys.exit(f"tune_fusion: {args.data_dir / 'cail2018_sample'} not found (needs ../shared/data)")
    corpus, _test = cail_split(load_cail_pooled(args.data_dir / "cail2018_sample"))
    inner, valid = cail_split(corpus, seed=INNER_SEED)
    work = build_corpus(inner, args.work or Path(tempfile.mkdtemp(prefix="leian-tune-")))
    index = SearchIndex(current_dir(work))
    rows = [cail_label(inner[int(r["source_id"].rsplit(":", 1)[1]) - 1]) for r in index.rows]
    q_arr, c_arr = encode_labels([cail_label(q) for q in valid], rows)
    drafts = [prepare_draft(q["fact"], index) for q in valid]
    results = []
    if args.predicted:
        grid = [dataclasses.replace(HYBRID, predicted_charge=w) for w in GRID_PREDICTED]
    else:
        grid = [Fusion(dense=1.0, bm25=b, charge=c, elements=e)
                for b, c, e in itertools.product(GRID_BM25, GRID_CHARGE, GRID_ELEMENTS)]
    print(json.dumps({"drafts_with_predicted_charges": sum(d.charges_source == "predicted" for d in drafts)}))
    for fusion in grid:
        w_bm25, w_charge, w_elements = fusion.bm25, fusion.charge, fusion.elements
        nb = np.full((len(valid), K), -1)
        for i, d in enumerate(drafts):
            hits = retrieve(d, index, K, fusion=fusion)
            nb[i, : len(hits)] = [h.row for h in hits]
        s = retrieval_scores(q_arr, c_arr, nb, K)
        results.append({"bm25": w_bm25, "charge": w_charge, "elements": w_elements,
                        "predicted_charge": fusion.predicted_charge, "p_at_10": round(s.p_at_k, 4),
                        "ndcg_at_10": round(s.ndcg_at_k, 4), "mae": round(s.mae, 2)})
        print(json.dumps(results[-1]), flush=True)
    best = max(results, key=lambda r: (r["ndcg_at_10"], r["p_at_10"]))
    print(json.dumps({"validation_queries": len(valid), "best": best}, indent=1))


if __name__ == "__main__":
    main()

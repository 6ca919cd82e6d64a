"""Held-out suites for the benchmarks: the CAIL2018 sample pooled and split 80/20 at a fixed seed.

Why pool: in ``cail2018_sample`` the published ``test.jsonl`` shares only 22 of 102 charges with
``train.jsonl``, so the published split measures charge transfer, not similar-case retrieval. Pooling
both files and re-splitting with one fixed permutation gives a corpus (the first 80 %) and a query set
(the last 20 %) drawn from the same charge mix, and every method in every report sees the same split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.metrics import CaseLabel
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.errors import SourceError

#: The shared data folder's CAIL2018 sample.
DEFAULT_CAIL_DIR = DEFAULT_BENCHMARK_DATA / "cail2018_sample"
#: Seed of the one permutation every CAIL retrieval benchmark uses.
CAIL_SPLIT_SEED = 20240601
#: Share of the pooled records that forms the corpus (the rest are queries).
CAIL_TRAIN_FRACTION = 0.8
_CAIL_FILES = ("train.jsonl", "test.jsonl")


def load_cail_pooled(data_dir: Path | str = DEFAULT_CAIL_DIR) -> list[dict[str, Any]]:
    """Read ``train.jsonl`` then ``test.jsonl`` of the CAIL2018 sample into one list, file order kept.

    Args:
        data_dir: The ``cail2018_sample`` folder (default: ``../shared/data/cail2018_sample``).

    Returns:
        The records as parsed JSON objects (fields ``fact`` and ``meta``), 5,072 for the shared sample.

    Raises:
        SourceError: If the folder or one of its two files is missing, naming the path to provide.
    """
    data_dir = Path(data_dir)
    records: list[dict[str, Any]] = []
    for name in _CAIL_FILES:
        path = data_dir / name
        if not path.is_file():
            raise SourceError(
                f"CAIL2018 sample file not found: {path}. The benchmark needs the shared data folder "
                f"(../shared/data/cail2018_sample with {' and '.join(_CAIL_FILES)}); pass its location."
            )
        with path.open(encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from exc
    return records


def cail_split(
    records: list[dict[str, Any]], *, seed: int = CAIL_SPLIT_SEED
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split pooled records into (corpus, queries) with the benchmark's fixed permutation.

    The indices are shuffled with ``np.random.default_rng(seed).permutation(len(records))``; the first
    ``int(0.8 * n)`` form the corpus (4,057 for the shared sample) and the rest the queries (1,015).
    """
    order = np.random.default_rng(seed).permutation(len(records))
    n_train = int(CAIL_TRAIN_FRACTION * len(records))
    return [records[i] for i in order[:n_train]], [records[i] for i in order[n_train:]]


def cail_months(record: dict[str, Any]) -> float | None:
    """Fixed-term sentence in months, or None for death and life (they are not 'big numbers')."""
    term = record["meta"]["term_of_imprisonment"]
    if term.get("death_penalty") or term.get("life_imprisonment"):
        return None
    return float(term["imprisonment"])


def cail_sentence_kind(record: dict[str, Any]) -> str:
    """``"death"``, ``"life"`` or ``"term"``: the sentence type the graded relevance compares."""
    term = record["meta"]["term_of_imprisonment"]
    if term.get("death_penalty"):
        return "death"
    if term.get("life_imprisonment"):
        return "life"
    return "term"


def cail_label(record: dict[str, Any]) -> CaseLabel:
    """The labels the retrieval metrics compare, read from a CAIL record's ``meta``."""
    meta = record["meta"]
    return CaseLabel(
        charges=frozenset(meta["accusation"]),
        articles=frozenset(int(a) for a in meta["relevant_articles"]),
        kind=cail_sentence_kind(record),
        months=cail_months(record),
    )

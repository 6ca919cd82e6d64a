"""The sentencing model fitted on real CAIL records, shared by the sentencing and fast-prediction tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.sentencing_benchmark import text_neighbours
from indexing.extract import extract
from indexing.parse import parse_file
from indexing.schema import RawJudgment
from indexing.sentencing import SentencingModel

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


@pytest.fixture(scope="session")
def cail() -> dict:
    """900 of the 1,200 real CAIL records fit the model; the other 300 are held out (neighbours: TF-IDF)."""
    records = [extract(r) for r in parse_file(SAMPLES / "cail_sample.jsonl") if isinstance(r, RawJudgment)]
    assert len(records) == 1200
    order = np.random.default_rng(7).permutation(len(records))
    train = [records[i] for i in order[:900]]
    held = [records[i] for i in order[900:]]
    train_nb, held_nb = text_neighbours(train, held, 10)
    model = SentencingModel.fit(train, train_nb, seed=3)
    return {"model": model, "train": train, "train_nb": train_nb, "held": held, "held_nb": held_nb}

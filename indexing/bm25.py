"""BM25 over segment.py tokens, with bm25s (its default regex reads a run of Han characters as one token)."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np


class BM25Index:
    """A bm25s index plus the knowledge of how to tokenize queries for it."""

    def __init__(self, model: bm25s.BM25) -> None:
        self.model = model

    @classmethod
    def build(cls, corpus_tokens: list[list[str]]) -> BM25Index:
        model = bm25s.BM25(k1=1.2, b=0.75)
        # an empty document still needs a row so positions keep matching case ids
        model.index([toks or ["<empty>"] for toks in corpus_tokens], show_progress=False)
        return cls(model)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document (dense vector), for fusion and filtered search."""
        vocab = self.model.vocab_dict
        known = [t for t in query_tokens if t in vocab]
        if not known:
            return np.zeros(self.model.scores["num_docs"], dtype=np.float32)
        return self.model.get_scores(known).astype(np.float32)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False, verbosity=0))

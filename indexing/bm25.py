"""BM25 over segment.py tokens, with bm25s (its default regex reads a run of Han characters as one token)."""

from __future__ import annotations

import math
from pathlib import Path

import bm25s
import numpy as np


class BM25Index:
    """A bm25s index plus the knowledge of how to tokenize queries for it.

    Scoring reads bm25s's own precomputed per-(token, document) scores, but sums them in one
    ``np.bincount`` instead of bm25s's per-token ``np.add.at`` over memmap slices: a draft has a few
    hundred distinct tokens, and the per-token slicing (each memmap slice a Python-level
    ``__array_finalize__``) was most of a query's BM25 time. A token the draft repeats is read once
    and weighted by its count (about a third of a draft's tokens are repeats). The sums are the same
    up to float32 rounding (bincount adds in float64).
    """

    def __init__(self, model: bm25s.BM25) -> None:
        self.model = model
        scores = model.scores
        # plain ndarray views of the (possibly memory-mapped) arrays: same memory, no memmap subclass
        self._data = np.asarray(scores["data"])
        self._indices = np.asarray(scores["indices"])
        self._indptr = np.asarray(scores["indptr"]).astype(np.int64, copy=False)
        self._num_docs = int(scores["num_docs"])
        # bm25s adds an empty-string token with no postings column; ids past the matrix are skipped
        self._doc_freq = {tok: int(self._indptr[i + 1] - self._indptr[i])
                          for tok, i in model.vocab_dict.items() if i + 1 < len(self._indptr)}

    @classmethod
    def build(cls, corpus_tokens: list[list[str]]) -> BM25Index:
        model = bm25s.BM25(k1=1.2, b=0.75)
        # an empty document still needs a row so positions keep matching case ids
        model.index([toks or ["<empty>"] for toks in corpus_tokens], show_progress=False)
        return cls(model)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document (dense vector), for fusion and filtered search."""
        vocab = self.model.vocab_dict
        ids = np.fromiter((vocab[t] for t in query_tokens if t in vocab), dtype=np.int64)
        if not len(ids):
            return np.zeros(self._num_docs, dtype=np.float32)
        # a repeated token counts again, as in bm25s: each distinct token's postings once, times its count
        distinct, counts = np.unique(ids, return_counts=True)
        starts, ends = self._indptr[distinct], self._indptr[distinct + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        weights = self._data[offsets] * np.repeat(counts, lengths)
        scores = np.bincount(self._indices[offsets], weights=weights, minlength=self._num_docs)
        if self.model.nonoccurrence_array is not None:  # BM25L / BM25+ variants
            scores += float(self.model.nonoccurrence_array[ids].sum())
        return scores.astype(np.float32)

    def idf(self, token: str) -> float:
        """BM25's inverse document frequency of a token (0 documents: the largest)."""
        df = self._doc_freq.get(token, 0)
        return math.log(1 + (self._num_docs - df + 0.5) / (df + 0.5))

    def idf_within(self, tokens: list[str], mask: np.ndarray) -> dict[str, float]:
        """BM25's IDF of each of ``tokens`` counted over the documents in ``mask`` only (one domain).

        Why: in a corpus of mostly criminal cases 原告 and 被告 are rare, so corpus IDF ranks them as the
        most distinctive terms of every civil text; within the civil cases they occur in nearly all.
        Read off the postings (the documents each token occurs in): no second index.
        """
        vocab = self.model.vocab_dict
        n_docs = int(mask.sum())
        out: dict[str, float] = {}
        for tok in set(tokens):
            i = vocab.get(tok)
            df = 0
            if i is not None and i + 1 < len(self._indptr):
                df = int(mask[self._indices[self._indptr[i]:self._indptr[i + 1]]].sum())
            out[tok] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        return out

    def candidates(self, scores: np.ndarray, n: int, mask: np.ndarray | None) -> dict[int, float]:
        """The top-n rows of :meth:`scores`'s result with a score above 0, within ``mask``."""
        from indexing.dense import top_positions

        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = top_positions(scores, n)
        top = top[scores[top] > 0]
        return dict(zip(top.tolist(), scores[top].tolist(), strict=True))

    def save(self, directory: Path) -> None:
        self.model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25Index:
        return cls(bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False, verbosity=0))

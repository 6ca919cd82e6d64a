"""BM25 over segment.py tokens, with bm25s (its default regex reads a run of Han characters as one token)."""

from __future__ import annotations

import math
from pathlib import Path

import bm25s
import numpy as np

from indexing.npy_file import NpyFile

#: Postings a query reads to choose its BM25 candidates. Below it (every query on a corpus of tens of
#: thousands of cases) all of a query's postings are summed; above it (a million cases, where 被告人
#: alone has a posting per case) the candidates are chosen by the query's rarest tokens that fit, and
#: only the candidates get the exact score of every token (:class:`BM25Query`).
POSTINGS_BUDGET = 1_000_000


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
        #: postings a query may read to choose its candidates (None: every query scored exactly)
        self.postings_budget: int | None = POSTINGS_BUDGET
        scores = model.scores
        # the postings: in memory (a fresh build), or files mapped for one operation at a time (see _arrays)
        self._data = np.asarray(scores["data"])
        self._indices = np.asarray(scores["indices"])
        self._files = None
        if isinstance(scores["data"], np.memmap) and isinstance(scores["indices"], np.memmap):
            self._files = (NpyFile(scores["indices"]), NpyFile(scores["data"]))
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
        return self.query(query_tokens, exact=True).all_scores()

    def query(self, query_tokens: list[str], *, budget: int | None = None, exact: bool = False) -> BM25Query:
        """One query's scoring (see :class:`BM25Query`): within ``budget`` postings (by default this
        index's ``postings_budget``), or every document scored exactly."""
        vocab = self.model.vocab_dict
        ids = np.fromiter((vocab[t] for t in query_tokens if t in vocab), dtype=np.int64)
        return BM25Query(self, ids, None if exact else budget if budget is not None else self.postings_budget)

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
        indices, _ = self._arrays()
        for tok in set(tokens):
            i = vocab.get(tok)
            df = 0
            if i is not None and i + 1 < len(self._indptr):
                df = int(mask[indices[self._indptr[i]:self._indptr[i + 1]]].sum())
            out[tok] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        return out

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every posting's document and score, for one operation: the caller drops them when done (a map
        kept open would keep every posting a query touched in the server's memory: indexing.npy_file)."""
        if self._files is None:
            return self._indices, self._data
        return self._files[0].array(), self._files[1].array()

    def postings(self, token_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding a token (ascending: bm25s builds its matrix in document order) and its
        precomputed score in each (copies)."""
        start, end = int(self._indptr[token_id]), int(self._indptr[token_id + 1])
        indices, data = self._arrays()
        return np.array(indices[start:end]), np.array(data[start:end])

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


class BM25Query:
    """One query's BM25 scores: exact for the candidates fusion ranks, chosen within a postings budget.

    Why: scoring every document sums the postings of every query token, and at a million cases the
    common ones (被告人, 经审理查明 …) hold a posting for nearly every case: tens of millions of additions
    per query, most of a search's time. Those tokens add at most a few tenths to any score (their IDF
    is near 0) so they barely decide which documents are the top few hundred; they are left out of
    the choice, cheapest-first, until the rest fit ``postings_budget``. The chosen candidates then get
    the exact score (each left-out token's weight found by binary search in its sorted postings), so
    fusion sees the same BM25 scores as a full scoring would give them. Under the budget everything
    is exact, as before.
    """

    def __init__(self, index: BM25Index, ids: np.ndarray, postings_budget: int | None) -> None:
        self.index = index
        # a repeated token counts again, as in bm25s: each distinct token's postings once, times its count
        self.distinct, self.counts = np.unique(ids, return_counts=True)
        lengths = index._indptr[self.distinct + 1] - index._indptr[self.distinct]
        keep = np.ones(len(self.distinct), dtype=bool)
        if postings_budget is not None and int(lengths.sum()) > postings_budget:
            by_length = np.argsort(lengths, kind="stable")  # rarest first
            fits = np.cumsum(lengths[by_length]) <= postings_budget
            keep[:] = False
            keep[by_length[fits]] = True
        self.kept = keep
        self.exact = bool(keep.all())
        self._partial: np.ndarray | None = None

    def _sum(self, which: np.ndarray) -> np.ndarray:
        """Every document's summed score over the tokens in ``which`` (float64; 0 where none occurs)."""
        index = self.index
        indices, scores = index._arrays()
        docs, weights = [], []
        for token, count in zip(self.distinct[which].tolist(), self.counts[which].tolist(), strict=True):
            start, end = int(index._indptr[token]), int(index._indptr[token + 1])
            data = scores[start:end]
            docs.append(indices[start:end])
            # as bm25s, a repeated token counts again; exact scoring multiplies in float64 as it always
            # did, a budgeted one (millions of postings) in float32, rounding only the repeated tokens'
            weights.append(data.astype(np.float64) * count if self.exact
                           else data if count == 1 else data * np.float32(count))
        if not docs:
            return np.zeros(index._num_docs, dtype=np.float64)
        # one bincount over the tokens' postings in token order: the same sums as summing token by token
        return np.bincount(np.concatenate(docs), weights=np.concatenate(weights), minlength=index._num_docs)

    def _nonoccurrence(self) -> float:
        extra = self.index.model.nonoccurrence_array  # BM25L / BM25+ variants
        return float(extra[np.repeat(self.distinct, self.counts)].sum()) if extra is not None else 0.0

    def partial_scores(self) -> np.ndarray:
        """Every document's score over the kept tokens (all tokens when exact), float64."""
        if self._partial is None:
            self._partial = self._sum(self.kept) + self._nonoccurrence()
        return self._partial

    def all_scores(self) -> np.ndarray:
        """Every document's exact score (float32, as bm25s): the whole postings of every token."""
        if self.exact:
            return self.partial_scores().astype(np.float32)
        return (self._sum(np.ones(len(self.distinct), dtype=bool)) + self._nonoccurrence()).astype(np.float32)

    def top_rows(self, n: int, mask: np.ndarray | None) -> np.ndarray:
        """The n best documents (within ``mask``, score above 0) by the kept tokens, in no order."""
        scores = self.partial_scores()
        if self.exact:
            return np.fromiter(self.index.candidates(scores.astype(np.float32), n, mask), dtype=np.int64)
        # only the documents holding a kept token can score: partition those, not the whole corpus
        found = np.flatnonzero(scores > 0) if mask is None else np.flatnonzero((scores > 0) & mask)
        if len(found) > n:
            found = found[np.argpartition(-scores[found], n - 1)[:n]]
        return found

    def top(self, n: int, mask: np.ndarray | None) -> dict[int, float]:
        """The n best documents (within ``mask``) by the kept tokens, with their exact scores."""
        if self.exact:
            return self.index.candidates(self.partial_scores().astype(np.float32), n, mask)
        rows = self.top_rows(n, mask)
        return dict(zip(rows.tolist(), self.scores_of(rows).tolist(), strict=True))

    def scores_of(self, rows: np.ndarray) -> np.ndarray:
        """The exact scores of ``rows`` (float32; the values :meth:`all_scores` holds for them, up to the
        order in which float64 sums round)."""
        scores = self.partial_scores()[rows]
        if not self.exact:
            scores = scores.copy()
            indptr = self.index._indptr
            indices, postings = self.index._arrays()
            for token, count in zip(self.distinct[~self.kept].tolist(), self.counts[~self.kept].tolist(), strict=True):
                start, end = int(indptr[token]), int(indptr[token + 1])
                docs, data = indices[start:end], postings[start:end]
                at = np.searchsorted(docs, rows)
                inside = at < len(docs)
                hit = np.zeros(len(rows), dtype=bool)
                hit[inside] = docs[at[inside]] == rows[inside]
                scores[hit] += data[at[hit]].astype(np.float64) * count
        return scores.astype(np.float32)


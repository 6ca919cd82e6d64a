"""A built index version loaded read-only: rows, embeddings (mmap), FAISS, BM25 and the embedder.

Loading is the service's job at start-up (and when CURRENT changes); searching is a pure function of
the loaded arrays. The same object serves every request, so one copy of the arrays is shared. A
one-shot answer (the CLI without a server) loads ``lazy``: the models only when first used.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np

from indexing.artifacts import read_manifest
from indexing.bm25 import BM25Index
from indexing.dense import load_faiss, search

if TYPE_CHECKING:
    from indexing.charge_model import ChargePredictor
    from indexing.embed import Embedder, QueryEmbedder
    from indexing.sentencing import SentencingModel

#: Stored rows whose vectors check the lazy index's torch-free encoder (indexing.embed.ArrayEncoder).
PROBE_ROWS = 3


@dataclass
class Filters:
    """Metadata filters; each is ignored when None or empty."""

    charges: list[str] | None = None
    court_level: str | None = None
    province: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    case_type: str | None = None
    exclude_flagged: bool = False  # leave out overturned, superseded and near-duplicate cases

    def active(self) -> bool:
        return bool(
            self.charges or self.court_level or self.province or self.year_from or self.year_to or self.case_type
            or self.exclude_flagged
        )


class SearchIndex:
    """One index version, loaded whole (a server: every request finds everything ready).

    ``lazy=True`` (one answer, then exit) loads the charge and sentencing models when first used, and
    embeds one text without torch where that reproduces the index's own vectors: a CLI search then
    imports neither torch nor sentence-transformers (5-7 s of CPU) and loads no model it does not use.
    """

    def __init__(self, directory: Path, *, with_sentencing: bool = True, lazy: bool = False) -> None:
        self.directory = directory
        self.manifest = read_manifest(directory)
        with (directory / "cases.jsonl").open(encoding="utf-8") as fh:
            self.rows: list[dict] = [json.loads(line) for line in fh]
        # a plain ndarray view of the memory map (same pages, shared between workers): indexing a
        # np.memmap returns memmaps, each with its own Python-level finalizer
        self.embeddings = np.asarray(np.load(directory / "embeddings.npy", mmap_mode="r"))
        self.faiss = load_faiss(directory / "dense.faiss")
        # an exhaustive (Flat) index holds exactly these vectors: for one query, numpy's matrix-vector
        # product and a partition find the same top rows in about half of faiss's time (its k-selection
        # dominates at this size); approximate indexes (HNSW, IVF) for large corpora still search in faiss
        self._exhaustive = isinstance(faiss.downcast_index(self.faiss), faiss.IndexFlat) and len(self.embeddings) == self.faiss.ntotal
        self.bm25 = BM25Index.load(directory / "bm25")
        self.embedder: Embedder | QueryEmbedder = self._query_embedder() if lazy else self._full_embedder()
        self.version = self.manifest["version"]
        self.row_of = {row["case_id"]: i for i, row in enumerate(self.rows)}
        # filters are vectorized: an inverted list per charge and one array per filterable column
        rows_of_charge: dict[str, list[int]] = {}
        for i, r in enumerate(self.rows):
            for charge in r["charges"]:
                rows_of_charge.setdefault(charge, []).append(i)
        self._rows_of_charge = {c: np.array(v) for c, v in rows_of_charge.items()}
        self._columns = {key: np.array([r[key] or "" for r in self.rows], dtype=object)
                         for key in ("court_level", "province", "case_type")}
        self._years = np.array([r["year"] or 0 for r in self.rows])
        self._flagged = np.array([bool(r["flags"]["overturned"] or r["flags"]["superseded"] or r["flags"]["near_duplicate_of"])
                                  for r in self.rows])
        self._doc_freq = self._document_frequencies()
        self._with_sentencing = with_sentencing
        self._models_lock = threading.Lock()
        self._charge_model: ChargePredictor | None = None
        self._sentencing: SentencingModel | None = None
        self._loaded: set[str] = set()
        if not lazy:
            self.load_models()

    def _full_embedder(self) -> Embedder:
        from indexing.embed import Embedder

        return Embedder.load(str(self.directory / "embedder"))

    def _query_embedder(self) -> QueryEmbedder:
        from indexing.embed import QueryEmbedder

        with_facts = [i for i, row in enumerate(self.rows) if row.get("facts")]
        probes = with_facts[:: max(1, len(with_facts) // PROBE_ROWS)][:PROBE_ROWS]
        return QueryEmbedder(self.directory / "embedder", [self.rows[i]["facts"] for i in probes],
                             np.asarray(self.embeddings[probes], dtype=np.float32))

    def load_models(self) -> None:
        """Load the charge and sentencing models now, if not yet (a server, before it serves)."""
        _ = self.charge_model, self.sentencing

    @property
    def charge_model(self) -> ChargePredictor | None:
        """The charge predictor fitted at build time (None when the version has none)."""
        if "charges" not in self._loaded:
            with self._models_lock:
                if "charges" not in self._loaded and (self.directory / "charges").is_dir():
                    from indexing.charge_model import ChargePredictor

                    self._charge_model = ChargePredictor.load(self.directory / "charges")
                self._loaded.add("charges")
        return self._charge_model

    @property
    def sentencing(self) -> SentencingModel | None:
        """The sentencing model (None when the version has none or it was not asked for)."""
        if "sentencing" not in self._loaded:
            with self._models_lock:
                if "sentencing" not in self._loaded and self._with_sentencing and (self.directory / "sentencing").is_dir():
                    from indexing.sentencing import SentencingModel

                    self._sentencing = SentencingModel.load(self.directory / "sentencing")
                self._loaded.add("sentencing")
        return self._sentencing

    def __len__(self) -> int:
        return len(self.rows)

    def _document_frequencies(self) -> dict[str, int]:
        model = self.bm25.model
        indptr = np.asarray(model.scores["indptr"])
        # bm25s adds an empty-string token with no postings column; skip ids past the matrix
        return {tok: int(indptr[i + 1] - indptr[i]) for tok, i in model.vocab_dict.items() if i + 1 < len(indptr)}

    def idf(self, token: str) -> float:
        n = len(self.rows)
        df = self._doc_freq.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of rows passing the filters, or None when no filter is active."""
        if not filters.active():
            return None
        keep = np.ones(len(self.rows), dtype=bool)
        if filters.charges:
            with_charge = np.zeros(len(self.rows), dtype=bool)
            for charge in filters.charges:
                if charge in self._rows_of_charge:
                    with_charge[self._rows_of_charge[charge]] = True
            keep &= with_charge
        for key, column in self._columns.items():
            value = getattr(filters, key)
            if value:
                keep &= column == value
        if filters.year_from:
            keep &= self._years >= filters.year_from
        if filters.year_to:
            keep &= (self._years <= filters.year_to) & (self._years > 0)
        if filters.exclude_flagged:
            keep &= ~self._flagged
        return keep

    def dense_candidates(self, query_vec: np.ndarray, n: int, mask: np.ndarray | None) -> dict[int, float]:
        """Top-n rows by cosine. With a filter, score the filtered rows exactly (they are few)."""
        if mask is None and self._exhaustive:
            scores = self.embeddings @ query_vec.astype(np.float32)
            top = _top(scores, n)
            return dict(zip(top.tolist(), scores[top].tolist(), strict=True))
        if mask is None:
            rows, scores = search(self.faiss, query_vec, min(n, len(self.rows)))
            return dict(zip(rows.tolist(), scores.tolist(), strict=True))
        allowed = np.flatnonzero(mask)
        if not len(allowed):
            return {}
        scores = self.embeddings[allowed] @ query_vec.astype(np.float32)
        top = np.argsort(-scores)[:n]
        return dict(zip(allowed[top].tolist(), scores[top].tolist(), strict=True))

    def bm25_candidates(self, tokens: list[str], n: int, mask: np.ndarray | None) -> dict[int, float]:
        scores = self.bm25.scores(tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = _top(scores, n)
        top = top[scores[top] > 0]
        return dict(zip(top.tolist(), scores[top].tolist(), strict=True))


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores (all of them when there are fewer), in no order."""
    n = min(n, len(scores))
    return np.argpartition(-scores, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)

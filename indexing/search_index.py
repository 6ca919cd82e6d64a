"""A built index version loaded read-only, as its parts: rows, dense vectors, BM25, the embedder, the models.

Each part owns its own state and answers for it: :class:`~indexing.rows.RowStore` the display rows and
the filters, :class:`~indexing.dense.DenseIndex` the vectors (mmap) and FAISS,
:class:`~indexing.bm25.BM25Index` the lexical scores, the embedder and the charge and sentencing
models their predictions. ``SearchIndex`` only loads them together, so a version is one object to
swap. Loading is the service's job at start-up (and when CURRENT changes); searching is a pure
function of the loaded arrays. A one-shot answer (the CLI without a server) loads ``lazy``: the
models only when first used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexing.artifacts import read_manifest
from indexing.bm25 import BM25Index
from indexing.dense import DenseIndex
from indexing.rows import Filters, IndexRow, RowStore

if TYPE_CHECKING:
    from indexing.charge_model import ChargePredictor
    from indexing.embed import Embedder, QueryEmbedder
    from indexing.milvus_backend import MilvusCandidates
    from indexing.sentencing import SentencingModel

#: Fewest cases of a draft's own type (civil, criminal) whose term statistics rank its key terms; below
#: it the whole corpus's are used (a handful of civil cases would make every word look common).
MIN_DOMAIN_CASES = 30

#: Stored rows whose vectors check the lazy index's torch-free encoder (indexing.embed.ArrayEncoder).
PROBE_ROWS = 3


__all__ = ["Filters", "SearchIndex"]


class SearchIndex:
    """One index version, loaded whole (a server: every request finds everything ready).

    ``lazy=True`` (one answer, then exit) loads the charge and sentencing models when first used, and
    embeds one text without torch where that reproduces the index's own vectors: a CLI search then
    imports neither torch nor sentence-transformers (5-7 s of CPU) and loads no model it does not use.
    """

    def __init__(self, directory: Path, *, with_sentencing: bool = True, lazy: bool = False) -> None:
        self.directory = directory
        self.manifest = read_manifest(directory)
        self.version = self.manifest["version"]
        self.store = RowStore.load(directory / "cases.jsonl")
        self.dense = DenseIndex(directory)
        self.bm25 = BM25Index.load(directory / "bm25")
        self.milvus = self._milvus()
        self.embedder: Embedder | QueryEmbedder = self._query_embedder() if lazy else self._full_embedder()
        self._with_sentencing = with_sentencing
        self._models_lock = threading.Lock()
        self._charge_model: ChargePredictor | None = None
        self._sentencing: SentencingModel | None = None
        self._loaded: set[str] = set()
        if not lazy:
            self.load_models()

    def _milvus(self) -> MilvusCandidates | None:
        """The version's Milvus collection when it was built with ``--backend milvus`` (else FAISS serves)."""
        spec = self.manifest.get("backend")
        if not spec or spec.get("kind") != "milvus":
            return None
        from indexing.milvus_backend import MilvusCandidates

        return MilvusCandidates(spec, self.directory.parent.parent)

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
        return len(self.store)

    # what callers read of the parts, under the names they have always had

    @property
    def rows(self) -> Sequence[IndexRow]:
        """The display rows, in index order (row i is vector i)."""
        return self.store.rows

    @property
    def row_of(self) -> Mapping[str, int]:
        return self.store.row_of

    @property
    def embeddings(self) -> np.ndarray:
        return self.dense.embeddings

    def idf(self, token: str) -> float:
        return self.bm25.idf(token)

    def term_weights(self, tokens: list[str], case_type: str) -> Callable[[str], float]:
        """How distinctive each of a draft's terms is among the cases of its own type (see
        :meth:`indexing.bm25.BM25Index.idf_within`), or in the whole corpus where that type has fewer
        than MIN_DOMAIN_CASES cases."""
        mask = self.store.mask(Filters(case_type=case_type))
        n = 0 if mask is None else int(mask.sum())
        if n < MIN_DOMAIN_CASES or n >= 0.9 * len(self):  # too few to count on, or nearly the corpus itself
            return self.idf
        within = self.bm25.idf_within(tokens, mask)
        return lambda token: within[token] if token in within else self.idf(token)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of rows passing the filters, or None when no filter is active."""
        return self.store.mask(filters)

    def dense_candidates(self, query_vec: np.ndarray, n: int, mask: np.ndarray | None) -> dict[int, float]:
        """Top-n rows by cosine (see :meth:`indexing.dense.DenseIndex.candidates`)."""
        return self.dense.candidates(query_vec, n, mask)

    def bm25_candidates(self, tokens: list[str], n: int, mask: np.ndarray | None) -> dict[int, float]:
        """Top-n rows by BM25 with a score above 0, within ``mask``."""
        return self.bm25.query(tokens).top(n, mask)

"""FAISS index over L2-normalized embeddings (inner product = cosine), built from a factory string.

Which index a version serves is chosen by its size (:func:`default_faiss_spec`): ``Flat`` (exact)
below 50k cases; above, an inverted file over 8-bit scalar-quantized codes (``IVF{nlist},SQ8``, a
quarter of the float32 bytes) whose candidates are re-scored exactly from ``embeddings.npy``
(only the candidates' rows are read), so the scores fusion sees are the exact cosines
and the quantization costs no recall among the re-scored depth (``docs/benchmarks/ann_1m_synthetic.json``
has the comparison with HNSW and IVF-PQ on the same vectors that chose it). Any factory string can
still be asked for (``leian build --faiss``). Row i of the index is row i of the artifact's case list,
so no id map is needed and appending keeps positions stable.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import faiss
import numpy as np

from indexing.npy_file import NpyFile

#: Below this many cases the exact index is both fast enough and the smallest that is exact.
APPROXIMATE_FROM = 50_000

#: An approximate index's candidates are re-scored exactly: it is asked for this many times the rows
#: wanted (at least RERANK_MIN), so a row the codes rank a little low still reaches the exact scoring.
RERANK_FACTOR = 2
RERANK_MIN = 100

#: A filter passing at most this many rows is scored exactly over those rows (read from the file); a
#: wider one searches the approximate index restricted to the filter's rows.
EXACT_FILTERED_UP_TO = 10_000

#: Rows an unfiltered approximate search asks for (the candidates' depth): smaller asks read its head.
UNFILTERED_DEPTH = RERANK_FACTOR * 200

#: Rows read one pread each (a query's re-scored candidates); more through a map made for that read.
PREAD_UP_TO = 2_000


def default_faiss_spec(n: int) -> str:
    """The served index for ``n`` cases: exact below APPROXIMATE_FROM, else IVF-SQ8 with ~4·√n lists."""
    if n < APPROXIMATE_FROM:
        return "Flat"
    nlist = 2 ** round(math.log2(4 * math.sqrt(n)))  # 50k: 1024, 1M: 4096, 10M: 16384
    return f"IVF{nlist},SQ8"


def build_faiss(embeddings: np.ndarray, spec: str = "Flat", *, seed: int = 0) -> faiss.Index:
    """Build and fill an index. IVF/PQ/SQ variants are trained on (a sample of) the same vectors."""
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    dim = vectors.shape[1]
    index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        ivf = faiss.try_extract_index_ivf(index)
        # k-means wants ~40 training vectors per list; more than that only costs training time
        cap = max(100_000, 40 * ivf.nlist) if ivf is not None else 100_000
        rng = np.random.default_rng(seed)
        sample = vectors if len(vectors) <= cap else vectors[np.sort(rng.choice(len(vectors), cap, replace=False))]
        index.train(sample)
    index.add(vectors)
    set_search_params(index)
    return index


def set_search_params(index: faiss.Index, *, ef_search: int = 128, nprobe: int = 32) -> None:
    """Recall/speed knobs of approximate indexes (no effect on Flat)."""
    hnsw = getattr(faiss.downcast_index(index), "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = ef_search
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = nprobe


def save_faiss(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_faiss(path: Path, mmap: bool = True) -> faiss.Index:
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    try:
        index = faiss.read_index(str(path), flags)
    except RuntimeError:  # some index types cannot be memory-mapped
        index = faiss.read_index(str(path))
    set_search_params(index)
    return index


def search(index: faiss.Index, query: np.ndarray, k: int, params: faiss.SearchParameters | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows and scores for one query vector; rows of -1 (fewer than k found) are dropped."""
    scores, rows = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k, params=params)
    keep = rows[0] >= 0
    return rows[0][keep], scores[0][keep]


def top_positions(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores (all of them when there are fewer), in no order."""
    n = min(n, len(scores))
    return np.argpartition(-scores, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)


class DenseIndex:
    """The vectors of one index version (``embeddings.npy``, memory-mapped) and the FAISS index over them."""

    def __init__(self, directory: Path) -> None:
        # a plain ndarray view of the memory map (same pages, shared between workers): indexing a
        # np.memmap returns memmaps, each with its own Python-level finalizer
        mapped = np.load(directory / "embeddings.npy", mmap_mode="r")
        self.embeddings = np.asarray(mapped)
        # the rows an approximate index re-scores are read from the file, not through this map, which
        # would keep every row a query touched in the process's memory (indexing.npy_file)
        self._file = NpyFile(mapped)
        self.faiss = load_faiss(directory / "dense.faiss")
        # an exhaustive (Flat) index holds exactly these vectors: for one query, numpy's matrix-vector
        # product and a partition find the same top rows in about half of faiss's time (its k-selection
        # dominates at this size); approximate indexes (IVF, HNSW) for large corpora still search in faiss
        self.exhaustive = (isinstance(faiss.downcast_index(self.faiss), faiss.IndexFlat)
                           and len(self.embeddings) == self.faiss.ntotal)
        self._ivf = faiss.try_extract_index_ivf(self.faiss)
        self._last = threading.local()
        self._hnsw = getattr(faiss.downcast_index(self.faiss), "hnsw", None)

    def __len__(self) -> int:
        return len(self.embeddings)

    def candidates(self, query_vec: np.ndarray, n: int, mask: np.ndarray | None) -> dict[int, float]:
        """Top-n rows by cosine, with exact scores whichever index found them.

        With a filter: the filtered rows scored exactly when they are few (or the index is exact),
        else the approximate index searched within them.
        """
        query = np.ascontiguousarray(query_vec, dtype=np.float32)
        if mask is None and self.exhaustive:
            scores = self.embeddings @ query
            top = top_positions(scores, n)
            return dict(zip(top.tolist(), scores[top].tolist(), strict=True))
        if mask is not None:
            allowed = np.flatnonzero(mask)
            if not len(allowed):
                return {}
            if self.exhaustive or len(allowed) <= EXACT_FILTERED_UP_TO:
                return self._exact(allowed, query, n)
        depth = min(len(self), max(RERANK_FACTOR * n, RERANK_MIN))
        if mask is None:
            found = self._unfiltered(query, depth)[:depth]
        else:
            found = self._within_last(query, mask, n)
            if found is None:
                found, _ = search(self.faiss, query, depth, self._restricted(mask))
        return self._exact(found, query, n)

    def _within_last(self, query: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray | None:
        """The rows of ``mask`` among this query's unfiltered search, when that search was just made and
        at least ``n`` of its rows pass: every other row of the mask then scores below all of them (the
        search returns its rows best first), so they hold the mask's top n. A draft's narrowed pool (the
        cases of its charges) is most often answered so, without a second search."""
        last = getattr(self._last, "value", None)
        if last is None or last[0][0] != query.tobytes():
            return None
        inside = last[1][mask[last[1]]]
        return inside if len(inside) >= n else None

    def _unfiltered(self, query: np.ndarray, depth: int) -> np.ndarray:
        """The approximate index's rows for ``query``, best first, at least ``depth`` (or all) of them.

        A draft is searched twice unfiltered (the charge model's neighbours, then its candidates), and
        the inverted lists it scans are the same whatever the depth: one search at UNFILTERED_DEPTH
        serves both (the last query per thread is kept).
        """
        key = (query.tobytes(), self._ivf.nprobe if self._ivf is not None else None,
               self._hnsw.efSearch if self._hnsw is not None else None)  # the knobs change the answer
        last = getattr(self._last, "value", None)
        if last is not None and last[0] == key and (len(last[1]) >= depth or last[2]):
            return last[1]
        want = min(len(self), max(depth, UNFILTERED_DEPTH))
        found, _ = search(self.faiss, query, want)
        self._last.value = (key, found, want == len(self))
        return found

    def vectors(self, rows: np.ndarray | list[int]) -> np.ndarray:
        """The stored vectors of ``rows`` (in that order), read from the file."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.exhaustive or self.embeddings.ndim != 2 or not len(self):  # an exact index reads the whole map anyway
            return np.asarray(self.embeddings[rows], dtype=np.float32)
        if len(rows) > PREAD_UP_TO:  # through a map of its own, unmapped when this returns
            return np.asarray(self._file.array()[rows], dtype=np.float32)
        return self._file.rows(rows).astype(np.float32, copy=False)

    def _exact(self, rows: np.ndarray, query: np.ndarray, n: int) -> dict[int, float]:
        """The top-n of ``rows`` by exact cosine, read in ascending row order (the file forwards)."""
        rows = np.sort(rows)
        scores = self.vectors(rows) @ query
        top = np.argsort(-scores, kind="stable")[:n]
        return dict(zip(rows[top].tolist(), scores[top].tolist(), strict=True))

    def _restricted(self, mask: np.ndarray) -> faiss.SearchParameters:
        """Search parameters that pass only the rows of ``mask``.

        An inverted file restricted to a share s of the rows finds about s as many of them per list,
        so it probes √(1/s) times its usual lists (capped at all of them): a filter passing 1 % of a
        million cases probes 320 of 4,096 lists, where ~800 of its rows lie.
        """
        bits = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        share = max(float(mask.mean()), 1e-9)
        if self._ivf is not None:
            nprobe = min(self._ivf.nlist, math.ceil(self._ivf.nprobe / math.sqrt(share)))
            params: faiss.SearchParameters = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        elif self._hnsw is not None:
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self._hnsw.efSearch, RERANK_MIN * 2))
        else:
            params = faiss.SearchParameters(sel=selector)
        params._keep = (bits, selector)  # the bitmap must outlive the search: faiss holds a raw pointer
        return params

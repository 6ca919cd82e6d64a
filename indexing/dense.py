"""FAISS index over L2-normalized embeddings (inner product = cosine), built from a factory string.

"Flat" is exact and right for small corpora. For large ones, "HNSW32,Flat" (graph, fast, ~1.1 KB of
links per vector plus the vectors) or "IVF{n},PQ{m}" (compressed, smallest RAM) are selectable and
benchmarked in evaluation/. Row i of the index is row i of the artifact's case list, so no id map is
needed and appending keeps positions stable.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


def build_faiss(embeddings: np.ndarray, spec: str = "Flat", *, seed: int = 0) -> faiss.Index:
    """Build and fill an index. IVF/PQ variants are trained on (a sample of) the same vectors."""
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    dim = vectors.shape[1]
    index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        rng = np.random.default_rng(seed)
        sample = vectors if len(vectors) <= 100_000 else vectors[rng.choice(len(vectors), 100_000, replace=False)]
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


def search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows and scores for one query vector; rows of -1 (fewer than k vectors) are dropped."""
    scores, rows = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
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
        self.embeddings = np.asarray(np.load(directory / "embeddings.npy", mmap_mode="r"))
        self.faiss = load_faiss(directory / "dense.faiss")
        # an exhaustive (Flat) index holds exactly these vectors: for one query, numpy's matrix-vector
        # product and a partition find the same top rows in about half of faiss's time (its k-selection
        # dominates at this size); approximate indexes (HNSW, IVF) for large corpora still search in faiss
        self.exhaustive = (isinstance(faiss.downcast_index(self.faiss), faiss.IndexFlat)
                           and len(self.embeddings) == self.faiss.ntotal)

    def __len__(self) -> int:
        return len(self.embeddings)

    def candidates(self, query_vec: np.ndarray, n: int, mask: np.ndarray | None) -> dict[int, float]:
        """Top-n rows by cosine. With a filter, score the filtered rows exactly (they are few)."""
        if mask is None and self.exhaustive:
            scores = self.embeddings @ query_vec.astype(np.float32)
            top = top_positions(scores, n)
            return dict(zip(top.tolist(), scores[top].tolist(), strict=True))
        if mask is None:
            rows, scores = search(self.faiss, query_vec, min(n, len(self.embeddings)))
            return dict(zip(rows.tolist(), scores.tolist(), strict=True))
        allowed = np.flatnonzero(mask)
        if not len(allowed):
            return {}
        scores = self.embeddings[allowed] @ query_vec.astype(np.float32)
        top = np.argsort(-scores)[:n]
        return dict(zip(allowed[top].tolist(), scores[top].tolist(), strict=True))

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

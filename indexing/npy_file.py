"""An ``.npy`` array on disk, read without a standing memory map: a fresh map per read, or ``pread`` per row.

Why: the kernel maps a file's cached pages into a process in large folios, so whatever a server's
queries touched through a map kept open stayed in its resident memory (at a million cases, the BM25
postings and re-scored vectors: 2.3 KB per case after 140 queries, docs/benchmarks/million.json),
though the page cache holds those pages anyway, shared by the service's workers and reclaimable. A
map made for one read is unmapped when its array (and every view of it) is dropped; ``pread`` maps
nothing at all.
"""

from __future__ import annotations

import mmap
import os
import weakref

import numpy as np


class NpyFile:
    """The file behind a memory-mapped ``.npy`` array (as ``np.load(mmap_mode="r")`` returns it)."""

    def __init__(self, mapped: np.memmap) -> None:
        self.dtype, self.shape, self.offset = mapped.dtype, tuple(mapped.shape), int(mapped.offset)
        self._fd = os.open(str(mapped.filename), os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def array(self) -> np.ndarray:
        """The whole array over a new map, unmapped once the array and its views are dropped."""
        count = int(np.prod(self.shape))
        if not count:
            return np.zeros(self.shape, dtype=self.dtype)
        return np.frombuffer(mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ), dtype=self.dtype, count=count,
                             offset=self.offset).reshape(self.shape)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows of a 2-D array (in the order given), one ``pread`` each: for a few hundred scattered rows."""
        size = int(self.shape[1]) * self.dtype.itemsize
        raw = b"".join([os.pread(self._fd, size, self.offset + row * size) for row in rows.tolist()])
        return np.frombuffer(raw, dtype=self.dtype).reshape(len(rows), self.shape[1])

"""Character n-grams of one or two characters as integers, and their lookup in a vocabulary, in numpy.

Why: a served draft's text is cut into a few hundred character n-grams twice (the embedder's token
bag and the sentencing model's TF-IDF ridge), and building that many Python strings, a set or a
Counter of them, and a dict lookup for each was a good part of both. Here a character is its code
point and a bigram the pair packed in one integer, so a text's n-grams are a few array operations,
and a vocabulary's one- and two-character entries are a sorted array of the same keys, looked up
with one ``searchsorted``. Callers keep their string definition as the reference (their tests
compare the two).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CODE_BITS = 21  # every Unicode code point fits in 21 bits


def gram_key(gram: str) -> int:
    """A one- or two-character string -> its integer key (unigrams below 2**21, bigrams above)."""
    if len(gram) == 1:
        return ord(gram)
    if len(gram) == 2:
        return ((ord(gram[0]) + 1) << CODE_BITS) | ord(gram[1])
    raise ValueError(f"only one- and two-character grams have keys: {gram!r}")


def gram_keys(text: str, lo: int, hi: int) -> np.ndarray:
    """The keys of every n-gram of ``text`` with ``lo <= n <= hi <= 2``, repeats included (unsorted)."""
    if not 1 <= lo <= hi <= 2:
        raise ValueError(f"n-gram lengths {lo}..{hi}: only 1..2 have keys")
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    parts = [codes] if lo == 1 else []
    if hi == 2 and len(codes) > 1:
        parts.append(((codes[:-1] + 1) << CODE_BITS) | codes[1:])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def distinct(keys: np.ndarray, *, counts: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``keys`` sorted without repeats (and how often each occurred): ``np.unique`` without its overhead."""
    keys = np.sort(keys)
    if not len(keys):
        return keys, (np.zeros(0, dtype=np.int64) if counts else None)
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    if not counts:
        return keys[first], None
    starts = np.flatnonzero(first)
    return keys[first], np.diff(np.append(starts, len(keys)))


class GramTable:
    """A vocabulary's one- and two-character entries (``(id, gram)`` pairs), looked up by key."""

    def __init__(self, entries: Iterable[tuple[int, str]]) -> None:
        pairs = [(gram_key(g), i) for i, g in entries if 1 <= len(g) <= 2]
        keys = np.array([k for k, _i in pairs], dtype=np.int64)
        order = np.argsort(keys)
        self.keys = keys[order]
        self.ids = np.array([i for _k, i in pairs], dtype=np.int64)[order]

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted distinct ``keys``: which are in the vocabulary (a mask), and their ids in that order."""
        if not len(self.keys) or not len(keys):
            return np.zeros(len(keys), dtype=bool), np.zeros(0, dtype=np.int64)
        at = np.searchsorted(self.keys, keys)  # sorted needles: each binary search starts near the last
        at[at == len(self.keys)] = 0
        hit = self.keys[at] == keys
        return hit, self.ids[at[hit]]

"""The display rows of an index version: their type, how a case becomes one, and the store that filters them.

A row is what a search result shows of a case (all anonymized, as stored) plus the fields fusion and
the sentencing statistics read. It crosses module boundaries as JSON (``cases.jsonl``, the API), so
its type is a ``TypedDict``: one declaration that every reader is checked against, with no copy per
row. :class:`RowStore` owns the rows and the filter columns built from them; how rows are kept (today
a list in memory) is its business alone, so a store that reads them from disk on demand can replace it
without touching a caller.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from indexing.schema import CaseRecord


class OutcomeRow(TypedDict):
    type: str
    months: float | None
    probation_months: float | None
    fine_yuan: float | None
    confiscation: bool


class InjuriesRow(TypedDict):
    deaths: int
    serious: int
    minor: int
    slight: int


class QuantitiesRow(TypedDict):
    amount_yuan: float | None
    drug_type: str | None
    drug_grams: float | None
    blood_alcohol_mg_100ml: float | None
    injuries: InjuriesRow


class FlagsRow(TypedDict):
    duplicate_of: str | None
    near_duplicate_of: str | None
    overturned: bool
    overturned_by: str | None
    superseded: bool
    superseded_reason: str | None
    synthetic: bool


class IndexRow(TypedDict):
    """One indexed case as ``cases.jsonl`` holds it (see :func:`display_row`)."""

    case_id: str
    source: str
    source_id: str
    case_type: str
    cause: str | None
    court: str | None
    court_level: str | None
    province: str | None
    date: str | None
    year: int | None
    case_number: str | None
    procedure: str | None
    charges: list[str]
    charges_as_written: dict[str, str]
    brackets: dict[str, list[int]]
    articles: list[int]
    outcome: OutcomeRow | None
    circumstances: list[str]
    quantities: QuantitiesRow
    flags: FlagsRow
    facts: str


def display_row(record: CaseRecord) -> IndexRow:
    """What a search result shows of a case; all anonymized, as stored."""
    return IndexRow(
        case_id=record.case_id,
        source=record.source,
        source_id=record.source_id,
        case_type=record.case_type.value,
        cause=record.cause,
        court=record.court,
        court_level=record.court_level,
        province=record.province,
        date=record.date,
        year=record.year,
        case_number=record.case_number,
        procedure=record.procedure.value if record.procedure else None,
        charges=record.charges,
        charges_as_written=record.charges_as_written,
        brackets=record.brackets,
        articles=record.articles,
        outcome=record.outcome.model_dump(mode="json") if record.outcome else None,  # type: ignore[typeddict-item]
        circumstances=[c.value for c in record.circumstances],
        quantities=record.quantities.model_dump(mode="json"),  # type: ignore[typeddict-item]
        flags=record.flags.model_dump(mode="json"),  # type: ignore[typeddict-item]
        facts=record.facts or "",
    )


def write_rows(rows: Sequence[IndexRow], path: Path) -> None:
    """``cases.jsonl``: one row per line, in index order (row i is vector i)."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_rows(path: Path) -> list[IndexRow]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


_CATEGORICAL = ("court_level", "province", "case_type", "cause")  # filter fields kept as category codes


@dataclass
class Filters:
    """Metadata filters; each is ignored when None or empty."""

    charges: list[str] | None = None
    court_level: str | None = None
    province: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    case_type: str | None = None
    cause: str | None = None  # civil cause of action (案由)
    exclude_flagged: bool = False  # leave out overturned, superseded and near-duplicate cases

    def active(self) -> bool:
        return bool(
            self.charges or self.court_level or self.province or self.year_from or self.year_to or self.case_type
            or self.cause or self.exclude_flagged
        )


class RowsOnDisk(Sequence[IndexRow]):
    """The rows of ``cases.jsonl`` read from the file (memory-mapped) when asked for, not held.

    What stays in memory is one 8-byte offset per row; a row is decoded from its line on each access,
    which costs microseconds for the few rows an answer shows and keeps a million-case index's rows
    out of the process's memory (the page cache keeps the hot ones, shared between service workers).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else b""
        starts = [0]
        find, end = self._map.find, len(self._map)
        pos = find(b"\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find(b"\n", pos + 1)
        if starts[-1] >= end:
            starts.pop()  # the newline that ends the last row starts no row
        self._starts = np.array([*starts, end], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def release_pages(self) -> None:
        """Drop the file's pages from this process's resident set (they stay in the page cache).

        After a pass over every row (building the filter columns) all of the file would count as
        this process's memory; rows are read again from the cache or the disk when asked for.
        """
        if isinstance(self._map, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)

    def _row(self, i: int) -> IndexRow:
        return json.loads(self._map[self._starts[i] : self._starts[i + 1]])

    def __getitem__(self, i):  # type: ignore[no-untyped-def,override]
        if isinstance(i, slice):
            return [self._row(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"row {i} out of range (0..{len(self) - 1})")
        return self._row(i)

    def __iter__(self) -> Iterator[IndexRow]:
        for i in range(len(self)):
            yield self._row(i)


class CaseIds(Mapping[str, int]):
    """case_id -> row, as sorted fixed-width byte strings and a binary search instead of a dict of strings."""

    def __init__(self, case_ids: Sequence[str]) -> None:
        ids = np.array([c.encode("utf-8") for c in case_ids], dtype=bytes)
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]

    def __getitem__(self, case_id: str) -> int:
        key = case_id.encode("utf-8")
        at = int(np.searchsorted(self._sorted, key))
        if at < len(self._sorted) and self._sorted[at] == key:
            return int(self._order[at])
        raise KeyError(case_id)

    def __len__(self) -> int:
        return len(self._sorted)

    def __iter__(self) -> Iterator[str]:
        for key in self._sorted:
            yield key.decode("utf-8")


class RowStore:
    """The rows of one index version and the vectorized filters over them.

    Filters are column arrays (one code array per filterable field, an inverted list per charge), so a
    filter is a few numpy comparisons over all rows rather than a Python pass. The rows themselves
    are a sequence: a list when built in memory, :class:`RowsOnDisk` when loaded from ``cases.jsonl``.
    """

    def __init__(self, rows: Sequence[IndexRow]) -> None:
        self._rows = rows
        ids: list[str] = []
        rows_of_charge: dict[str, list[int]] = {}
        values: dict[str, list[str]] = {key: [] for key in _CATEGORICAL}
        years: list[int] = []
        flagged: list[bool] = []
        for i, r in enumerate(rows):  # one pass: rows on disk are decoded once here
            ids.append(r["case_id"])
            for charge in r["charges"]:
                rows_of_charge.setdefault(charge, []).append(i)
            for key in _CATEGORICAL:
                values[key].append(r[key] or "")  # type: ignore[literal-required]
            years.append(r["year"] or 0)
            flagged.append(bool(r["flags"]["overturned"] or r["flags"]["superseded"] or r["flags"]["near_duplicate_of"]))
        self.row_of = CaseIds(ids)
        self._rows_of_charge = {c: np.array(v, dtype=np.int32) for c, v in rows_of_charge.items()}
        self._columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key, column in values.items():
            categories, codes = np.unique(np.array(column, dtype=object), return_inverse=True)
            self._columns[key] = (categories, codes.astype(np.int32))
        self._years = np.array(years, dtype=np.int16)
        self._flagged = np.array(flagged, dtype=bool)

    @classmethod
    def load(cls, path: Path) -> RowStore:
        rows = RowsOnDisk(path)
        store = cls(rows)
        rows.release_pages()
        return store

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> IndexRow:
        return self._rows[i]

    def __iter__(self) -> Iterator[IndexRow]:
        return iter(self._rows)

    @property
    def rows(self) -> Sequence[IndexRow]:
        """Every row, in index order."""
        return self._rows

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of rows passing the filters, or None when no filter is active."""
        if not filters.active():
            return None
        keep = np.ones(len(self._rows), dtype=bool)
        if filters.charges:
            with_charge = np.zeros(len(self._rows), dtype=bool)
            for charge in filters.charges:
                if charge in self._rows_of_charge:
                    with_charge[self._rows_of_charge[charge]] = True
            keep &= with_charge
        for key, (categories, codes) in self._columns.items():
            value = getattr(filters, key)
            if value:
                at = int(np.searchsorted(categories, value))
                keep &= (codes == at) if at < len(categories) and categories[at] == value else False
        if filters.year_from:
            keep &= self._years >= filters.year_from
        if filters.year_to:
            keep &= (self._years <= filters.year_to) & (self._years > 0)
        if filters.exclude_flagged:
            keep &= ~self._flagged
        return keep

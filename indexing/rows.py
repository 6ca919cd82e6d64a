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
import os
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from indexing.columns import RowColumns
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


def write_rows(rows: Iterable[IndexRow], path: Path) -> RowColumns:
    """``cases.jsonl`` (one row per line, in index order: row i is vector i) and, beside it, ``columns/``:
    the filter and fusion columns and each row's byte offset, so a server reads neither the rows nor
    the file's newlines at start-up (:meth:`RowStore.load`). One pass over ``rows`` (a generator is fine)."""
    starts = [0]
    with path.open("wb") as fh:

        def written() -> Iterator[IndexRow]:
            for row in rows:
                line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
                fh.write(line)
                starts.append(starts[-1] + len(line))
                yield row

        columns = RowColumns.from_rows(written())
    columns.arrays["row_starts"] = np.array(starts, dtype=np.int64)
    columns.save(path.parent / "columns")
    return columns


def read_rows(path: Path) -> list[IndexRow]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


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


def _line_starts(path: Path, size: int) -> np.ndarray:
    """Each line's byte offset and the file's length, scanned once through a map dropped afterwards."""
    if not size:
        return np.zeros(1, dtype=np.int64)
    offsets = [0]
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        find = mapped.find
        pos = find(b"\n")
        while pos != -1:
            offsets.append(pos + 1)
            pos = find(b"\n", pos + 1)
    if offsets[-1] >= size:
        offsets.pop()  # the newline that ends the last row starts no row
    return np.array([*offsets, size], dtype=np.int64)


class RowsOnDisk(Sequence[IndexRow]):
    """The rows of ``cases.jsonl`` read from the file when asked for, not held.

    What stays in memory is one 8-byte offset per row; a row is read (``pread``) and decoded on each
    access, which costs microseconds for the few rows an answer shows and keeps a million-case
    index's rows out of the process's memory (the page cache keeps the hot ones, shared between
    service workers).
    """

    def __init__(self, path: Path, starts: np.ndarray | None = None) -> None:
        """``starts``: each row's byte offset and the file's length (the build writes them); without
        them the file is scanned for its newlines once."""
        self.path = path
        size = path.stat().st_size
        if starts is not None:
            if len(starts) < 1 or int(starts[-1]) != size:
                raise ValueError(f"{path}: the stored row offsets do not match the file ({size} bytes)")
        else:
            starts = _line_starts(path, size)
        self._starts = starts
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def _row(self, i: int) -> IndexRow:
        # pread, not the map: a row read leaves its page in the page cache without mapping it (the kernel
        # maps cached file pages in large folios, each touch grew the process by far more than the row)
        start = int(self._starts[i])
        return json.loads(os.pread(self._fd, int(self._starts[i + 1]) - start, start))

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


class RowStore:
    """The rows of one index version and the vectorized filters over them.

    Filters read the version's column arrays (:class:`~indexing.columns.RowColumns`: a code array per
    filterable field, an inverted list per charge), so a filter is a few numpy comparisons over all
    rows rather than a Python pass. The rows themselves are a sequence: a list when built in memory,
    :class:`RowsOnDisk` when loaded from ``cases.jsonl``.
    """

    def __init__(self, rows: Sequence[IndexRow], columns: RowColumns | None = None) -> None:
        self._rows = rows
        self.columns = columns if columns is not None else RowColumns.from_rows(rows)
        if len(self.columns) != len(rows):
            raise ValueError(f"{len(self.columns)} rows of columns for {len(rows)} rows")
        self.row_of = self.columns.row_of

    @classmethod
    def load(cls, path: Path) -> RowStore:
        """The rows of ``cases.jsonl`` on disk, with the build's ``columns/`` beside it (or, for a version
        built before those were written, columns computed from the rows in one pass)."""
        if (path.parent / "columns" / "meta.json").is_file():
            columns = RowColumns.load(path.parent / "columns")
            return cls(RowsOnDisk(path, columns.arrays.get("row_starts")), columns)
        return cls(RowsOnDisk(path))

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
        cols = self.columns
        keep = np.ones(len(self._rows), dtype=bool)
        if filters.charges:
            with_charge = np.zeros(len(self._rows), dtype=bool)
            for charge in filters.charges:
                with_charge[cols.rows_of_charge(charge)] = True
            keep &= with_charge
        for key, (categories, codes) in cols.categorical.items():
            value = getattr(filters, key)
            if value:
                at = int(np.searchsorted(categories, value))
                keep &= (codes == at) if at < len(categories) and categories[at] == value else False
        if filters.year_from:
            keep &= cols.years >= filters.year_from
        if filters.year_to:
            keep &= (cols.years <= filters.year_to) & (cols.years > 0)
        if filters.exclude_flagged:
            keep &= ~cols.flagged
        return keep

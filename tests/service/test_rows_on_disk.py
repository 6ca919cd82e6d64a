"""Rows read from cases.jsonl on demand (indexing.rows.RowsOnDisk) answer as the rows read into memory did."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.rows import Filters, IndexRow, RowStore, read_rows
from tests.service.conftest import Built


def _cases(built: Built) -> Path:
    indexes = built.data_dir / "indexes"
    return indexes / (indexes / "CURRENT").read_text(encoding="utf-8").strip() / "cases.jsonl"


def _keeps(row: IndexRow, f: Filters) -> bool:
    """The filters' meaning, one row at a time."""
    year = row["year"] or 0
    flags = row["flags"]
    return (
        (not f.charges or any(c in row["charges"] for c in f.charges))
        and all(not getattr(f, k) or (row[k] or "") == getattr(f, k) for k in ("court_level", "province", "case_type", "cause"))  # type: ignore[literal-required]
        and (not f.year_from or year >= f.year_from)
        and (not f.year_to or 0 < year <= f.year_to)
        and not (f.exclude_flagged and (flags["overturned"] or flags["superseded"] or flags["near_duplicate_of"]))
    )


def test_rows_on_disk_equal_the_rows_in_memory_and_filter_alike(built: Built) -> None:
    path = _cases(built)
    rows = read_rows(path)
    store = RowStore.load(path)
    assert len(store) == len(rows) > 1000
    assert list(store) == rows and store.rows[:5] == rows[:5] and store.rows[-1] == rows[-1]
    with pytest.raises(IndexError):
        store.rows[len(rows)]
    assert all(store.row_of[r["case_id"]] == i for i, r in enumerate(rows))
    assert store.row_of.get("no-such-case") is None and "no-such-case" not in store.row_of
    some = next(r for r in rows if r["province"] and r["court_level"] and r["charges"] and r["year"])
    civil = next(r for r in rows if r["cause"])
    for f in (
        Filters(province=some["province"]),
        Filters(court_level=some["court_level"], year_from=some["year"] - 1, year_to=some["year"] + 1),
        Filters(charges=some["charges"][:1], exclude_flagged=True),
        Filters(case_type="civil", cause=civil["cause"]),
        Filters(province="不存在的省"),
    ):
        mask = store.mask(f)
        assert mask is not None and mask.tolist() == [_keeps(r, f) for r in rows], f
    assert store.mask(Filters(province=some["province"])).sum() > 0  # type: ignore[union-attr]

"""The per-row fields that filters and fusion read, as column arrays written at build time.

Why columns, and why written by the build: a search reads a few fields of a few hundred candidates
(charges, amounts, drugs, injuries, circumstances, the case type) and a filter one field of every
row. Kept as arrays they cost tens of bytes per case and a query reads them with numpy; built by
decoding every row at load they cost a million-case server a minute of start-up and the decoded rows'
memory. So the build writes them next to ``cases.jsonl`` (``columns/``: one ``.npy`` per array,
``meta.json`` for the category names) and the server memory-maps them. A version built before they
existed gets them computed from its rows at load, in one pass, as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexing.schema import CaseType, Circumstance

if TYPE_CHECKING:
    from indexing.rows import IndexRow

#: filter fields kept as category codes (one int32 code per row, the names in meta.json)
CATEGORICAL = ("court_level", "province", "case_type", "cause")

_FORMAT = 1


class CaseIds(Mapping[str, int]):
    """case_id -> row, as sorted fixed-width byte strings and a binary search instead of a dict of strings."""

    def __init__(self, sorted_ids: np.ndarray, order: np.ndarray) -> None:
        self._sorted = sorted_ids
        self._order = order

    @classmethod
    def of(cls, case_ids: Sequence[str]) -> CaseIds:
        ids = np.array([c.encode("utf-8") for c in case_ids], dtype=bytes)
        order = np.argsort(ids, kind="stable")
        return cls(ids[order], order.astype(np.int64))

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


class RowColumns:
    """Every column of one version's rows: ids, filter fields, charges, legal elements, case type."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.arrays = arrays
        self.meta = meta
        self.row_of = CaseIds(arrays["ids_sorted"], arrays["ids_order"])
        # filters
        self.categorical = {key: (np.array(meta["categories"][key], dtype=object), arrays[f"cat_{key}"])
                            for key in CATEGORICAL}
        self.years = arrays["years"]
        self.flagged = arrays["flagged"]
        # charges: each row's distinct charge ids padded with -1, and each charge's rows (CSR)
        self.charge_names: list[str] = meta["charges"]
        self.charge_of = {c: i for i, c in enumerate(self.charge_names)}
        self.charge_ids = arrays["charge_ids"]
        self.charge_counts = arrays["charge_counts"]
        self._charge_rows, self._charge_indptr = arrays["charge_rows"], arrays["charge_indptr"]
        # legal elements (indexing.fusion.element_similarities)
        self.amount = arrays["amount"]
        self.drug_grams = arrays["drug_grams"]
        self.alcohol = arrays["alcohol"]
        self.drug_types: list[str] = meta["drug_types"]
        self.drug_type = arrays["drug_type"]  # index into drug_types, -1 for none
        self.injuries = arrays["injuries"]
        self.kind_of = {k: i for i, k in enumerate(meta["circumstances"])}
        self.circumstances = arrays["circumstances"]
        self.civil = arrays["civil"]

    def __len__(self) -> int:
        return len(self.years)

    @classmethod
    def from_rows(cls, rows: Iterable[IndexRow]) -> RowColumns:
        """Every column in one pass over the rows (rows on disk are decoded once)."""
        ids: list[str] = []
        values: dict[str, list[str]] = {key: [] for key in CATEGORICAL}
        years: list[int] = []
        flagged: list[bool] = []
        charges: list[list[str]] = []
        amount: list[float] = []
        drug_grams: list[float] = []
        alcohol: list[float] = []
        drug_type: list[str | None] = []
        injuries: list[tuple[int, int, int]] = []
        circumstances: list[list[str]] = []
        civil: list[bool] = []
        for r in rows:
            ids.append(r["case_id"])
            for key in CATEGORICAL:
                values[key].append(r[key] or "")  # type: ignore[literal-required]
            years.append(r["year"] or 0)
            flags = r["flags"]
            flagged.append(bool(flags["overturned"] or flags["superseded"] or flags["near_duplicate_of"]))
            charges.append(r["charges"])
            q = r.get("quantities") or {}
            amount.append(q.get("amount_yuan") or np.nan)
            drug_grams.append(q.get("drug_grams") or np.nan)
            alcohol.append(q.get("blood_alcohol_mg_100ml") or np.nan)
            drug_type.append(q.get("drug_type"))
            inj = q.get("injuries") or {}
            injuries.append((inj.get("deaths", 0) or 0, inj.get("serious", 0) or 0, inj.get("minor", 0) or 0))
            circumstances.append(r.get("circumstances") or [])
            civil.append(r.get("case_type") == CaseType.CIVIL.value)
        n = len(ids)
        arrays: dict[str, np.ndarray] = {}
        sorted_ids = np.array([c.encode("utf-8") for c in ids], dtype=bytes)
        order = np.argsort(sorted_ids, kind="stable")
        arrays["ids_sorted"], arrays["ids_order"] = sorted_ids[order], order.astype(np.int64)
        meta: dict = {"format": _FORMAT, "rows": n, "categories": {}}
        for key, column in values.items():
            categories, codes = np.unique(np.array(column, dtype=object), return_inverse=True)
            meta["categories"][key] = [str(c) for c in categories]
            arrays[f"cat_{key}"] = codes.astype(np.int32).reshape(n)
        arrays["years"] = np.array(years, dtype=np.int16)
        arrays["flagged"] = np.array(flagged, dtype=bool)
        names = sorted({c for cs in charges for c in cs})
        charge_of = {c: i for i, c in enumerate(names)}
        meta["charges"] = names
        row_charges = [sorted({charge_of[c] for c in cs}) for cs in charges]
        width = max((len(x) for x in row_charges), default=0)
        ids_matrix = np.full((n, max(width, 1)), -1, dtype=np.int32)
        for i, x in enumerate(row_charges):
            ids_matrix[i, : len(x)] = x
        arrays["charge_ids"] = ids_matrix
        arrays["charge_counts"] = (ids_matrix >= 0).sum(axis=1).astype(np.int32)
        # each charge's rows, ascending: the rows of ids_matrix's entries sorted by charge id
        flat_rows, flat_cols = np.nonzero(ids_matrix >= 0)
        flat_ids = ids_matrix[flat_rows, flat_cols]
        by_charge = np.argsort(flat_ids, kind="stable")
        arrays["charge_rows"] = flat_rows[by_charge].astype(np.int32)
        arrays["charge_indptr"] = np.concatenate([[0], np.cumsum(np.bincount(flat_ids, minlength=len(names)))]).astype(np.int64)
        arrays["amount"] = np.array(amount, dtype=np.float64)
        arrays["drug_grams"] = np.array(drug_grams, dtype=np.float64)
        arrays["alcohol"] = np.array(alcohol, dtype=np.float64)
        drug_types = sorted({t for t in drug_type if t is not None})
        meta["drug_types"] = drug_types
        type_of = {t: i for i, t in enumerate(drug_types)}
        arrays["drug_type"] = np.array([-1 if t is None else type_of[t] for t in drug_type], dtype=np.int16)
        arrays["injuries"] = np.array(injuries, dtype=np.int64).reshape(n, 3)
        kinds = [c.value for c in Circumstance]
        kinds += sorted({c for cs in circumstances for c in cs} - set(kinds))
        meta["circumstances"] = kinds
        kind_of = {k: i for i, k in enumerate(kinds)}
        matrix = np.zeros((n, len(kinds)), dtype=bool)
        for i, cs in enumerate(circumstances):
            for c in cs:
                matrix[i, kind_of[c]] = True
        arrays["circumstances"] = matrix
        arrays["civil"] = np.array(civil, dtype=bool)
        return cls(arrays, meta)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, array in self.arrays.items():
            np.save(directory / f"{name}.npy", array)
        (directory / "meta.json").write_text(json.dumps(self.meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> RowColumns:
        """Memory-mapped: a column's pages are read when a filter or a query first touches them."""
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{directory}: columns format {meta.get('format')!r}, this LeiAn reads {_FORMAT}")
        arrays = {p.stem: np.asarray(np.load(p, mmap_mode="r")) for p in directory.glob("*.npy")}
        return cls(arrays, meta)

    def rows_of_charge(self, charge: str) -> np.ndarray:
        """The rows holding ``charge`` (ascending; empty for a charge no row holds)."""
        i = self.charge_of.get(charge)
        if i is None:
            return np.zeros(0, dtype=np.int32)
        return self._charge_rows[self._charge_indptr[i] : self._charge_indptr[i + 1]]

    def charge_overlap(self, charges: list[str], rows: np.ndarray) -> np.ndarray:
        """Jaccard overlap of ``charges`` with each row's charges (0 for an empty draft set).

        Counts are integers, so each ratio is the same float as ``len(q & c) / len(q | c)``.
        """
        query = set(charges)
        if not query:
            return np.zeros(len(rows), dtype=np.float64)
        ids = self.charge_ids[rows]
        shared = np.zeros(len(rows), dtype=np.int64)
        for charge in query:
            if charge in self.charge_of:
                shared += (ids == self.charge_of[charge]).any(axis=1)
        return shared / (len(query) + self.charge_counts[rows].astype(np.int64) - shared)

    def drug_type_code(self, drug_type: str | None) -> int:
        """The code rows hold for ``drug_type`` (-1 for none, -2 for a type no row has)."""
        if drug_type is None:
            return -1
        try:
            return self.drug_types.index(drug_type)
        except ValueError:
            return -2

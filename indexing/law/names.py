"""Charge names the canonical list does not use: former names, later names, abolished names.

Older judgments and datasets name charges as they were before an amendment (非法获取公民个人信息罪
before 修正案（九）); judgments since 2021 use names of 补充规定（七） that the canonical list predates
(危害珍贵、濒危野生动物罪). ``resources/law/former_names.json`` maps each onto the list entry, with
the amendment and the 罪名 determination that changed it. indexing.charges.normalize_charge reads
the index built here, so every stage of the pipeline resolves them the same way.
"""

from __future__ import annotations

from functools import cache

from indexing.law.data import read_resource
from indexing.law.models import FormerName

FORMER_FILE = "former_names.json"


@cache
def _document() -> dict:
    return read_resource(FORMER_FILE)


@cache
def former_names() -> tuple[FormerName, ...]:
    """Every former or later name with its current list entry and source, in file order."""
    return tuple(FormerName.model_validate(row) for row in _document()["former_names"])


@cache
def former_name_index() -> dict[str, FormerName]:
    """Former name (as written, with 罪) → its row."""
    return {row.name: row for row in former_names()}


def former_names_of(current: str) -> list[FormerName]:
    """The former and later names that resolve to the list entry ``current`` (or name it in ``also``)."""
    return [row for row in former_names() if row.current == current or current in row.also]


def renamed_since_list() -> list[FormerName]:
    """List entries the current 罪名 determination names otherwise (the canonical list predates 2021)."""
    return [row for row in former_names() if row.kind == "later_name"]


def abolished() -> tuple[dict, ...]:
    """Names no current charge continues one to one (嫖宿幼女罪); they are not resolved."""
    return tuple(_document()["abolished"])


def not_on_list() -> tuple[dict, ...]:
    """Charges created by 修正案（十一） that the canonical list lacks, with their article."""
    return tuple(_document()["not_on_list"])


def current_name(name: str) -> tuple[str, str | None]:
    """(current canonical name, the former name ``name`` was, or None).

    Accepts what normalize_charge accepts (CAIL spellings, selective alternatives, 帐/账). A plausible
    name on no list comes back as written with 罪; ValueError for text that is not a charge name.
    """
    from indexing.charges import resolve_charge  # imports this package lazily, and so do we

    current, former = resolve_charge(name)
    if current is None:
        raise ValueError(f"not a charge name: {name!r}")
    return current, former

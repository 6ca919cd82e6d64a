"""The law table: one ChargeLaw per charge of the canonical list, assembled from the JSON resources.

derived.json (brackets and the article map, generated from the statute) is joined with the curated
former names, interpretation thresholds and guideline starting points. Loaded once per process.
"""

from __future__ import annotations

from functools import cache

from indexing.law.data import read_resource
from indexing.law.models import Bracket, ChargeLaw, StartingPoint, Threshold
from indexing.law.names import current_name, former_names_of

DERIVED_FILE = "derived.json"
THRESHOLDS_FILE = "thresholds.json"
GUIDELINE_FILE = "guideline.json"


@cache
def derived() -> dict:
    return read_resource(DERIVED_FILE)


@cache
def thresholds_document() -> dict:
    return read_resource(THRESHOLDS_FILE)


@cache
def guideline_document() -> dict:
    return read_resource(GUIDELINE_FILE)


def _by_charge(rows: list[dict], model: type) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows:
        out.setdefault(row["charge"], []).append(model.model_validate(row))
    return out


@cache
def charge_laws() -> dict[str, ChargeLaw]:
    """Every mapped charge by canonical name."""
    table = derived()
    thresholds = _by_charge(thresholds_document()["rows"], Threshold)
    starts = _by_charge(guideline_document()["starting_points"], StartingPoint)
    out: dict[str, ChargeLaw] = {}
    for row in table["charges"]:
        name = row["name"]
        out[name] = ChargeLaw(
            name=name,
            former_names=former_names_of(name),
            article=row["article"],
            paragraph=row["paragraph"],
            penalty_article=row["penalty_article"],
            unit_only=row["unit_only"],
            brackets=[Bracket.model_validate(b) for b in row["brackets"]],
            thresholds=thresholds.get(name, []),
            starting_points=starts.get(name, []),
            mapping=row["mapping"],
            source=f"{row['source']}；罪名：{table['names_source']}",
        )
    return out


def charge_law(name: str) -> ChargeLaw | None:
    """The law of a charge named as the canonical list, a former name, or any spelling
    normalize_charge accepts; None for a name the table does not map (骗购外汇罪, unknown names)."""
    try:
        current, _ = current_name(name)
    except ValueError:
        return None
    return charge_laws().get(current)


def unmapped() -> list[dict]:
    """Charges of the canonical list with no 刑法 article, each with the reason."""
    return list(derived()["unmapped"])


def drug_aliases() -> dict[str, str]:
    """Colloquial drug names → the statute's (冰毒 → 甲基苯丙胺)."""
    return dict(thresholds_document()["drug_aliases"])

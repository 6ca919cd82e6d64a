"""General rules: the principal punishments' bounds, probation, and how circumstances move a sentence.

Loaded from ``general_rules.json`` (the 刑法's general part, words quoted from each article) and
``guideline.json`` (the 2021 guideline's circumstance adjustments and how they combine).
"""

from __future__ import annotations

from functools import cache

from indexing.law.data import read_resource
from indexing.law.models import (
    CircumstanceRule,
    CombinationRule,
    GeneralBounds,
    ProbationRules,
    Punishment,
    TermBound,
)
from indexing.law.table import guideline_document
from indexing.schema import Circumstance

GENERAL_FILE = "general_rules.json"


def _general_bounds() -> GeneralBounds:
    doc = read_resource(GENERAL_FILE)
    terms = [TermBound.model_validate(row) for row in doc["terms"]]
    punishments = [Punishment.model_validate(row) for row in doc["punishments"]]
    return GeneralBounds(
        punishments={p.type: p for p in punishments},
        terms={t.type: t for t in terms},
        probation=ProbationRules.model_validate(doc["probation"]),
        rules={row["rule"]: row for row in doc["rules"]},
    )


# 管制 3–24 months (combined 36), 拘役 1–6 (12), 有期徒刑 6–180 (240, or 300 when the total is 35 years
# or more); probation for 拘役 or 有期徒刑 ≤ 36 months, not for 累犯; art. 37, 49 and 63. A small file,
# read once at import so callers can use the constant directly.
GENERAL_BOUNDS: GeneralBounds = _general_bounds()


@cache
def _circumstance_rules() -> dict[Circumstance, CircumstanceRule]:
    rows = [CircumstanceRule.model_validate(row) for row in guideline_document()["circumstances"]]
    return {row.circumstance: row for row in rows}


def circumstance_rule(circumstance: Circumstance | str) -> CircumstanceRule:
    """The guideline's adjustment and the 刑法's 减轻/免除 permissions for one circumstance.

    Raises ValueError naming the value when it is not an indexing.schema.Circumstance.
    """
    try:
        key = Circumstance(circumstance)
    except ValueError:
        allowed = "、".join(c.value for c in Circumstance)
        raise ValueError(f"unknown circumstance {circumstance!r}; expected one of {allowed}") from None
    return _circumstance_rules()[key]


# 同向相加、逆向相减: mitigating and aggravating percentages are summed; 未成年, 未遂, 中止, 从犯 and 胁从
# (and the guideline's other "先行适用" circumstances) first multiply the baseline, one after another.
COMBINATION: CombinationRule = CombinationRule.model_validate(guideline_document()["combination"])


def starting_points_left_out() -> list[dict]:
    """Guideline starting points not included because their figures could not be verified."""
    return list(guideline_document()["left_out"])

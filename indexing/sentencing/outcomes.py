"""Deviation levels, outcome regimes and kinds, and the legal vocabulary the model and its reasons use.

Named once, here: nominal values only; every threshold comes from calibration data (calibration.py).
"""

from __future__ import annotations

import math
from enum import StrEnum

from indexing.law import GENERAL_BOUNDS, circumstance_rule
from indexing.schema import CaseRecord, Circumstance, Outcome, OutcomeType

# --------------------------------------------------------------------------------------------------
# Levels: named once, here. Nominal values only; every threshold comes from calibration data.


class DeviationLevel(StrEnum):
    """Severity of a deviation, from nested conformal levels."""

    NONE = "none"
    NOTICE = "notice"
    WARNING = "warning"
    SEVERE = "severe"


#: Nominal coverage of the range whose outside each tier flags. A real judgment is flagged at a tier
#: with nominal probability ``1 - coverage``: notice 20 %, warning 5 %, severe 1 %.
DEVIATION_TIERS: dict[DeviationLevel, float] = {
    DeviationLevel.NOTICE: 0.80,
    DeviationLevel.WARNING: 0.95,
    DeviationLevel.SEVERE: 0.99,
}
#: Nominal coverages of the ranges :meth:`SentencingModel.predict` reports.
RANGE_LEVELS: tuple[float, ...] = (0.50, 0.80, 0.95)
#: Every coverage the calibration computes a threshold for.
CALIBRATION_LEVELS: tuple[float, ...] = tuple(sorted({*RANGE_LEVELS, *DEVIATION_TIERS.values()}))
#: A charge gets its own (Mondrian) calibration with at least this many calibration cases.
MIN_GROUP_CALIBRATION = 30
#: Name of the pooled calibration group (all charges together, same outcome kind).
POOLED = "pooled"
#: Last fallback: every calibration judgment, both outcome kinds.
ALL = "all"

#: Types measured in months on the log1p scale; every other type is judged as a type.
#: Types with a term in months: those the general part bounds (刑法第38、42、45条).
TERM_TYPES = frozenset(GENERAL_BOUNDS.terms)
NON_CUSTODIAL_TYPES = frozenset({OutcomeType.FINE_ONLY, OutcomeType.EXEMPTION, OutcomeType.NOT_GUILTY})
#: Regime of the outcomes that have months; every other type is a regime of its own.
TERM_REGIME = "term"
#: Probabilities are floored here before taking logs (the classifier can output exact zeros).
_MIN_PROBABILITY = 1e-12
#: Card attributes used as features: legally relevant ones only (see the module docstring).
SENTENCING_ATTRIBUTES: tuple[str, ...] = ("fled", "liability", "injured_total")
#: Direction the law table gives each circumstance (indexing.law, the 2021 guideline); used for the
#: monotone constraints and to word reasons, never to decide a level.
MITIGATING = frozenset(c for c in Circumstance if circumstance_rule(c).direction == "mitigating")
AGGRAVATING = frozenset(c for c in Circumstance if circumstance_rule(c).direction == "aggravating")
#: How judgments name each outcome type (the law table's punishments, 刑法第33、34、37条).
TYPE_NAMES_ZH: dict[OutcomeType, str] = {t: GENERAL_BOUNDS.name(t) for t in OutcomeType}
_QUANTITY_NAMES = ("amount_yuan", "drug_grams", "blood_alcohol_mg_100ml", "deaths", "serious", "minor")
_QUANTITY_WORDS = {
    "amount_yuan": ("涉案金额", "元"),
    "drug_grams": ("毒品数量", "克"),
    "blood_alcohol_mg_100ml": ("血液酒精含量", "mg/100ml"),
    "deaths": ("死亡人数", "人"),
    "serious": ("重伤人数", "人"),
    "minor": ("轻伤人数", "人"),
}


def months_zh(months: float) -> str:
    """A term in plain Chinese, as judgments write it: 51 -> "4年3个月", 12 -> "1年", 0.5 -> "0.5个月"."""
    if months < 1:
        return f"{months:.1g}个月"
    total = round(months)
    years, rest = divmod(total, 12)
    if not years:
        return f"{rest}个月"
    return f"{years}年{rest}个月" if rest else f"{years}年"


def regime(outcome_type: OutcomeType) -> str:
    """``"term"`` for 有期徒刑/拘役/管制 (compared in months), else the type itself."""
    return TERM_REGIME if outcome_type in TERM_TYPES else outcome_type.value


def outcome_months(outcome: Outcome) -> float | None:
    """Months on the term scale: the term for 有期徒刑/拘役/管制, 0 for non-custodial, else None."""
    if outcome.type in NON_CUSTODIAL_TYPES:
        return 0.0
    if outcome.type in TERM_TYPES and outcome.months is not None:
        return float(outcome.months)
    return None


def outcome_kind(outcome_type: OutcomeType) -> str:
    """The Mondrian outcome kind: ``"term"`` (judged in months) or ``"other"`` (judged as a type).

    Thresholds are calibrated per kind (label-conditional conformal): the 6 % of CAIL judgments that
    impose no custody are rare, hard to foresee and so score high; pooled with terms they would
    widen every term range. Per kind, real term judgments are flagged at the nominal rate among
    terms, and real other judgments among those.
    """
    return TERM_REGIME if regime(outcome_type) == TERM_REGIME else "other"


def main_charge(record: CaseRecord) -> str:
    """The first-named charge: the one the sentencing guideline's starting point belongs to."""
    return record.charges[0] if record.charges else ""


def _months_or_nan(record: CaseRecord) -> float:
    months = outcome_months(record.outcome) if record.outcome is not None else None
    return math.nan if months is None else months


_SEVERITY = {
    OutcomeType.DEATH: 5,
    OutcomeType.DEATH_SUSPENDED: 4,
    OutcomeType.LIFE: 3,
    OutcomeType.FIXED_TERM: 2,
    OutcomeType.DETENTION: 2,
    OutcomeType.SURVEILLANCE: 2,
    OutcomeType.FINE_ONLY: 1,
    OutcomeType.EXEMPTION: 0,
    OutcomeType.NOT_GUILTY: -1,
}


def _severity(outcome_type: OutcomeType) -> int:
    """Rank of a type, only to say whether a type deviation is harsher or milder."""
    return _SEVERITY[outcome_type]

"""What the model returns: thresholds with their measured false-alarm rates, expectations, deviations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from indexing.schema import Circumstance, Outcome, OutcomeType
from indexing.sentencing.outcomes import DeviationLevel

# --------------------------------------------------------------------------------------------------
# Results


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Threshold(_Frozen):
    """One calibrated threshold: the conformal quantile of the nonconformity score and its evidence.

    ``measured_false_alarm`` is the share of real held-out calibration judgments this threshold
    flagged (cross-fitted: each fold judged by thresholds computed without it), over ``measured_n``.
    """

    coverage: float
    tier: DeviationLevel | None
    nominal_false_alarm: float
    value: float
    kind: str  # outcome kind it was calibrated for ("term"/"other"), or "all"
    group: str  # a charge, "pooled" (all charges of the kind) or "all"
    n: int
    measured_false_alarm: float
    measured_n: int
    raised_to_nest: bool = False


class Step(_Frozen):
    """One step of the guideline's procedure as the model takes an expectation apart (sentencing.steps).

    ``months`` is the model's median after the step; ``change_pct`` a circumstance's adjustment,
    beside ``guideline_pct``, the range the guideline allows (None where it sets none);
    ``guideline_months`` the guideline's starting point and ``range_months`` the statutory range.
    """

    step: str  # bracket / starting_point / baseline / circumstance / expected
    title: str  # 法定刑幅度 / 量刑起点 / 基准刑 / 自首 … / 宣告刑（预期）
    text: str
    months: float | None = None
    change_months: float | None = None
    change_pct: float | None = None
    circumstance: Circumstance | None = None
    guideline_pct: tuple[float | None, float | None] | None = None
    within_guideline: bool | None = None
    guideline_months: tuple[float, float] | None = None
    range_months: tuple[float, float] | None = None
    source: str | None = None


class Lawful(_Frozen):
    """What the law permits the case (indexing.sentencing.lawful), as an expectation reports it.

    ``min_months`` is below ``bracket_min_months`` only when a circumstance in ``below_bracket_by``
    permits 减轻处罚 (刑法第六十三条); ``types`` are the lawful penalty types.
    """

    articles: list[str]
    brackets: dict[str, list[int]]
    types: list[OutcomeType]
    min_months: float
    max_months: float
    bracket_min_months: float
    below_bracket_by: list[Circumstance]
    explanation: str


class Expected(_Frozen):
    """What similar cases support for one case.

    ``median_months`` is None when death or life is the most likely outcome (they are not big
    numbers) and 0 when a non-custodial sentence is. ``term_median_months`` is the median term
    *if* the sentence is a term. ``group`` is the calibration group of the term ranges (the charge,
    or "pooled" when the charge has too few calibration cases). Ranges are the terms (months, ``(low, high)``) inside the conformal
    set of that level; None when the set holds no term. ``range_types`` names, per level ("50",
    "80", "95"), the other outcome types (death, life, fine only, exemption ...) the set holds.
    """

    outcome_type: OutcomeType
    type_probabilities: dict[str, float]
    median_months: float | None
    term_median_months: float
    range_50: tuple[float, float] | None
    range_80: tuple[float, float] | None
    range_95: tuple[float, float] | None
    range_types: dict[str, list[OutcomeType]]
    probation_probability: float | None
    charge: str
    group: str
    neighbour_median_months: float | None
    n_neighbours: int
    lawful: Lawful | None = None  # None when no charge of the case is on the law table
    held_to_law: bool = False  # the model's own median left the lawful range and was held inside it


class StatutoryCheck(_Frozen):
    """A proposal judged against the law alone (sentencing.lawful.statutory_check), apart from the tiers."""

    outside: bool
    reasons: list[str]
    articles: list[str]
    min_months: float
    max_months: float
    types: list[OutcomeType]
    below_bracket_by: list[Circumstance]


class Deviation(_Frozen):
    """How far a proposed outcome is from what the model and calibration support, and why."""

    level: DeviationLevel
    kind: str  # "months", "type" or "not_comparable"
    direction: str | None  # "above", "below" or None
    score: float | None
    threshold: Threshold | None  # the tier reached, or the notice tier when none is reached
    thresholds: list[Threshold]
    proposed: Outcome
    expected: Expected
    ratio_to_median: float | None
    proposed_type_probability: float | None
    reasons: list[str]
    statutory: StatutoryCheck | None = None

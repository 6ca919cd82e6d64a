"""What the model returns: thresholds with their measured false-alarm rates, expectations, deviations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from indexing.schema import Outcome, OutcomeType
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

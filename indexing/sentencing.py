"""A sentencing model learned from the corpus, with conformal ranges and calibrated deviation levels.

Why it is built this way:

- **Outcome types are classes, not numbers.** Death, death with reprieve and life imprisonment are
  predicted by a classifier over :class:`~indexing.schema.OutcomeType`; only terms (有期徒刑, 拘役,
  管制) get months, predicted by gradient boosting on ``log1p(months)`` (sentences are multiplicative:
  an extra year means much more on top of one year than on top of ten). Non-custodial outcomes
  (单处罚金, 免予刑事处罚) are types too: on a log scale "0 months" would sit absurdly far from every
  term and swamp the calibration tails (they are 6 % of CAIL), so "no custody where similar cases got
  three years" is judged by how probable the model finds no custody.
- **Features are what the 量刑指导意见 says drives a sentence**: the charge (native categorical split,
  rare charges pooled as "other"), number of charges, amount, drug weight by drug type, blood alcohol,
  deaths and injuries, the circumstances (自首, 坦白, 累犯 ...), number of defendants, legally relevant
  card attributes (逃逸, 责任划分), plus statistics of the sentences of the case's nearest similar cases
  (computed by the caller with the search index) and an out-of-fold text regression on the facts.
  Demographic card columns (sex, birth year, education, region) are deliberately *not* features: a
  deviation warning must not treat "the defendant is a woman" as a reason a sentence may differ.
- **Thresholds are learned, never hand-set.** The training records are split (by case, so co-defendants
  stay together) into a part the models are fitted on and a calibration part they never see. On the
  calibration part each real judgment gets a nonconformity score; the deviation thresholds are
  split-conformal quantiles of those scores, Mondrian per outcome kind (terms / other types, see
  :func:`outcome_kind`) and per charge group (groups with at least :data:`MIN_GROUP_CALIBRATION`
  calibration cases of that kind), falling back to all charges of the kind, then to everything, for
  small groups and for levels a group is too small to resolve. At nominal coverage ``c`` a real, lawful
  judgment is flagged with probability about ``1 - c``; the rate each threshold actually produces is
  measured by cross-fitting on the calibration part and stored beside it.
- **Nested tiers** (:data:`DEVIATION_TIERS`): notice = outside the 80 % range, warning = outside 95 %,
  severe = outside 99 %. One score, several quantiles, so the tiers are nested by construction.

The nonconformity score of an outcome ``y`` for a case ``x`` is minus the log of its tail probability
under the model's predictive distribution, so terms and death/life are judged on one scale:

- a term (有期徒刑, 拘役, 管制): ``|log1p(months) - mu(x)| / sigma(x) - log P(term)``,
  where ``mu`` is the regression, ``sigma`` a learned difficulty (the expected absolute log residual,
  fitted out of fold; a Laplace scale, so ``exp(-|r| / sigma)`` is the tail probability of the
  residual) and ``P(term)`` the classifier's probability that the sentence is a term at all;
- any other type (death, death with reprieve, life, fine only, exemption): ``-log P(that type)``.

So "8× the expected term" and "death where the model gives death 1.5 %" score alike (about 4.2), and
a term proposed where death is most likely scores high through ``-log P(term)``. The Laplace form only
orders outcomes; the conformal quantiles turn the order into calibrated levels whatever its fit.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from pydantic import BaseModel, ConfigDict
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, VotingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from threadpoolctl import ThreadpoolController

from indexing.errors import ArtifactError
from indexing.fast_predict import fast_view
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
TERM_TYPES = frozenset({OutcomeType.FIXED_TERM, OutcomeType.DETENTION, OutcomeType.SURVEILLANCE})
NON_CUSTODIAL_TYPES = frozenset({OutcomeType.FINE_ONLY, OutcomeType.EXEMPTION, OutcomeType.NOT_GUILTY})
#: Regime of the outcomes that have months; every other type is a regime of its own.
TERM_REGIME = "term"
#: Probabilities are floored here before taking logs (the classifier can output exact zeros).
_MIN_PROBABILITY = 1e-12
#: Card attributes used as features: legally relevant ones only (see the module docstring).
SENTENCING_ATTRIBUTES: tuple[str, ...] = ("fled", "liability", "injured_total")
#: Direction the guideline gives each circumstance; used to word reasons, never to decide a level.
MITIGATING = frozenset(
    {
        Circumstance.SURRENDER,
        Circumstance.CONFESSION,
        Circumstance.PLEA_IN_COURT,
        Circumstance.PLEA_LENIENCY,
        Circumstance.FORGIVENESS,
        Circumstance.COMPENSATION,
        Circumstance.RESTITUTION,
        Circumstance.ATTEMPT,
        Circumstance.ABANDONMENT,
        Circumstance.ACCESSORY,
        Circumstance.COERCED,
        Circumstance.MINOR,
        Circumstance.FIRST_OFFENCE,
        Circumstance.MERITORIOUS,
    }
)
AGGRAVATING = frozenset({Circumstance.RECIDIVISM, Circumstance.PRIOR_RECORD})
TYPE_NAMES_ZH: dict[OutcomeType, str] = {
    OutcomeType.DEATH: "死刑",
    OutcomeType.DEATH_SUSPENDED: "死刑缓期二年执行",
    OutcomeType.LIFE: "无期徒刑",
    OutcomeType.FIXED_TERM: "有期徒刑",
    OutcomeType.DETENTION: "拘役",
    OutcomeType.SURVEILLANCE: "管制",
    OutcomeType.FINE_ONLY: "单处罚金",
    OutcomeType.EXEMPTION: "免予刑事处罚",
    OutcomeType.NOT_GUILTY: "无罪",
}
_QUANTITY_NAMES = ("amount_yuan", "drug_grams", "blood_alcohol_mg_100ml", "deaths", "serious", "minor")
_QUANTITY_WORDS = {
    "amount_yuan": ("涉案金额", "元"),
    "drug_grams": ("毒品数量", "克"),
    "blood_alcohol_mg_100ml": ("血液酒精含量", "mg/100ml"),
    "deaths": ("死亡人数", "人"),
    "serious": ("重伤人数", "人"),
    "minor": ("轻伤人数", "人"),
}
#: Grams of heroin one gram of each drug counts as, read off the quantity thresholds ("数量大") of
#: 刑法 art. 347 and the SPC/SPP 2016 interpretation on drug crimes (法释〔2016〕8号): e.g. 1 kg of
#: ketamine is "large" where 50 g of heroin is, so ketamine weighs 1/20. It pools all drug cases on
#: one harm scale so the statutory steps (10 g, 50 g heroin) can be learned from few cases per drug.
HEROIN_EQUIVALENT: dict[str, float] = {
    "海洛因": 1.0,
    "甲基苯丙胺": 1.0,
    "可卡因": 1.0,
    "吗啡": 0.5,
    "MDMA": 0.5,
    "芬太尼": 2.0,
    "甲卡西酮": 0.25,
    "氯胺酮": 0.05,
    "鸦片": 0.05,
    "杜冷丁": 0.02,
    "哌替啶": 0.02,
    "美沙酮": 0.025,
    "曲马多": 0.0125,
    "γ-羟丁酸": 0.025,
    "大麻": 0.0003,
    "咖啡因": 0.001,
    "罂粟": 0.001,
}
FORMAT_VERSION = 1
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib")


_CONTROLLER: ThreadpoolController | None = None


def _limit_threads(limits: int | None):  # type: ignore[no-untyped-def]
    """Limit OpenMP/BLAS threads with one controller made on first use.

    Why not ``threadpool_limits`` per call: it rescans every loaded native library each time, 2.7 ms
    here and 8-11 ms in a served worker (torch and faiss loaded), a fifth of an assessment's model time.
    The libraries that matter (scikit-learn's OpenMP, numpy's BLAS) are loaded before the first call.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=limits)


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


# --------------------------------------------------------------------------------------------------
# Configuration and features


@dataclass(frozen=True)
class SentencingConfig:
    """Hyper-parameters. None of them decides a warning; they shape the models the thresholds measure."""

    # Defaults chosen on an inner 80/20 validation split of the CAIL corpus part with the build's own
    # neighbour features, never on the benchmark's held-out part (2 seeds each, MAE in months):
    # 0.3 / squared+ensemble 12.05, 0.2 / ensemble 11.79, 0.3 / absolute 11.85, 0.2 / absolute 11.77.
    # A single absolute-loss booster matches the ensemble and predicts three times faster.
    calibration_fraction: float = 0.2
    # ... but at least this many calibration cases (up to half the corpus): a small corpus needs them
    # more than the fit does, since the 99 % level needs 99 cases and every Mondrian group 30
    min_calibration: int = 300
    min_charge_count: int = 10  # charges rarer than this in the fit part share the "other" category
    min_drug_type_count: int = 10
    loss: str = "absolute_error"  # of the term regression on log1p(months): the median, robust to outliers
    ensemble: bool = False  # average three boosters (squared / absolute loss / deeper) for the term
    max_iter: int = 300
    learning_rate: float = 0.05
    max_depth: int | None = 4
    min_samples_leaf: int = 10
    monotonic: str = "all"  # "none", "harm" (more amount/drugs/harm never lowers a term) or "all"
    text_model: bool = True  # out-of-fold TF-IDF ridge on the facts as one more feature
    normalized: bool = True  # per-case difficulty sigma(x); False: one sigma (the mean residual) for all
    inner_folds: int = 5  # out-of-fold text/residual predictions and cross-fitted false-alarm rates
    threads: int | None = 1  # OpenMP threads of the boosters; small data on shared cores runs best on 1


@dataclass
class _Spec:
    """The learned feature layout (vocabularies), stored with the model."""

    charges: list[str]
    drug_types: list[str]
    attributes: list[str]
    text: bool
    columns: list[int] | None = None  # columns kept (those with any value in the fit part)

    def names(self) -> list[str]:
        """Names of the columns the estimators see."""
        names = self.all_names()
        return names if self.columns is None else [names[i] for i in self.columns]

    def all_names(self) -> list[str]:
        """Names of every column :func:`_base_features` (+ the text prediction) produces."""
        return [
            "charge",
            "n_charges",
            "log_amount",
            *[f"log_grams_{d}" for d in self.drug_types],
            "log_grams_other",
            "log_heroin_equivalent",
            "blood_alcohol",
            "deaths",
            "serious",
            "minor",
            "slight",
            *[f"circ_{c.name.lower()}" for c in Circumstance],
            "defendants",
            *[f"attr_{a}" for a in self.attributes],
            "log_fact_chars",
            "nb_count",
            "nb_median",
            "nb_q25",
            "nb_q75",
            "nb_min",
            "nb_max",
            *(["text_pred"] if self.text else []),
        ]


def _log1p(value: float | None) -> float:
    return math.log1p(value) if value is not None and value >= 0 else math.nan


def _neighbour_stats(months: Sequence[float]) -> list[float]:
    """Count, median, quartiles and extremes of the neighbours' log months (NaN when none)."""
    arr = np.asarray([m for m in months if m is not None and m >= 0 and not math.isnan(m)], dtype=float)
    if arr.size == 0:
        return [0.0] + [math.nan] * 5
    logs = np.log1p(arr)
    q25, med, q75 = np.quantile(logs, [0.25, 0.5, 0.75])
    return [float(arr.size), float(med), float(q25), float(q75), float(logs.min()), float(logs.max())]


def _base_features(record: CaseRecord, neighbours: Sequence[float], spec: _Spec) -> list[float]:
    q = record.quantities
    charge = main_charge(record)
    row: list[float] = [
        float(spec.charges.index(charge)) if charge in spec.charges else float(len(spec.charges)),
        float(len(record.charges)),
        _log1p(q.amount_yuan),
    ]
    grams = _log1p(q.drug_grams)
    row += [grams if q.drug_type == d else math.nan for d in spec.drug_types]
    row.append(grams if q.drug_type not in spec.drug_types else math.nan)
    ratio = HEROIN_EQUIVALENT.get(q.drug_type or "")
    row.append(_log1p(q.drug_grams * ratio) if ratio is not None and q.drug_grams is not None else math.nan)
    row.append(q.blood_alcohol_mg_100ml if q.blood_alcohol_mg_100ml is not None else math.nan)
    row += [float(q.injuries.deaths), float(q.injuries.serious), float(q.injuries.minor), float(q.injuries.slight)]
    present = set(record.circumstances)
    row += [float(c in present) for c in Circumstance]
    row.append(float(record.defendants) if record.defendants else math.nan)
    for name in spec.attributes:
        value = record.attributes.get(name)
        row.append(float(value) if isinstance(value, int | float | bool) else math.nan)
    row.append(math.log(len(record.facts)) if record.facts else math.nan)
    row += _neighbour_stats(neighbours)
    return row


def _group_split(records: Sequence[CaseRecord], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (fit, calibration), split by case number so co-defendants never straddle the split."""
    keys = [r.case_number or r.case_id for r in records]
    unique = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_cal = int(round(fraction * len(unique)))
    cal_keys = {unique[i] for i in order[:n_cal]}
    is_cal = np.array([k in cal_keys for k in keys])
    return np.flatnonzero(~is_cal), np.flatnonzero(is_cal)


def _conformal_quantile(scores: np.ndarray, coverage: float, *, allow_max: bool = False) -> float:
    """Split-conformal threshold: the ceil((n+1)c)-th smallest score; inf when n cannot resolve c.

    When that order statistic is the set's maximum (e.g. 95 % with 37 cases), the threshold's real
    coverage can be anything up to n/(n+1) (97.4 % there): valid but blunt. Unless ``allow_max`` (the
    last fallback), such a set is treated as too small so the caller falls back to a larger one.
    """
    n = scores.size
    k = math.ceil((n + 1) * coverage)
    if n == 0 or k > n or (k == n and not allow_max):
        return math.inf
    return float(np.sort(scores)[k - 1])


def _percentile_of(value: float, quantiles: Sequence[float]) -> float:
    """Share of a group's cases at or below ``value`` from its stored 5 %-step quantiles."""
    grid = np.linspace(0.0, 1.0, len(quantiles))
    return float(np.interp(value, np.asarray(quantiles), grid))


def library_versions() -> dict[str, str]:
    """Versions the estimators were pickled with (joblib files are only safe with the same ones)."""
    from indexing.artifacts import library_versions as versions_of

    return versions_of(_LIBRARIES)


# --------------------------------------------------------------------------------------------------
# Calibration tables


@dataclass
class _Calibration:
    """Per outcome kind, group and coverage level: threshold, where it came from, its measured rate."""

    groups: dict[str, dict[str, int]]  # kind -> Mondrian group -> calibration n (POOLED included)
    table: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)

    def group_of(self, kind: str, charge: str) -> str:
        """The Mondrian group a charge falls in for an outcome kind (itself, or pooled)."""
        return charge if charge in self.table.get(kind, {}) else POOLED

    def threshold(self, kind: str, charge: str, coverage: float) -> Threshold:
        """The calibrated threshold for a proposal of ``kind`` in a ``charge`` case at ``coverage``."""
        return Threshold(**self.table[kind][self.group_of(kind, charge)][f"{coverage:.2f}"])


_Source = tuple[str, str]  # (kind, group) a threshold was computed from; (ALL, ALL) for everything


def _thresholds_for(
    scores: np.ndarray, kinds: np.ndarray, groups: np.ndarray, names: dict[str, list[str]]
) -> dict[str, dict[str, dict[float, tuple[float, _Source, int, bool]]]]:
    """(value, source, n, raised) per kind, group and level, with fallbacks and nesting.

    Fallback order for a level a set is too small to resolve (see :func:`_conformal_quantile`): the
    group's own judgments of that kind -> all charges of that kind -> every calibration judgment.
    """
    everything = {c: _conformal_quantile(scores, c, allow_max=True) for c in CALIBRATION_LEVELS}
    out: dict[str, dict[str, dict[float, tuple[float, _Source, int, bool]]]] = {}
    for kind, group_names in names.items():
        of_kind = kinds == kind
        pooled = scores[of_kind]
        out[kind] = {}
        for name in group_names:
            own = pooled if name == POOLED else scores[of_kind & (groups == name)]
            entries: dict[float, tuple[float, _Source, int, bool]] = {}
            previous = -math.inf
            for c in CALIBRATION_LEVELS:
                value, source, n = _conformal_quantile(own, c), (kind, name), own.size
                if not math.isfinite(value) and name != POOLED:
                    value, source, n = _conformal_quantile(pooled, c), (kind, POOLED), pooled.size
                if not math.isfinite(value):
                    value, source, n = everything[c], (ALL, ALL), scores.size
                raised = value < previous
                value = max(value, previous)
                entries[c] = (value, source, int(n), raised)
                previous = value
            out[kind][name] = entries
    return out


def _calibrate(scores: np.ndarray, kinds: np.ndarray, charges: np.ndarray, folds: int, seed: int) -> _Calibration:
    """Mondrian split-conformal thresholds plus cross-fitted false-alarm rates of each of them."""
    names: dict[str, list[str]] = {}
    groups = np.empty(scores.size, dtype=object)
    counts: dict[str, dict[str, int]] = {}
    for kind in (TERM_REGIME, "other"):
        of_kind = kinds == kind
        per_charge = Counter(charges[of_kind].tolist())
        mondrian = sorted(c for c, n in per_charge.items() if n >= MIN_GROUP_CALIBRATION and c)
        names[kind] = [*mondrian, POOLED]
        counts[kind] = {**{c: per_charge[c] for c in mondrian}, POOLED: int(of_kind.sum())}
        for i in np.flatnonzero(of_kind):
            groups[i] = charges[i] if charges[i] in mondrian else POOLED
    full = _thresholds_for(scores, kinds, groups, names)
    # cross-fitting: each fold is judged by thresholds computed on the other folds
    k = max(folds, 2)
    fold_of = np.random.default_rng(seed).permutation(scores.size) % k
    flagged = {c: np.zeros(scores.size, dtype=bool) for c in CALIBRATION_LEVELS}
    for f in range(k):
        held = fold_of == f
        if not held.any():
            continue
        part = _thresholds_for(scores[~held], kinds[~held], groups[~held], names)
        for i in np.flatnonzero(held):
            for c in CALIBRATION_LEVELS:
                flagged[c][i] = scores[i] > part[kinds[i]][groups[i]][c][0]
    tiers = {v: t for t, v in DEVIATION_TIERS.items()}
    table: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for kind, group_names in names.items():
        table[kind] = {}
        for name in group_names:
            table[kind][name] = {}
            for c in CALIBRATION_LEVELS:
                value, source, n, raised = full[kind][name][c]
                # the judgments this threshold governs: those whose own entry resolves to the same source
                governed = np.array(
                    [full[kinds[i]][groups[i]][c][1] == source for i in range(scores.size)], dtype=bool
                )
                if source == (kind, name):
                    governed &= (kinds == kind) & (groups == name)
                table[kind][name][f"{c:.2f}"] = {
                    "coverage": c,
                    "tier": tiers.get(c),
                    "nominal_false_alarm": round(1.0 - c, 4),
                    "value": value,
                    "kind": source[0],
                    "group": source[1],
                    "n": n,
                    "measured_false_alarm": float(flagged[c][governed].mean()) if governed.any() else math.nan,
                    "measured_n": int(governed.sum()),
                    "raised_to_nest": raised,
                }
    return _Calibration(groups=counts, table=table)


# --------------------------------------------------------------------------------------------------
# The model


class SentencingModel:
    """Outcome-type classifier + term regression + probation classifier + Mondrian conformal tables.

    Build with :meth:`fit`, persist with :meth:`save` / :meth:`load`; :meth:`predict` gives what
    similar cases support and :meth:`deviation` judges a proposed outcome against it.
    """

    def __init__(
        self,
        config: SentencingConfig,
        spec: _Spec,
        regressor: HistGradientBoostingRegressor | VotingRegressor,
        type_classifier: HistGradientBoostingClassifier | None,
        type_classes: list[str],
        probation_classifier: HistGradientBoostingClassifier | None,
        probation_rate: float | None,
        scale_model: HistGradientBoostingRegressor | None,
        scale_floor: float,
        text_model: Pipeline | None,
        calibration: _Calibration,
        group_stats: dict[str, dict[str, Any]],
        calibration_scores: np.ndarray,
        calibration_charges: np.ndarray,
        calibration_kinds: np.ndarray,
        info: dict[str, Any],
    ) -> None:
        self.config = config
        self.spec = spec
        self.regressor = regressor
        self.type_classifier = type_classifier
        self.type_classes = type_classes
        self.probation_classifier = probation_classifier
        self.probation_rate = probation_rate
        self.scale_model = scale_model
        self.scale_floor = scale_floor
        self.text_model = text_model
        self.calibration = calibration
        self.group_stats = group_stats
        self.calibration_scores = calibration_scores
        self.calibration_charges = calibration_charges
        self.calibration_kinds = calibration_kinds
        self.info = info
        self._flat: dict[int, Any] = {}  # id(estimator) -> its fast view (made on first prediction)

    # ---------------------------------------------------------------- fitting

    @classmethod
    def fit(
        cls,
        records: Sequence[CaseRecord],
        neighbour_months: Sequence[Sequence[float]],
        *,
        seed: int = 0,
        config: SentencingConfig | None = None,
        include_flagged: bool = False,
    ) -> SentencingModel:
        """Fit on the records' fit part and calibrate on the held-out calibration part.

        Args:
            records: Cases with known outcomes (others are skipped). Flagged records (overturned,
                superseded, duplicates, synthetic) are left out unless ``include_flagged``: the design
                keeps them out of sentencing statistics.
            neighbour_months: Per record, the months of its k nearest similar cases, itself excluded.
            seed: Seeds the fit/calibration split, the folds and the boosting.
            config: Hyper-parameters (see :class:`SentencingConfig`).
        """
        cfg = config or SentencingConfig()
        with _limit_threads(cfg.threads):
            return cls._fit(records, neighbour_months, seed, cfg, include_flagged)

    @classmethod
    def _fit(
        cls,
        records: Sequence[CaseRecord],
        neighbour_months: Sequence[Sequence[float]],
        seed: int,
        cfg: SentencingConfig,
        include_flagged: bool,
    ) -> SentencingModel:
        if len(records) != len(neighbour_months):
            raise ValueError(f"{len(records)} records but {len(neighbour_months)} neighbour lists")
        keep = [
            i
            for i, r in enumerate(records)
            if r.outcome is not None
            and (
                include_flagged
                or not (r.flags.overturned or r.flags.superseded or r.flags.synthetic or r.flags.duplicate_of)
            )
        ]
        recs = [records[i] for i in keep]
        nbs = [list(neighbour_months[i]) for i in keep]
        fraction = max(cfg.calibration_fraction, min(0.5, cfg.min_calibration / max(len(recs), 1)))
        fit_idx, cal_idx = _group_split(recs, fraction, seed)
        fit_recs = [recs[i] for i in fit_idx]
        cal_recs = [recs[i] for i in cal_idx]
        if len(fit_recs) < 20 or len(cal_recs) < 20:
            raise ValueError(f"too few usable records to fit and calibrate ({len(fit_recs)} + {len(cal_recs)})")

        spec = cls._learn_spec(fit_recs, cfg)
        base_fit = np.array([_base_features(r, nbs[i], spec) for r, i in zip(fit_recs, fit_idx, strict=True)])
        base_cal = np.array([_base_features(r, nbs[i], spec) for r, i in zip(cal_recs, cal_idx, strict=True)])
        months_fit = np.array([_months_or_nan(r) for r in fit_recs])
        custodial = np.isfinite(months_fit) & (months_fit > 0)
        y_fit = np.log1p(np.where(custodial, months_fit, 0.0))

        text_model = None
        if spec.text:
            oof, text_model = _fit_text_model(fit_recs, custodial, y_fit, cfg, seed)
            x_fit = np.c_[base_fit, oof]
            x_cal = np.c_[base_cal, _text_predict(text_model, cal_recs)]
        else:
            x_fit, x_cal = base_fit, base_cal
        # a column no fit case has a value for (e.g. amounts on traffic cards) carries nothing
        spec.columns = [int(j) for j in np.flatnonzero(~np.isnan(x_fit).all(axis=0))]
        x_fit, x_cal = x_fit[:, spec.columns], x_cal[:, spec.columns]

        regressor = _term_model(cfg, seed, spec)
        if custodial.sum() < 10:
            raise ValueError("fewer than 10 custodial sentences with months: nothing to learn a term from")
        regressor.fit(_fillable(x_fit[custodial]), y_fit[custodial])

        scale_model, scale_floor = _fit_scale(x_fit[custodial], y_fit[custodial], cfg, seed, spec)

        types_fit = np.array([r.outcome.type.value for r in fit_recs])  # type: ignore[union-attr]
        type_classes = sorted(set(types_fit.tolist()))
        type_classifier = None
        if len(type_classes) > 1:
            type_classifier = _classifier(cfg, seed).fit(_fillable(x_fit), types_fit)
            type_classes = [str(c) for c in type_classifier.classes_]

        probation_classifier, probation_rate = _fit_probation(fit_recs, x_fit, cfg, seed)

        model = cls(
            config=cfg,
            spec=spec,
            regressor=regressor,
            type_classifier=type_classifier,
            type_classes=type_classes,
            probation_classifier=probation_classifier,
            probation_rate=probation_rate,
            scale_model=scale_model,
            scale_floor=scale_floor,
            text_model=text_model,
            calibration=_Calibration(groups={}),
            group_stats=_group_stats(fit_recs + cal_recs, cfg.min_charge_count),
            calibration_scores=np.zeros(0),
            calibration_charges=np.zeros(0, dtype=object),
            calibration_kinds=np.zeros(0, dtype=object),
            info={},
        )
        # nonconformity of the real calibration judgments
        core = model._core(x_cal)
        scores = np.array([model._score(core, i, r.outcome) for i, r in enumerate(cal_recs)])  # type: ignore[arg-type]
        usable = np.isfinite(scores)
        model.calibration_scores = scores[usable]
        model.calibration_charges = np.array([main_charge(r) for r in cal_recs], dtype=object)[usable]
        model.calibration_kinds = np.array(
            [outcome_kind(r.outcome.type) for r in cal_recs], dtype=object  # type: ignore[union-attr]
        )[usable]
        model.calibration = _calibrate(
            model.calibration_scores, model.calibration_kinds, model.calibration_charges, cfg.inner_folds, seed
        )
        model.info = {
            "seed": seed,
            "n_records": len(records),
            "n_used": len(recs),
            "n_fit": len(fit_recs),
            "n_calibration": len(cal_recs),
            "n_calibration_scored": int(usable.sum()),
            "n_custodial_fit": int(custodial.sum()),
            "type_counts_fit": dict(Counter(types_fit.tolist())),
        }
        return model

    @staticmethod
    def _learn_spec(fit_recs: Sequence[CaseRecord], cfg: SentencingConfig) -> _Spec:
        charge_counts = Counter(main_charge(r) for r in fit_recs)
        # the booster takes at most 255 categories: keep the most frequent charges, the rest are "other"
        charges = sorted([c for c, n in charge_counts.most_common() if n >= cfg.min_charge_count and c][:250])
        drug_counts = Counter(r.quantities.drug_type for r in fit_recs if r.quantities.drug_type)
        drugs = sorted(d for d, n in drug_counts.items() if n >= cfg.min_drug_type_count)
        attributes = [a for a in SENTENCING_ATTRIBUTES if any(a in r.attributes for r in fit_recs)]
        with_facts = sum(1 for r in fit_recs if r.facts and r.facts.strip())
        return _Spec(charges=charges, drug_types=drugs, attributes=attributes, text=cfg.text_model and with_facts >= 0.5 * len(fit_recs))

    # ---------------------------------------------------------------- prediction core

    def _features(self, records: Sequence[CaseRecord], neighbour_months: Sequence[Sequence[float]]) -> np.ndarray:
        x = np.array([_base_features(r, nb, self.spec) for r, nb in zip(records, neighbour_months, strict=True)])
        if self.text_model is not None:
            x = np.c_[x, _text_predict(self._fast(self.text_model), records)]
        return x if self.spec.columns is None else x[:, self.spec.columns]

    def _core(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Vectorized model outputs for a feature matrix."""
        with _limit_threads(self.config.threads):
            return self._core_unlimited(x)

    def _fast(self, estimator: Any) -> Any:
        """The estimator's fast view (indexing.fast_predict: all trees at once, the text model as one dot
        product; ~10x faster for one case than scikit-learn's own predict), made once per estimator."""
        view = self._flat.get(id(estimator))
        if view is None or getattr(view, "estimator", view) is not estimator:
            view = self._flat[id(estimator)] = fast_view(estimator)
        return view

    def _core_unlimited(self, x: np.ndarray) -> dict[str, np.ndarray]:
        mu = self._fast(self.regressor).predict(x)
        sigma = (
            np.maximum(self._fast(self.scale_model).predict(x), self.scale_floor)
            if self.scale_model is not None
            else np.full(len(x), self.scale_floor)
        )
        if self.type_classifier is not None:
            proba = self._fast(self.type_classifier).predict_proba(x)
        else:
            proba = np.ones((len(x), 1))
        if self.probation_classifier is not None:
            probation = self._fast(self.probation_classifier).predict_proba(x)[:, 1]
        else:
            probation = np.full(len(x), np.nan if self.probation_rate is None else self.probation_rate)
        return {"mu": mu, "sigma": sigma, "proba": proba, "probation": probation}

    def _regime_probability(self, proba_row: np.ndarray, wanted: str) -> float:
        return float(sum(p for c, p in zip(self.type_classes, proba_row, strict=True) if regime(OutcomeType(c)) == wanted))

    def _predicted_type(self, proba_row: np.ndarray) -> OutcomeType:
        return OutcomeType(self.type_classes[int(np.argmax(proba_row))])

    def _type_probability(self, proba_row: np.ndarray, outcome_type: OutcomeType) -> float:
        """P(term regime) for a term or non-custodial type, else P(that very type)."""
        if regime(outcome_type) == TERM_REGIME:
            return self._regime_probability(proba_row, TERM_REGIME)
        classes = self.type_classes
        return float(proba_row[classes.index(outcome_type.value)]) if outcome_type.value in classes else 0.0

    def _score(self, core: dict[str, np.ndarray], i: int, outcome: Outcome) -> float:
        """Nonconformity of ``outcome`` for row ``i`` (see the module docstring); nan if not comparable."""
        surprise = -math.log(max(self._type_probability(core["proba"][i], outcome.type), _MIN_PROBABILITY))
        if regime(outcome.type) != TERM_REGIME:
            return surprise
        months = outcome_months(outcome)
        if months is None:
            return math.nan
        return abs(math.log1p(months) - core["mu"][i]) / core["sigma"][i] + surprise

    def _expected(
        self, record: CaseRecord, neighbours: Sequence[float], core: dict[str, np.ndarray], i: int
    ) -> Expected:
        proba = core["proba"][i]
        predicted = self._predicted_type(proba)
        charge = main_charge(record)
        group = self.calibration.group_of(TERM_REGIME, charge)
        mu, sigma = float(core["mu"][i]), float(core["sigma"][i])
        term_surprise = -math.log(max(self._regime_probability(proba, TERM_REGIME), _MIN_PROBABILITY))
        ranges: dict[float, tuple[float, float] | None] = {}
        range_types: dict[str, list[OutcomeType]] = {}
        for c in RANGE_LEVELS:
            t = self.calibration.threshold(TERM_REGIME, charge, c).value
            t_other = self.calibration.threshold("other", charge, c).value
            half = (t - term_surprise) * sigma  # |log1p(months) - mu| allowed inside the set
            if half < 0:
                ranges[c] = None
            elif math.isinf(half):
                ranges[c] = (0.0, math.inf)
            else:
                ranges[c] = (max(0.0, math.expm1(mu - half)), math.expm1(mu + half))
            range_types[f"{round(100 * c)}"] = [
                OutcomeType(k)
                for k, p in zip(self.type_classes, proba, strict=True)
                if regime(OutcomeType(k)) != TERM_REGIME and -math.log(max(float(p), _MIN_PROBABILITY)) <= t_other
            ]
        if predicted in NON_CUSTODIAL_TYPES:
            median: float | None = 0.0
        elif regime(predicted) != TERM_REGIME:
            median = None  # death or life: a type, never a big number
        else:
            median = math.expm1(mu)
        valid = [m for m in neighbours if m is not None and not math.isnan(m)]
        probation = float(core["probation"][i])
        return Expected(
            outcome_type=predicted,
            type_probabilities={c: float(p) for c, p in zip(self.type_classes, proba, strict=True)},
            median_months=median,
            term_median_months=math.expm1(mu),
            range_50=ranges[0.50],
            range_80=ranges[0.80],
            range_95=ranges[0.95],
            range_types=range_types,
            probation_probability=None if math.isnan(probation) else probation,
            charge=main_charge(record),
            group=group,
            neighbour_median_months=float(np.median(valid)) if valid else None,
            n_neighbours=len(valid),
        )

    # ---------------------------------------------------------------- public API

    def predict(self, record: CaseRecord, neighbour_months: Sequence[float]) -> Expected:
        """What the corpus supports for one case (type, median, nested ranges, probation share)."""
        return self.predict_many([record], [neighbour_months])[0]

    def predict_many(
        self, records: Sequence[CaseRecord], neighbour_months: Sequence[Sequence[float]]
    ) -> list[Expected]:
        """:meth:`predict` for many cases at once (the models run vectorized)."""
        if not records:
            return []
        core = self._core(self._features(records, neighbour_months))
        return [self._expected(r, nb, core, i) for i, (r, nb) in enumerate(zip(records, neighbour_months, strict=True))]

    def deviation(
        self,
        record: CaseRecord,
        neighbour_months: Sequence[float],
        proposed: Outcome,
        *,
        neighbours: Sequence[CaseRecord] | None = None,
    ) -> Deviation:
        """Judge a proposed outcome for ``record``: level, threshold with its measured rate, reasons.

        Args:
            record: The case (its facts, charges, circumstances, quantities).
            neighbour_months: Months of its similar cases, as given to :meth:`predict`.
            proposed: The outcome the judge proposes.
            neighbours: The similar cases themselves, when the caller has them: reasons then compare
                the case's circumstances with theirs; otherwise with the corpus's cases of its charge.
        """
        return self.deviation_many([record], [neighbour_months], [proposed], neighbours=[neighbours])[0]

    def deviation_many(
        self,
        records: Sequence[CaseRecord],
        neighbour_months: Sequence[Sequence[float]],
        proposed: Sequence[Outcome],
        *,
        neighbours: Sequence[Sequence[CaseRecord] | None] | None = None,
    ) -> list[Deviation]:
        """:meth:`deviation` for many cases at once."""
        if not records:
            return []
        core = self._core(self._features(records, neighbour_months))
        out = []
        for i, (record, nb, outcome) in enumerate(zip(records, neighbour_months, proposed, strict=True)):
            expected = self._expected(record, nb, core, i)
            out.append(self._deviation(record, expected, core, i, outcome, neighbours[i] if neighbours else None))
        return out

    def _deviation(
        self,
        record: CaseRecord,
        expected: Expected,
        core: dict[str, np.ndarray],
        i: int,
        proposed: Outcome,
        neighbours: Sequence[CaseRecord] | None,
    ) -> Deviation:
        kind_of_proposal = outcome_kind(proposed.type)
        thresholds = [self.calibration.threshold(kind_of_proposal, expected.charge, c) for c in DEVIATION_TIERS.values()]
        score = self._score(core, i, proposed)
        predicted_regime = regime(expected.outcome_type)
        kind = "type" if regime(proposed.type) != predicted_regime else "months"
        p_proposed = self._type_probability(core["proba"][i], proposed.type)
        if math.isnan(score):
            return Deviation(
                level=DeviationLevel.NONE,
                kind="not_comparable",
                direction=None,
                score=None,
                threshold=None,
                thresholds=thresholds,
                proposed=proposed,
                expected=expected,
                ratio_to_median=None,
                proposed_type_probability=p_proposed,
                reasons=[f"拟判{TYPE_NAMES_ZH[proposed.type]}未写明刑期，无法比较"],
            )
        level, reached = DeviationLevel.NONE, thresholds[0]
        for tier, threshold in zip(DEVIATION_TIERS, thresholds, strict=True):
            if score > threshold.value:
                level, reached = tier, threshold
        months = outcome_months(proposed)
        direction: str | None = None
        ratio: float | None = None
        if kind == "months" and months is not None:
            direction = "above" if math.log1p(months) > core["mu"][i] else "below"
            ratio = months / expected.term_median_months if expected.term_median_months > 0 else None
        elif kind == "type":
            direction = "above" if _severity(proposed.type) > _severity(expected.outcome_type) else "below"
        reasons = self._reasons(record, expected, proposed, kind, direction, level, reached, p_proposed, neighbours)
        return Deviation(
            level=level,
            kind=kind,
            direction=direction,
            score=score,
            threshold=reached,
            thresholds=thresholds,
            proposed=proposed,
            expected=expected,
            ratio_to_median=ratio,
            proposed_type_probability=p_proposed,
            reasons=reasons,
        )

    def _reasons(
        self,
        record: CaseRecord,
        expected: Expected,
        proposed: Outcome,
        kind: str,
        direction: str | None,
        level: DeviationLevel,
        reached: Threshold,
        p_proposed: float,
        neighbours: Sequence[CaseRecord] | None,
    ) -> list[str]:
        charge = expected.charge or "本罪名"
        reasons: list[str] = []
        months = outcome_months(proposed)
        if kind == "type":
            top = expected.type_probabilities.get(expected.outcome_type.value, 0.0)
            reasons.append(
                f"拟判{TYPE_NAMES_ZH[proposed.type]}，模型认为本{charge}案件判处该刑种的可能性为{p_proposed:.0%}；"
                f"最可能的是{TYPE_NAMES_ZH[expected.outcome_type]}（{top:.0%}）"
            )
        if months is not None and proposed.type in TERM_TYPES:
            if expected.neighbour_median_months and expected.n_neighbours:
                ratio = months / expected.neighbour_median_months
                reasons.append(
                    f"拟判刑期{months_zh(months)}，是{expected.n_neighbours}件类似案件刑期中位数"
                    f"（{months_zh(expected.neighbour_median_months)}）的{ratio:.1f}倍"
                )
            r80 = expected.range_80
            span = f"，80%区间{months_zh(r80[0])}至{months_zh(r80[1])}" if r80 and math.isfinite(r80[1]) else ""
            reasons.append(f"模型对具有这些事实的{charge}案件预期刑期{months_zh(expected.term_median_months)}{span}")
        if level is not DeviationLevel.NONE:
            outcomes = "判处有期徒刑、拘役或管制的" if reached.kind == TERM_REGIME else "判处其他刑种的"
            group = (
                "各类真实判决"
                if reached.group == ALL
                else f"{outcomes}真实判决（全部罪名合并）"
                if reached.group == POOLED
                else f"{reached.group}{outcomes}真实判决"
            )
            where = "区间" if kind == "months" else "预测集合"
            reasons.append(
                f"超出依据{reached.n}件{group}校准的{reached.coverage:.0%}{where}；"
                f"留出的真实判决中有{reached.measured_false_alarm:.1%}越过该阈值（名义值{reached.nominal_false_alarm:.0%}）"
            )
        reasons += self._circumstance_reasons(record, expected, direction, neighbours)
        reasons += self._quantity_reasons(record, expected)
        return reasons

    def _circumstance_reasons(
        self,
        record: CaseRecord,
        expected: Expected,
        direction: str | None,
        neighbours: Sequence[CaseRecord] | None,
    ) -> list[str]:
        """Circumstances where the case differs from the majority of its similar cases."""
        if neighbours:
            n = len(neighbours)
            share = {c: sum(c in nb.circumstances for nb in neighbours) / n for c in Circumstance}
            who = f"{n}件类似案件"
        else:
            own = expected.charge in self.group_stats
            stats = self.group_stats[expected.charge if own else POOLED]
            share = {Circumstance(c): v for c, v in stats["circumstances"].items()}
            who = f"案例库中{stats['n']}件{expected.charge if own else '各罪名'}案件"
        present = set(record.circumstances)
        lines: list[tuple[bool, float, str]] = []
        for c in Circumstance:
            s = share.get(c, 0.0)
            effect = "从轻" if c in MITIGATING else "从重"
            # a mitigating circumstance of the case argues against a proposal above the range, an
            # aggravating one against a proposal below it: those are listed first
            against = (direction == "above" and c in MITIGATING) or (direction == "below" and c in AGGRAVATING)
            if c in present and s < 0.5:
                lines.append((not against, s - 0.5, f"本案有{c.value}（{effect}情节），{who}中{s:.0%}有此情节"))
            elif c not in present and s >= 0.5:
                lines.append((True, 0.5 - s, f"本案无{c.value}（{effect}情节），而{who}中{s:.0%}有此情节"))
        lines.sort(key=lambda t: (t[0], t[1]))
        return [text for _, _, text in lines[:4]]

    def _quantity_reasons(self, record: CaseRecord, expected: Expected) -> list[str]:
        stats = self.group_stats.get(expected.charge)
        if not stats:
            return []
        values = _quantity_values(record)
        out = []
        for name, value in values.items():
            quantiles = stats["quantities"].get(name)
            if value is None or not quantiles:
                continue
            pct = _percentile_of(value, quantiles)
            word, unit = _QUANTITY_WORDS[name]
            out.append(f"{word}{value:,.4g}{unit}，高于{pct:.0%}载明该数量的{expected.charge}案件")
        return out

    def summary(self) -> dict[str, Any]:
        """The calibration table and training facts, for reports and the index manifest."""
        return {"info": self.info, "groups": self.calibration.groups, "thresholds": self.calibration.table}

    # ---------------------------------------------------------------- persistence

    def save(self, directory: Path | str) -> None:
        """Write the model: JSON for tables and layout, .npy for arrays, joblib for estimators."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name in ("regressor", "type_classifier", "probation_classifier", "scale_model", "text_model"):
            est = getattr(self, name)
            path = d / f"{name}.joblib"
            if est is not None:
                joblib.dump(est, path)
            elif path.exists():
                path.unlink()
        np.save(d / "calibration_scores.npy", self.calibration_scores.astype(np.float64))
        np.save(d / "calibration_charges.npy", np.array(self.calibration_charges.tolist(), dtype=str))
        np.save(d / "calibration_kinds.npy", np.array(self.calibration_kinds.tolist(), dtype=str))
        meta = {
            "format_version": FORMAT_VERSION,
            "config": asdict(self.config),
            "spec": asdict(self.spec),
            "type_classes": self.type_classes,
            "probation_rate": self.probation_rate,
            "scale_floor": self.scale_floor,
            "calibration": {"groups": self.calibration.groups, "table": self.calibration.table},
            "group_stats": self.group_stats,
            "info": self.info,
            "levels": {"deviation_tiers": {k.value: v for k, v in DEVIATION_TIERS.items()}, "ranges": RANGE_LEVELS},
        }
        (d / "sentencing.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        (d / "versions.json").write_text(json.dumps(library_versions(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str) -> SentencingModel:
        """Read a saved model; warns when the libraries differ from those it was saved with."""
        d = Path(directory)
        meta_path = d / "sentencing.json"
        if not meta_path.is_file():
            raise ArtifactError(f"{d}: no sentencing model here (sentencing.json missing); build the index first")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(f"{d}: sentencing model format {meta.get('format_version')}, expected {FORMAT_VERSION}")
        saved = json.loads((d / "versions.json").read_text(encoding="utf-8")) if (d / "versions.json").is_file() else {}
        now = library_versions()
        drift = {k: (saved.get(k), now.get(k)) for k in _LIBRARIES if saved.get(k) != now.get(k)}
        if drift:
            warnings.warn(
                f"sentencing model in {d} was saved with other library versions {drift} (saved, now); "
                "predictions may differ — rebuild the index to be safe",
                RuntimeWarning,
                stacklevel=2,
            )

        def est(name: str) -> Any:
            path = d / f"{name}.joblib"
            return joblib.load(path) if path.is_file() else None

        regressor = est("regressor")
        if regressor is None:
            raise ArtifactError(f"{d}: regressor.joblib missing")
        cal = meta["calibration"]
        return cls(
            config=SentencingConfig(**meta["config"]),
            spec=_Spec(**meta["spec"]),
            regressor=regressor,
            type_classifier=est("type_classifier"),
            type_classes=meta["type_classes"],
            probation_classifier=est("probation_classifier"),
            probation_rate=meta["probation_rate"],
            scale_model=est("scale_model"),
            scale_floor=meta["scale_floor"],
            text_model=est("text_model"),
            calibration=_Calibration(groups=cal["groups"], table=cal["table"]),
            group_stats=meta["group_stats"],
            calibration_scores=np.load(d / "calibration_scores.npy"),
            calibration_charges=np.load(d / "calibration_charges.npy").astype(object),
            calibration_kinds=np.load(d / "calibration_kinds.npy").astype(object),
            info=meta["info"],
        )


# --------------------------------------------------------------------------------------------------
# Helpers for fitting


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


_HARM_FEATURES = ("log_amount", "log_grams_", "log_heroin_equivalent", "blood_alcohol", "deaths", "serious", "minor", "slight")


def _monotonic(spec: _Spec, cfg: SentencingConfig) -> list[int] | None:
    """Monotone constraints: the guideline's baseline only grows with amount, drug weight and harm.

    They keep a small corpus from learning that 60 g of heroin gets less than 40 g because of two odd
    cases; "all" also ties circumstances to their guideline direction and neighbours to +1.
    """
    if cfg.monotonic == "none":
        return None
    out = []
    for name in spec.names():
        if name.startswith(_HARM_FEATURES) or (cfg.monotonic == "all" and name.startswith("nb_") and name != "nb_count"):
            out.append(1)
        elif cfg.monotonic == "all" and name.startswith("circ_"):
            c = Circumstance[name[5:].upper()]
            out.append(-1 if c in MITIGATING else 1 if c in AGGRAVATING else 0)
        else:
            out.append(0)
    return out


def _regressor(cfg: SentencingConfig, seed: int, spec: _Spec | None = None) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        monotonic_cst=_monotonic(spec, cfg) if spec is not None else None,
        loss=cfg.loss,
        max_iter=cfg.max_iter,
        learning_rate=cfg.learning_rate,
        max_depth=cfg.max_depth,
        min_samples_leaf=cfg.min_samples_leaf,
        categorical_features=[0],
        early_stopping=False,
        random_state=seed,
    )


def _term_model(
    cfg: SentencingConfig, seed: int, spec: _Spec
) -> HistGradientBoostingRegressor | VotingRegressor:
    """The term regression: one booster, or (``cfg.ensemble``) the mean of three that err differently.

    Squared loss fits the mean log term, absolute loss the median (robust to the odd 20-year
    outlier), and a deeper, slower one catches interactions; averaging them cut CAIL MAE by ~0.15
    months over the best single one across seeds.
    """
    if not cfg.ensemble:
        return _regressor(cfg, seed, spec)
    variants = [
        cfg,
        SentencingConfig(**{**asdict(cfg), "loss": "absolute_error"}),
        SentencingConfig(**{**asdict(cfg), "max_depth": None, "learning_rate": 0.03, "max_iter": 400}),
    ]
    return VotingRegressor([(f"m{i}", _regressor(v, seed, spec)) for i, v in enumerate(variants)])


def _classifier(cfg: SentencingConfig, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=max(50, cfg.max_iter // 3),
        learning_rate=cfg.learning_rate,
        max_depth=cfg.max_depth,
        min_samples_leaf=cfg.min_samples_leaf,
        categorical_features=[0],
        early_stopping=False,
        random_state=seed,
    )


def _fillable(x: np.ndarray) -> np.ndarray:
    """``x`` with columns that hold no value at all set to 0 (the booster cannot bin an empty column).

    Happens inside folds and subsets (a drug type seen only in non-custodial cases); a constant
    column is never split on, and NaN at prediction time goes where the training majority went.
    """
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


def _folds(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1).permutation(n) % k


TEXT_NGRAMS = (1, 2)
TEXT_MAX_FEATURES = 60000
TEXT_ALPHA = 1.0


def _text_pipeline() -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=TEXT_NGRAMS, sublinear_tf=True, min_df=2, max_features=TEXT_MAX_FEATURES),
        Ridge(alpha=TEXT_ALPHA),
    )


def _fit_text_model(
    fit_recs: Sequence[CaseRecord], custodial: np.ndarray, y: np.ndarray, cfg: SentencingConfig, seed: int
) -> tuple[np.ndarray, Pipeline]:
    """Out-of-fold text predictions for the fit part (so the booster sees honest ones) + final model."""
    texts = np.array([r.facts or "" for r in fit_recs], dtype=object)
    oof = np.full(len(fit_recs), np.nan)
    folds = _folds(len(fit_recs), cfg.inner_folds, seed)
    for f in range(cfg.inner_folds):
        train = (folds != f) & custodial
        held = folds == f
        if train.sum() < 10 or not held.any():
            continue
        oof[held] = _text_pipeline().fit(texts[train], y[train]).predict(texts[held])
    model = _text_pipeline().fit(texts[custodial], y[custodial])
    oof[np.array([not t for t in texts])] = np.nan
    return oof, model


def _text_predict(model: Any, records: Sequence[CaseRecord]) -> np.ndarray:
    """The text model's prediction per record (NaN without facts); ``model`` is the pipeline or its TextRidge view."""
    texts = [r.facts or "" for r in records]
    pred = model.predict(texts)
    return np.where([bool(t) for t in texts], pred, np.nan)


def _fit_scale(
    x: np.ndarray, y: np.ndarray, cfg: SentencingConfig, seed: int, spec: _Spec
) -> tuple[HistGradientBoostingRegressor | None, float]:
    """Learn the expected absolute log residual from out-of-fold residuals (normalized conformal).

    Returns the scale model (None when ``cfg.normalized`` is off) and a floor: the 5th percentile of
    the out-of-fold absolute residuals, which keeps a case the booster is over-sure of from getting a
    zero-width range; without a scale model the floor is the mean absolute residual, used for all.
    """
    folds = _folds(len(y), min(cfg.inner_folds, 3), seed)
    resid = np.zeros(len(y))
    for f in np.unique(folds):
        held = folds == f
        resid[held] = y[held] - _regressor(cfg, seed, spec).fit(_fillable(x[~held]), y[~held]).predict(x[held])
    target = np.abs(resid)
    if not cfg.normalized:
        return None, float(max(target.mean(), 1e-3))
    scale = HistGradientBoostingRegressor(
        max_iter=max(50, cfg.max_iter // 3),
        learning_rate=cfg.learning_rate,
        max_depth=3,
        min_samples_leaf=max(20, cfg.min_samples_leaf),
        categorical_features=[0],
        early_stopping=False,
        random_state=seed,
    ).fit(_fillable(x), target)
    return scale, float(max(np.quantile(target, 0.05), 1e-3))


def _fit_probation(
    fit_recs: Sequence[CaseRecord], x: np.ndarray, cfg: SentencingConfig, seed: int
) -> tuple[HistGradientBoostingClassifier | None, float | None]:
    """Probation classifier on custodial cases from sources that record probation at all.

    CAIL states months only: its cases say nothing about 缓刑 and must not teach "never suspended".
    """
    sources = {r.source for r in fit_recs if r.outcome is not None and r.outcome.probation}
    rows = [
        i
        for i, r in enumerate(fit_recs)
        if r.source in sources and r.outcome is not None and r.outcome.type in TERM_TYPES
    ]
    if not rows:
        return None, None
    labels = np.array([fit_recs[i].outcome.probation for i in rows])  # type: ignore[union-attr]
    rate = float(labels.mean())
    if labels.sum() < 10 or (~labels).sum() < 10:
        return None, rate
    return _classifier(cfg, seed).fit(_fillable(x[rows]), labels), rate


def _quantity_values(record: CaseRecord) -> dict[str, float | None]:
    q = record.quantities
    return {
        "amount_yuan": q.amount_yuan,
        "drug_grams": q.drug_grams,
        "blood_alcohol_mg_100ml": q.blood_alcohol_mg_100ml,
        "deaths": float(q.injuries.deaths) if q.injuries.deaths else None,
        "serious": float(q.injuries.serious) if q.injuries.serious else None,
        "minor": float(q.injuries.minor) if q.injuries.minor else None,
    }


def _group_stats(records: Sequence[CaseRecord], min_count: int) -> dict[str, dict[str, Any]]:
    """Per charge (and pooled): circumstance prevalence and quantity quantiles, for reasons."""
    by: dict[str, list[CaseRecord]] = defaultdict(list)
    for r in records:
        by[main_charge(r)].append(r)
        by[POOLED].append(r)
    out: dict[str, dict[str, Any]] = {}
    for name, recs in by.items():
        if len(recs) < min_count or not name:
            continue
        n = len(recs)
        circ = {c.value: sum(c in r.circumstances for r in recs) / n for c in Circumstance}
        quantities: dict[str, list[float]] = {}
        for q in _QUANTITY_NAMES:
            vals = [v for r in recs if (v := _quantity_values(r)[q]) is not None]
            if len(vals) >= min_count:
                quantities[q] = [float(v) for v in np.quantile(vals, np.linspace(0, 1, 21))]
        out[name] = {"n": n, "circumstances": circ, "quantities": quantities}
    return out

"""Split-conformal calibration: the fit/calibration split, conformal quantiles, and the Mondrian tables of
thresholds (per outcome kind and charge group, with fallbacks) with their cross-fitted false-alarm rates.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexing.schema import CaseRecord
from indexing.sentencing.outcomes import (
    ALL,
    CALIBRATION_LEVELS,
    DEVIATION_TIERS,
    MIN_GROUP_CALIBRATION,
    POOLED,
    TERM_REGIME,
)
from indexing.sentencing.results import Threshold


def _group_split(records: Sequence[CaseRecord], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (fit, calibration), split by case number so co-defendants never straddle the split."""
    keys = [r.case_number or r.case_id for r in records]
    unique = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_cal = int(round(fraction * len(unique)))
    cal_keys = {unique[i] for i in order[:n_cal]}
    is_cal = np.array([k in cal_keys for k in keys])
    return np.flatnonzero(~is_cal), np.flatnonzero(is_cal)


def _group_folds(records: Sequence[CaseRecord], k: int, seed: int) -> np.ndarray:
    """A fold number per record for cross-conformal scoring, by case number (co-defendants share a fold)."""
    keys = [r.case_number or r.case_id for r in records]
    unique = sorted(set(keys))
    fold_of_key = dict(zip(unique, (np.random.default_rng(seed).permutation(len(unique)) % k).tolist(), strict=True))
    return np.array([fold_of_key[key] for key in keys])


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

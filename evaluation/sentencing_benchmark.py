"""Sentencing benchmark: accuracy, interval coverage and calibrated deviation levels on real judgments.

Two suites, both real published data (``../shared/data``):

1. **CAIL2018 sample**, pooled and split 80/20 with :func:`evaluation.datasets.cail_split` (the split
   every benchmark uses), measured through the product's own path: the 80 % corpus part is ingested
   and built as `leian ingest` + `leian build` would (:func:`evaluation.search_benchmark.build_corpus`,
   shared with the search benchmark), the model is fitted on the corpus cases with the build's own
   neighbour features (:func:`indexing.build.sentencing_neighbours`), and each held-out fact is
   assessed as a judge's draft with its charges given: the draft pipeline
   (:func:`service.retrieve.prepare_draft`) and the service's similar cases
   (:func:`indexing.neighbours.neighbour_hits`). The model splits the corpus part internally into a
   fit part and a calibration part; the held-out part is never seen.
2. **2019 交通肇事罪 case cards** (23,028 structured sentences, no text): parsed with ``parse_file`` and
   turned into records by :func:`indexing.cards.card_to_case`, split 80/20 by case number with a fixed
   seed; similar cases are the k nearest cards over the standardized card features.

Figures: sentence MAE in months (custodial cases; the model's median term), the CAIL2018 official
log-distance score, coverage and width of the 80 %/95 % ranges, the per-charge median baseline, the
false-alarm rate of each deviation level on real held-out judgments (overall and per charge group
with ≥ 30 test cases, with Wilson 95 % intervals), and the detection rate of each level when every
custodial test sentence is doubled or halved (and when death/life is swapped with a term).

Run: ``python -m evaluation.sentencing_benchmark [--benchmark-data ../shared/data] [--work DIR] [--out report.json]``
(``--work`` keeps the CAIL build for the next run; ``leian eval`` shares it with the search benchmark).
Exits with status 2 and says why when the shared data folder is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from evaluation.datasets import cail_split, load_cail_pooled
from evaluation.output import provenance
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.cards import card_to_case
from indexing.errors import LeiAnError, RecordError
from indexing.extract import extract
from indexing.parse import parse_file
from indexing.schema import CaseRecord, Circumstance, Outcome, OutcomeType, RawJudgment
from indexing.sentencing import (
    DEVIATION_TIERS,
    TERM_REGIME,
    TERM_TYPES,
    DeviationLevel,
    Expected,
    SentencingConfig,
    SentencingModel,
    main_charge,
    outcome_months,
    regime,
)
from indexing.sentencing.lawful import law_context

CAIL_DIR = Path("cail2018_sample")
TRAFFIC_FILE = Path("traffic_crime_2019") / "sentences_2019.csv"
#: Neighbours per case (the service's default result size).
K_NEIGHBOURS = 10
#: Seed of the traffic-card split by case number, and of the model's internal split.
SEED = 20240601
#: Target band around each nominal false-alarm rate (issue): ±1.5 percentage points.
FALSE_ALARM_TOLERANCE = 0.015
MIN_GROUP_TEST = 30
_TIERS = list(DEVIATION_TIERS)
_HEAVY = {OutcomeType.DEATH, OutcomeType.DEATH_SUSPENDED, OutcomeType.LIFE}


# ------------------------------------------------------------------------------------------ loading


def load_cail_records(data_dir: Path) -> tuple[list[CaseRecord], list[CaseRecord]]:
    """CAIL records through the pipeline, split with the shared fixed split (train, test)."""
    cail_dir = data_dir / CAIL_DIR
    pooled = load_cail_pooled(cail_dir)  # raises SourceError naming a missing file
    records: list[CaseRecord] = []
    for name in ("train.jsonl", "test.jsonl"):
        for item in parse_file(cail_dir / name):
            if not isinstance(item, RawJudgment):
                raise LeiAnError(f"{getattr(item, 'location', name)}: CAIL record not parsed ({item})")
            records.append(extract(item))
    if len(records) != len(pooled):
        raise LeiAnError(f"{len(records)} CAIL records extracted but {len(pooled)} read: the split would not align")
    train, test = cail_split(records)  # type: ignore[arg-type]  # the split only permutes positions
    return list(train), list(test)  # type: ignore[arg-type]


def load_traffic_records(data_dir: Path) -> tuple[list[CaseRecord], list[CaseRecord], int]:
    """Traffic cards as records, split 80/20 by case number with :data:`SEED` (train, test, rejected)."""
    path = data_dir / TRAFFIC_FILE
    records: list[CaseRecord] = []
    rejected = 0
    for item in parse_file(path):
        if not isinstance(item, RawJudgment):
            rejected += 1
            continue
        try:
            records.append(card_to_case(item))
        except RecordError:
            rejected += 1
    numbers = sorted({r.case_number or r.case_id for r in records})
    order = np.random.default_rng(SEED).permutation(len(numbers))
    test_numbers = {numbers[i] for i in order[int(0.8 * len(numbers)) :]}
    train = [r for r in records if (r.case_number or r.case_id) not in test_numbers]
    test = [r for r in records if (r.case_number or r.case_id) in test_numbers]
    return train, test, rejected


# ------------------------------------------------------------------------------------------ neighbours


def _term_months(records: Sequence[CaseRecord]) -> np.ndarray:
    """Fixed-term/detention months of each record (NaN for death, life, non-custodial, unknown)."""
    out = np.full(len(records), np.nan)
    for i, r in enumerate(records):
        if r.outcome is not None and r.outcome.type in TERM_TYPES and r.outcome.months:
            out[i] = r.outcome.months
    return out


def _months_lists(top: np.ndarray, months: np.ndarray) -> list[list[float]]:
    return [[float(m) for m in months[row] if not math.isnan(m)] for row in top]


def text_neighbours(
    train: Sequence[CaseRecord], test: Sequence[CaseRecord], k: int
) -> tuple[list[list[float]], list[list[float]]]:
    """Months of the k most similar training cases by char-bigram TF-IDF (train: leave-one-out)."""
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x_train = vec.fit_transform([r.facts for r in train])
    x_test = vec.transform([r.facts for r in test])
    months = _term_months(train)

    def top_k(sim: np.ndarray) -> np.ndarray:
        return np.argsort(-sim, axis=1, kind="stable")[:, :k]

    tops = []
    for start in range(0, len(train), 1000):
        sim = (x_train[start : start + 1000] @ x_train.T).toarray()
        sim[np.arange(sim.shape[0]), np.arange(start, start + sim.shape[0])] = -np.inf  # leave one out
        tops.append(top_k(sim))
    train_top = np.vstack(tops)
    test_top = top_k((x_test @ x_train.T).toarray())
    return _months_lists(train_top, months), _months_lists(test_top, months)


def card_neighbours(
    train: Sequence[CaseRecord], test: Sequence[CaseRecord], k: int
) -> tuple[list[list[float]], list[list[float]]]:
    """Months of the k nearest training cards over standardized card features (train: leave-one-out)."""
    def vector(r: CaseRecord) -> list[float]:
        q = r.quantities.injuries
        a = r.attributes
        return [
            float(bool(a.get("fled"))),
            float(Circumstance.SURRENDER in r.circumstances),
            float(Circumstance.FORGIVENESS in r.circumstances),
            float(Circumstance.COMPENSATION in r.circumstances),
            float(q.deaths),
            float(q.serious),
            float(q.minor),
            float(a.get("injured_total") or 0),
            float(a.get("liability") or 0),
        ]

    x_train = np.array([vector(r) for r in train])
    x_test = np.array([vector(r) for r in test])
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    # Cards repeat: a thousand may share one vector. Without jitter every one of them would get the
    # same ten arbitrary neighbours (the tree's tie order), so all test cards of a kind would share one
    # draw. A tiny seeded jitter breaks ties at random, i.e. each card gets a random sample of its ties.
    rng = np.random.default_rng(SEED)
    x_train = x_train + rng.uniform(-1e-3, 1e-3, x_train.shape)
    x_test = x_test + rng.uniform(-1e-3, 1e-3, x_test.shape)
    index = NearestNeighbors(n_neighbors=k + 1).fit(x_train)
    months = _term_months(train)
    _, idx = index.kneighbors(x_train)
    train_top = np.array(
        [[j for j in row if j != i][:k] for i, row in enumerate(idx)]  # leave one out
    )
    _, test_top = index.kneighbors(x_test, n_neighbors=k)
    return _months_lists(train_top, months), _months_lists(test_top, months)


# ------------------------------------------------------------------------------------------ metrics


def cail_log_score(true: Outcome, expected: Expected) -> float:
    """CAIL2018 official term score: death/life by exact type, months (0 = none) by log distance bands."""
    if true.type in _HEAVY or expected.outcome_type in _HEAVY:
        return 1.0 if true.type == expected.outcome_type else 0.0
    y = outcome_months(true)
    y_hat = expected.median_months
    if y is None or y_hat is None:
        return 0.0
    v = abs(math.log(y + 1) - math.log(y_hat + 1))
    for bound, score in ((0.2, 1.0), (0.4, 0.8), (0.6, 0.6), (0.8, 0.4), (1.0, 0.2)):
        if v <= bound:
            return score
    return 0.0


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (the false-alarm rates are proportions of small n)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _tier_index(level: DeviationLevel) -> int:
    return 0 if level is DeviationLevel.NONE else _TIERS.index(level) + 1


def _rates(levels: Sequence[DeviationLevel]) -> dict[str, Any]:
    """Share of cases flagged at or above each tier."""
    n = len(levels)
    out: dict[str, Any] = {"n": n}
    for t, tier in enumerate(_TIERS, start=1):
        k = sum(_tier_index(level) >= t for level in levels)
        lo, hi = wilson(k, n)
        out[tier.value] = {"rate": k / n if n else math.nan, "ci95": [lo, hi]}
    return out


def evaluate(
    model: SentencingModel,
    train: Sequence[CaseRecord],
    test: Sequence[CaseRecord],
    test_nb: Sequence[Sequence[float]],
    *,
    strata: dict[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """All figures of one suite for a fitted model on its test part."""
    test = [r for r in test if r.outcome is not None]
    expected = model.predict_many(test, test_nb)
    y = np.array([outcome_months(r.outcome) if r.outcome else None for r in test], dtype=float)  # type: ignore[arg-type]
    custodial = np.array([r.outcome.type in TERM_TYPES and bool(r.outcome.months) for r in test])  # type: ignore[union-attr]
    pred = np.array([e.term_median_months for e in expected])
    mae = float(np.mean(np.abs(pred[custodial] - y[custodial])))

    # baselines from the training part: per-charge median term, and the neighbours' median term
    by_charge: dict[str, list[float]] = defaultdict(list)
    for r in train:
        if r.outcome is not None and r.outcome.type in TERM_TYPES and r.outcome.months:
            by_charge[main_charge(r)].append(r.outcome.months)
    pooled_median = float(np.median([m for v in by_charge.values() for m in v]))
    base = np.array([float(np.median(by_charge[main_charge(r)])) if by_charge.get(main_charge(r)) else pooled_median for r in test])
    base_mae = float(np.mean(np.abs(base[custodial] - y[custodial])))
    nb_med = np.array([e.neighbour_median_months if e.neighbour_median_months is not None else pooled_median for e in expected])
    nb_mae = float(np.mean(np.abs(nb_med[custodial] - y[custodial])))

    score = float(np.mean([cail_log_score(r.outcome, e) for r, e in zip(test, expected, strict=True)]))  # type: ignore[arg-type]

    # coverage of the conformal sets: the term inside the range, or the type among range_types
    coverage: dict[str, Any] = {}
    for name in ("range_80", "range_95"):
        inside, widths, n = 0, [], 0
        for r, e in zip(test, expected, strict=True):
            true = r.outcome
            assert true is not None
            is_term = regime(true.type) == TERM_REGIME
            if is_term and true.months is None:
                continue  # a card's 拘役 without months: nothing to compare
            n += 1
            rng = getattr(e, name)
            if is_term:
                inside += rng is not None and rng[0] <= true.months <= rng[1]  # type: ignore[operator]
            else:
                inside += true.type in e.range_types[name[-2:]]
            if rng is not None and math.isfinite(rng[1]):
                widths.append(rng[1] - rng[0])
        coverage[name] = {
            "coverage": inside / n,
            "n": n,
            "mean_width_months": float(np.mean(widths)),
            "median_width_months": float(np.median(widths)),
        }

    # deviation on the real judgments: every flag is a false alarm
    real = model.deviation_many(test, test_nb, [r.outcome for r in test])  # type: ignore[misc]
    comparable = [d.kind != "not_comparable" for d in real]
    levels = [d.level for d, c in zip(real, comparable, strict=True) if c]
    charges = [main_charge(r) for r, c in zip(test, comparable, strict=True) if c]
    false_alarm: dict[str, Any] = {"all": _rates(levels), "groups": {}}
    for charge, n in Counter(charges).most_common():
        if n < MIN_GROUP_TEST:
            break
        false_alarm["groups"][charge] = _rates([lv for lv, ch in zip(levels, charges, strict=True) if ch == charge])
    for name, labels in (strata or {}).items():
        kept = [lab for lab, c in zip(labels, comparable, strict=True) if c]
        false_alarm.setdefault("strata", {})[name] = {
            value: _rates([lv for lv, s in zip(levels, kept, strict=True) if s == value])
            for value, n in Counter(kept).most_common()
            if n >= MIN_GROUP_TEST
        }
    within = {
        tier.value: sum(
            abs(g[tier.value]["rate"] - (1 - DEVIATION_TIERS[tier])) <= FALSE_ALARM_TOLERANCE
            for g in false_alarm["groups"].values()
        )
        for tier in _TIERS
    }
    false_alarm["groups_within_tolerance"] = {"n_groups": len(false_alarm["groups"]), **within}
    # ±1.5 points is finer than a group of 30-150 test cases can resolve (the Wilson half-width at 20 %
    # is 6-14 points): also count the groups whose interval contains the nominal rate
    false_alarm["groups_consistent_with_nominal"] = {
        "n_groups": len(false_alarm["groups"]),
        **{
            tier.value: sum(
                g[tier.value]["ci95"][0] <= 1 - DEVIATION_TIERS[tier] <= g[tier.value]["ci95"][1]
                for g in false_alarm["groups"].values()
            )
            for tier in _TIERS
        },
    }

    # detection: the same judgments with the sentence doubled or halved, and death/life <-> term
    idx = np.flatnonzero(custodial)
    sub = [test[i] for i in idx]
    sub_nb = [test_nb[i] for i in idx]
    detection: dict[str, Any] = {}
    for name, factor in (("doubled", 2.0), ("halved", 0.5)):
        proposals = [r.outcome.model_copy(update={"months": r.outcome.months * factor}) for r in sub]  # type: ignore[union-attr,operator]
        detection[name] = _rates([d.level for d in model.deviation_many(sub, sub_nb, proposals)])
    heavy = [i for i, r in enumerate(test) if r.outcome.type in _HEAVY]  # type: ignore[union-attr]
    if heavy:
        proposals = [Outcome(type=OutcomeType.FIXED_TERM, months=round(expected[i].term_median_months)) for i in heavy]
        detection["death_life_as_term"] = _rates(
            [d.level for d in model.deviation_many([test[i] for i in heavy], [test_nb[i] for i in heavy], proposals)]
        )
    if len(idx):
        detection["term_as_death"] = _rates(
            [d.level for d in model.deviation_many(sub, sub_nb, [Outcome(type=OutcomeType.DEATH)] * len(sub))]
        )

    # what bounds the detection of doubled/halved sentences: how far the 80 % range reaches above and
    # below the model's median, as factors (doubling is flagged only where twice the term leaves it)
    reach = [
        (e.range_80[1] / e.term_median_months, e.term_median_months / e.range_80[0] if e.range_80[0] > 0 else math.inf)
        for e, c in zip(expected, custodial, strict=True)
        if c and e.range_80 is not None and math.isfinite(e.range_80[1]) and e.term_median_months > 0
    ]
    if reach:
        up, down = np.array(reach).T
        detection["range_80_reach"] = {
            "n": len(reach),
            "upper_factor_median": float(np.median(up)),
            "lower_factor_median": float(np.median(down)),
            "share_upper_below_2": float(np.mean(up < 2)),
            "share_lower_below_2": float(np.mean(down < 2)),
        }

    law = law_figures(model, test, test_nb, expected, real)

    probation: dict[str, Any] | None = None
    labelled = [i for i, r in enumerate(test) if r.outcome and r.outcome.type in TERM_TYPES and expected[i].probation_probability is not None]
    if labelled:
        p = np.array([expected[i].probation_probability for i in labelled], dtype=float)
        t = np.array([bool(test[i].outcome.probation) for i in labelled])  # type: ignore[union-attr]
        probation = {"n": len(labelled), "brier": float(np.mean((p - t) ** 2)), "base_rate": float(t.mean()), "auc": _auc(p, t)}

    return {
        "n_test": len(test),
        "n_custodial": int(custodial.sum()),
        "mae_months": mae,
        "per_charge_median_mae_months": base_mae,
        "neighbour_median_mae_months": nb_mae,
        "cail_log_score": score,
        "intervals": coverage,
        "false_alarm": false_alarm,
        "detection": detection,
        "probation": probation,
        "law": law,
        "model": model.summary()["info"],
    }


def unlawful_count(model: SentencingModel, records: Sequence[CaseRecord], expected: Sequence[Expected]) -> dict[str, int]:
    """Expectations that leave the law: a forbidden type with probability, or a range or median outside
    the lawful term range without a circumstance that permits 减轻处罚 (the target is 0)."""
    types = ranges = 0
    for record, e in zip(records, expected, strict=True):
        law = law_context(record)
        types += any(p > 0 for t, p in e.type_probabilities.items() if OutcomeType(t) not in law.types)
        bounds = [b for r in (e.range_50, e.range_80, e.range_95) if r is not None for b in r] + [e.term_median_months]
        floor = law.min_months if law.below_bracket_by else law.bracket_min_months
        ranges += any(b < floor - 1e-9 or b > law.max_months + 1e-9 for b in bounds)
    return {"n": len(records), "forbidden_type": types, "outside_range_without_mitigation": ranges}


def _whole_sample_unlawful(
    model: SentencingModel, train: Sequence[CaseRecord], train_nb: Sequence[Sequence[float]], test_counts: dict[str, int]
) -> dict[str, int]:
    """:func:`unlawful_count` over the corpus part too, added to the held-out part's: the whole sample."""
    train_counts = unlawful_count(model, train, model.predict_many(train, train_nb))
    return {k: train_counts[k] + test_counts[k] for k in train_counts}


def law_figures(
    model: SentencingModel,
    test: Sequence[CaseRecord],
    test_nb: Sequence[Sequence[float]],
    expected: Sequence[Expected],
    real: Sequence[Any],
) -> dict[str, Any]:
    """What the law does to the assessments of one suite's held-out cases.

    - ``unlawful``: expectations outside the law (see :func:`unlawful_count`);
    - ``held_to_law_share``: medians the law held inside the lawful range;
    - ``statutory_alerts_on_real``: real judgments the law table's reading of their facts calls outside
      the statutory range (a misread quantity, a circumstance the text does not state, or a lawful
      judgment the reading gets wrong: false statutory alarms);
    - ``guideline_signs``: per circumstance, the model's adjustment in the guideline's steps
      (sentencing.steps) over the cases that have it, beside the guideline's range, with the count of
      adjustments against the guideline's sign (the target is 0).
    """
    from indexing.law import circumstance_rule

    out: dict[str, Any] = {"unlawful": unlawful_count(model, test, expected)}
    out["held_to_law_share"] = float(np.mean([e.held_to_law for e in expected])) if expected else math.nan
    flagged = [d.statutory is not None and d.statutory.outside for d in real]
    out["statutory_alerts_on_real"] = {"n": len(real), "rate": float(np.mean(flagged)) if flagged else math.nan}
    changes: dict[str, list[float]] = defaultdict(list)
    for record, nb in zip(test, test_nb, strict=True):
        if record.circumstances:
            for step in model.steps(record, nb):
                if step.step == "circumstance" and step.circumstance is not None:
                    changes[step.circumstance.value].append(float(step.change_pct or 0.0))
    signs: dict[str, Any] = {}
    for name, values in sorted(changes.items(), key=lambda kv: -len(kv[1])):
        rule = circumstance_rule(name)
        arr = np.array(values)
        against = int((arr > 1e-6).sum() if rule.direction == "mitigating" else (arr < -1e-6).sum())
        lo = rule.min_pct if rule.min_pct is not None else -100.0
        hi = rule.max_pct if rule.max_pct is not None else math.inf
        signs[name] = {
            "n": len(values), "direction": rule.direction, "median_pct": float(np.median(arr)),
            "mean_pct": float(arr.mean()), "guideline_pct": [rule.min_pct, rule.max_pct],
            "against_sign": against, "within_guideline_share": float(np.mean((arr >= lo - 0.5) & (arr <= hi + 0.5))),
        }
    out["guideline_signs"] = signs
    out["guideline_sign_violations"] = sum(v["against_sign"] for v in signs.values())
    return out


def _auc(p: np.ndarray, t: np.ndarray) -> float:
    if t.all() or not t.any():
        return math.nan
    ranks = np.argsort(np.argsort(p)) + 1
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# ------------------------------------------------------------------------------------------ suites


def run_cail(data_dir: Path, config: SentencingConfig, work: Path, epochs: int | None = None) -> dict[str, Any]:
    """The CAIL suite through the product's path (see the module docstring); ``work`` holds the build."""
    from evaluation.search_benchmark import build_corpus
    from indexing.artifacts import current_dir
    from indexing.build import indexable, sentencing_neighbours
    from indexing.db import iter_cases, make_engine
    from indexing.neighbours import neighbour_hits, neighbour_months
    from indexing.search_index import SearchIndex
    from indexing.segment import tokenize
    from service.retrieve import prepare_draft

    t0 = time.perf_counter()
    corpus, queries = cail_split(load_cail_pooled(data_dir / CAIL_DIR))
    _, test = load_cail_records(data_dir)  # labels of the held-out part, aligned with ``queries``
    build_corpus(corpus, work, epochs)
    index = SearchIndex(current_dir(work), with_sentencing=False)
    engine = make_engine(f"sqlite:///{work / 'leian.db'}")
    records = [r for r in iter_cases(engine) if indexable(r, False)]
    engine.dispose()
    if [r.case_id for r in records] != [row["case_id"] for row in index.rows]:
        raise LeiAnError(f"the store in {work} does not match its index: delete {work} and run again")
    t1 = time.perf_counter()
    train_nb = sentencing_neighbours(
        index, records, np.asarray(index.embeddings), [tokenize(r.facts) for r in records], seed=SEED
    )
    model = SentencingModel.fit(records, train_nb, seed=SEED, config=config)
    t2 = time.perf_counter()
    drafts, test_nb = [], []
    for query, labelled in zip(queries, test, strict=True):
        draft = prepare_draft(query["fact"], index, [f"{c}罪" for c in query["meta"]["accusation"]])
        test_nb.append(neighbour_months([index.rows[h.row] for h in neighbour_hits(draft, index)]))
        drafts.append(draft.record.model_copy(update={"outcome": labelled.outcome}))
    out = evaluate(model, records, drafts, test_nb)
    out["law"]["unlawful_whole_sample"] = _whole_sample_unlawful(model, records, train_nb, out["law"]["unlawful"])
    out["seconds"] = {"load_and_build": t1 - t0, "fit": t2 - t1, "evaluate": time.perf_counter() - t2}
    out["n_train"] = len(records)
    out["neighbours"] = "the service's hybrid similar cases (indexing.neighbours), charges given"
    return out


def run_traffic(data_dir: Path, k: int, config: SentencingConfig) -> dict[str, Any]:
    """The traffic-card suite, with false alarms also by stratum (fled, deaths) on the test cards."""
    t0 = time.perf_counter()
    train, test, rejected = load_traffic_records(data_dir)
    train_nb, test_nb = card_neighbours(train, test, k)
    t1 = time.perf_counter()
    model = SentencingModel.fit(train, train_nb, seed=SEED, config=config)
    t2 = time.perf_counter()
    kept = [(r, nb) for r, nb in zip(test, test_nb, strict=True) if r.outcome is not None]
    test_kept = [r for r, _ in kept]
    strata = {
        "fled": ["fled" if r.attributes.get("fled") else "not fled" for r in test_kept],
        "deaths": [f"{min(r.quantities.injuries.deaths, 2)}{'+' if r.quantities.injuries.deaths >= 2 else ''} deaths" for r in test_kept],
    }
    out = evaluate(model, train, test_kept, [nb for _, nb in kept], strata=strata)
    out["law"]["unlawful_whole_sample"] = _whole_sample_unlawful(model, train, train_nb, out["law"]["unlawful"])
    out["seconds"] = {"load_and_neighbours": t1 - t0, "fit": t2 - t1, "evaluate": time.perf_counter() - t2}
    out["n_train"] = len(train)
    out["rejected_cards"] = rejected
    out["neighbours"] = f"the {k} nearest training cards over standardized card features"
    return out


# ------------------------------------------------------------------------------------------ report


def _pct(x: float) -> str:
    return "  n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:5.1f}%"


def format_report(report: dict[str, Any]) -> str:
    """The human-readable table (rates with the half-width of their Wilson 95 % interval)."""
    lines = []
    for suite, r in report["suites"].items():
        lines.append(f"== {suite}: {r['n_train']} train / {r['n_test']} test ({r['n_custodial']} custodial)")
        lines.append(f"  MAE months (custodial)        {r['mae_months']:7.2f}   (target <= 10)")
        lines.append(f"  per-charge median baseline    {r['per_charge_median_mae_months']:7.2f}")
        lines.append(f"  neighbour-median baseline     {r['neighbour_median_mae_months']:7.2f}")
        lines.append(f"  CAIL2018 log-distance score   {r['cail_log_score']:7.3f}")
        for name, c in r["intervals"].items():
            lines.append(
                f"  {name} coverage {_pct(c['coverage'])} (n={c['n']}), width mean {c['mean_width_months']:.1f}"
                f" / median {c['median_width_months']:.1f} months"
            )
        head = "".join(f"{t.value:>16s}" for t in _TIERS)
        nominal = "".join(f"{_pct(1 - DEVIATION_TIERS[t]):>16s}" for t in _TIERS)
        lines.append(f"  {'false alarms (real judgments)':42s}{head}")
        lines.append(f"  {'nominal':42s}{nominal}")

        def row(label: str, rates: dict[str, Any]) -> str:
            cells = "".join(f"{_pct(rates[t.value]['rate']):>9s} ±{_half(rates[t.value]['ci95']):4.1f}" for t in _TIERS)
            return f"  {label[:34]:34s} n={rates['n']:5d}{cells}"

        lines.append(row("all", r["false_alarm"]["all"]))
        for g, rates in r["false_alarm"]["groups"].items():
            lines.append(row(g, rates))
        for sname, groups in r["false_alarm"].get("strata", {}).items():
            for value, rates in groups.items():
                lines.append(row(f"[{sname}] {value}", rates))
        w = r["false_alarm"]["groups_within_tolerance"]
        lines.append(
            "  groups within ±1.5 pts of nominal: "
            + ", ".join(f"{t.value} {w[t.value]}/{w['n_groups']}" for t in _TIERS)
        )
        c = r["false_alarm"]["groups_consistent_with_nominal"]
        lines.append(
            "  groups whose 95% interval contains nominal: "
            + ", ".join(f"{t.value} {c[t.value]}/{c['n_groups']}" for t in _TIERS)
        )
        lines.append(f"  {'detection':42s}{head}")
        for name, rates in r["detection"].items():
            if name != "range_80_reach":
                lines.append(row(name, rates))
        if "range_80_reach" in r["detection"]:
            rr = r["detection"]["range_80_reach"]
            lines.append(
                f"  80% range reaches x{rr['upper_factor_median']:.2f} above / ÷{rr['lower_factor_median']:.2f} below the median"
                f" (median case); narrower than x2 above in {_pct(rr['share_upper_below_2'])}, below in {_pct(rr['share_lower_below_2'])}"
            )
        if r.get("law"):
            law = r["law"]
            u = law.get("unlawful_whole_sample") or law["unlawful"]
            lines.append(
                f"  law: {u['forbidden_type']} forbidden types, {u['outside_range_without_mitigation']} ranges outside the"
                f" law of {u['n']} assessments; medians held to the law {_pct(law['held_to_law_share'])};"
                f" statutory alerts on real judgments {_pct(law['statutory_alerts_on_real']['rate'])}"
            )
            signs = ", ".join(f"{c} {v['median_pct']:+.0f}% (n={v['n']}, {_pct(v['within_guideline_share'])} in range)"
                              for c, v in law["guideline_signs"].items())
            lines.append(f"  guideline steps, median adjustment: {signs}; against the sign: {law['guideline_sign_violations']}")
        if r.get("probation"):
            p = r["probation"]
            lines.append(f"  probation: n={p['n']} base rate {_pct(p['base_rate'])} Brier {p['brier']:.3f} AUC {p['auc']:.3f}")
        s = r["seconds"]
        lines.append("  time: " + ", ".join(f"{k.replace('_', ' ')} {v:.0f}s" for k, v in s.items()))
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """NaN/inf -> None, so the report is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _half(ci: Sequence[float]) -> float:
    return 100 * (ci[1] - ci[0]) / 2 if not math.isnan(ci[0]) else math.nan


def run(
    data_dir: Path,
    *,
    k: int = K_NEIGHBOURS,
    suite: str = "all",
    config: SentencingConfig | None = None,
    work: Path | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """The report of the suites named by ``suite`` ("all", "cail" or "traffic"), as a dict.

    Args:
        k: Similar cards per traffic card (the CAIL suite uses the service's own similar cases).
        work: Folder of the CAIL corpus build, reused when it already holds one (default: a
            temporary folder, removed afterwards).
        epochs: Contrastive-polish epochs of the CAIL build's embedder (None: the recipe's default).

    Raises:
        LeiAnError: When a suite's data is missing under ``data_dir``.
    """
    config = config or SentencingConfig()
    report: dict[str, Any] = {"k_neighbours": k, "seed": SEED, "config": config.__dict__, "suites": {}}
    scratch = work or Path(tempfile.mkdtemp(prefix="leian-sentencing-"))
    try:
        with threadpool_limits(1):  # the machine is shared: one core
            if suite in ("all", "cail"):
                report["suites"]["cail2018"] = run_cail(data_dir, config, scratch, epochs)
            if suite in ("all", "traffic"):
                if not (data_dir / TRAFFIC_FILE).is_file():
                    raise LeiAnError(f"traffic case cards not found: {data_dir / TRAFFIC_FILE}")
                report["suites"]["traffic_cards_2019"] = run_traffic(data_dir, k, config)
    finally:
        if work is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the suites, print the table, write or print the JSON; 2 when data is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark-data", dest="data_dir", type=Path, default=DEFAULT_BENCHMARK_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="write the JSON report here (default: stdout after the table)")
    parser.add_argument("--k", type=int, default=K_NEIGHBOURS, help="similar cards per traffic card")
    parser.add_argument("--work", type=Path, help="keep (and reuse) the CAIL corpus build here")
    parser.add_argument("--epochs", type=int, help="polish epochs of the build's embedder (default: the recipe's)")
    parser.add_argument("--suite", choices=["all", "cail", "traffic"], default="all")
    parser.add_argument("--no-text-model", action="store_true", help="leave out the TF-IDF text feature")
    parser.add_argument("--plain", action="store_true", help="plain (unnormalized) conformal residuals")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir
    if not data_dir.is_dir():
        print(
            f"error: shared data folder not found: {data_dir}. The sentencing benchmark needs "
            f"{data_dir / CAIL_DIR} and {data_dir / TRAFFIC_FILE}; pass --benchmark-data.",
            file=sys.stderr,
        )
        return 2
    config = SentencingConfig(text_model=not args.no_text_model, normalized=not args.plain)
    try:
        report = run(data_dir, k=args.k, suite=args.suite, config=config, work=args.work, epochs=args.epochs)
    except LeiAnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.out:  # a written report says where it came from (commit, date, machine, command)
        report = {"about": provenance(), **report}
    text = json.dumps(_finite(report), ensure_ascii=False, indent=1, default=str)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

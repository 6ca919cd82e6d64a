"""The sentencing model on real CAIL records: types, nested ranges, calibrated deviation levels.

Fitted once per session (tests/indexing/conftest.py) on 900 of the 1,200 real CAIL records in ``data_samples/cail_sample.jsonl``
(neighbours by the benchmark's TF-IDF search, leave-one-out); the other 300 are held out and never
seen by fitting or calibration, so the false-alarm check below measures real generalization.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from evaluation.sentencing_benchmark import card_neighbours
from indexing.cards import card_to_case
from indexing.parse import parse_file
from indexing.schema import CaseRecord, Outcome, OutcomeType, RawJudgment
from indexing.sentencing import (
    DEVIATION_TIERS,
    DeviationLevel,
    SentencingModel,
    regime,
)

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"
HEAVY = {OutcomeType.DEATH, OutcomeType.DEATH_SUSPENDED, OutcomeType.LIFE}


def test_death_and_life_are_types_not_big_numbers(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    assert {"death", "life"} <= set(model.type_classes)
    records = cail["train"] + cail["held"]
    expected = model.predict_many(records, cail["train_nb"] + cail["held_nb"])
    heavy = [e for e in expected if e.outcome_type in HEAVY]
    assert heavy, "the classifier never expects death/life, even on the sample's death and life cases"
    for e in heavy:
        assert e.median_months is None
        assert e.outcome_type.value in e.type_probabilities
    for e in expected:
        assert math.isclose(sum(e.type_probabilities.values()), 1.0, rel_tol=1e-6)
        if e.outcome_type not in HEAVY:
            assert e.median_months is not None and e.median_months < 400


def test_ranges_are_nested(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    n_checked = 0
    for e in model.predict_many(cail["held"], cail["held_nb"]):
        if e.range_50 is None:
            continue
        assert e.range_80 is not None and e.range_95 is not None
        assert e.range_95[0] <= e.range_80[0] <= e.range_50[0] <= e.term_median_months
        assert e.term_median_months <= e.range_50[1] <= e.range_80[1] <= e.range_95[1]
        assert set(e.range_types["50"]) <= set(e.range_types["80"]) <= set(e.range_types["95"])
        n_checked += 1
    assert n_checked >= 250


def test_thresholds_nested_and_measured(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    for group, table in model.calibration.table["term"].items():
        values = [table[f"{c:.2f}"]["value"] for c in DEVIATION_TIERS.values()]
        assert values == sorted(values), group
        for c in DEVIATION_TIERS.values():
            entry = table[f"{c:.2f}"]
            assert entry["n"] >= 30 and entry["measured_n"] > 0
    pooled = model.calibration.table["term"]["pooled"]
    assert abs(pooled["0.80"]["measured_false_alarm"] - 0.20) < 0.06
    assert abs(pooled["0.95"]["measured_false_alarm"] - 0.05) < 0.04


def test_the_model_median_raises_nothing(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    held, held_nb = cail["held"], cail["held_nb"]
    expected = model.predict_many(held, held_nb)
    idx = [i for i, e in enumerate(expected) if e.outcome_type == OutcomeType.FIXED_TERM][:60]
    proposals = [Outcome(type=OutcomeType.FIXED_TERM, months=expected[i].median_months) for i in idx]
    devs = model.deviation_many([held[i] for i in idx], [held_nb[i] for i in idx], proposals)
    assert [d.level for d in devs] == [DeviationLevel.NONE] * len(idx)


def test_four_times_the_median_warns_with_reasons(cail: dict) -> None:
    """4x the model's median: at least a warning wherever it lies beyond the 95 % range, which holds
    for drunk driving (危险驾驶罪, 拘役 up to 6 months) and for a good share of all cases; it is never
    silent for most. (For cases the corpus explains poorly the real 95 % range is wider than 4x:
    real sentences vary that much, and calling them deviations would flag lawful judgments.)"""
    model: SentencingModel = cail["model"]
    held, held_nb = cail["held"], cail["held_nb"]
    expected = model.predict_many(held, held_nb)
    idx = [i for i, e in enumerate(expected) if e.outcome_type in (OutcomeType.FIXED_TERM, OutcomeType.DETENTION)]
    proposals = [Outcome(type=expected[i].outcome_type, months=4 * expected[i].median_months) for i in idx]
    devs = model.deviation_many([held[i] for i in idx], [held_nb[i] for i in idx], proposals)
    warned = {DeviationLevel.WARNING, DeviationLevel.SEVERE}
    beyond_95 = [d for d in devs if d.proposed.months > d.expected.range_95[1]]  # type: ignore[index,operator]
    assert len(beyond_95) >= 0.15 * len(devs)
    # the shown range is the conformal set inside the law: beyond it lies a warning, or the law's bound
    assert all(d.level in warned or (d.statutory is not None and d.statutory.outside) for d in beyond_95)
    drunk = [d for i, d in zip(idx, devs, strict=True) if held[i].charges[0] == "危险驾驶罪"]
    # drunk driving's 拘役 is one to six months: four times its median is a warning or leaves the law
    assert sum(d.expected.outcome_type is OutcomeType.DETENTION for d in drunk) >= 0.9 * len(drunk)
    flagged = [d.level in warned or (d.statutory is not None and d.statutory.outside) for d in drunk]
    assert len(drunk) >= 8 and sum(flagged) >= 0.75 * len(drunk)
    assert sum(d.level is not DeviationLevel.NONE for d in devs) >= 0.8 * len(devs)

    d = max(devs, key=lambda d: d.score or 0.0)
    assert d.kind == "months" and d.direction == "above" and d.level in warned
    assert d.ratio_to_median is not None and math.isclose(d.ratio_to_median, 4.0, rel_tol=1e-6)
    text = " ".join(d.reasons)
    assert "件类似案件" in text and "倍" in text
    assert "校准" in text and "留出的真实判决" in text
    assert d.threshold is not None and d.threshold.tier is d.level
    assert d.threshold.n >= 30 and 0.0 <= d.threshold.measured_false_alarm <= 1.0


def test_death_proposed_for_a_term_case_is_a_type_deviation(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    held, held_nb = cail["held"], cail["held_nb"]
    record = next(r for r in held if r.charges and r.charges[0] == "危险驾驶罪")
    d = model.deviation(record, held_nb[held.index(record)], Outcome(type=OutcomeType.DEATH))
    assert d.kind == "type" and d.direction == "above"
    assert d.level is DeviationLevel.SEVERE
    assert d.proposed_type_probability is not None and d.proposed_type_probability < 0.05
    # 危险驾驶罪 carries 拘役 only: the law's alert comes first, citing the article, then the model's reason
    assert d.statutory is not None and d.statutory.outside
    assert d.reasons[0].startswith("超出法定刑幅度") and "刑法第一百三十三条之一" in d.reasons[0]
    assert "死刑" in d.reasons[1] and "可能性" in d.reasons[1]


def test_false_alarms_on_held_out_real_judgments_are_near_nominal(cail: dict) -> None:
    """Every real held-out judgment proposed as itself: the flagged share must be near 1 - coverage."""
    model: SentencingModel = cail["model"]
    held: list[CaseRecord] = cail["held"]
    devs = model.deviation_many(held, cail["held_nb"], [r.outcome for r in held])  # type: ignore[misc]
    levels = [d.level for d in devs if d.kind != "not_comparable"]
    n = len(levels)
    assert n >= 290
    notice = sum(lv is not DeviationLevel.NONE for lv in levels) / n
    warning = sum(lv in (DeviationLevel.WARNING, DeviationLevel.SEVERE) for lv in levels) / n
    # nominal 20 % and 5 %; n = 300 gives a binomial s.d. of 2.3 and 1.3 points
    assert 0.12 <= notice <= 0.28, notice
    assert 0.01 <= warning <= 0.10, warning


def test_save_load_round_trip(cail: dict, tmp_path: Path) -> None:
    model: SentencingModel = cail["model"]
    held, held_nb = cail["held"][:80], cail["held_nb"][:80]
    model.save(tmp_path)
    assert (tmp_path / "calibration_scores.npy").is_file() and (tmp_path / "versions.json").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = SentencingModel.load(tmp_path)
    assert loaded.predict_many(held, held_nb) == model.predict_many(held, held_nb)
    proposals = [r.outcome for r in held]
    assert loaded.deviation_many(held, held_nb, proposals) == model.deviation_many(held, held_nb, proposals)  # type: ignore[arg-type]

    versions = json.loads((tmp_path / "versions.json").read_text())
    versions["scikit-learn"] = "0.0.1"
    (tmp_path / "versions.json").write_text(json.dumps(versions))
    with pytest.warns(RuntimeWarning, match="library versions"):
        SentencingModel.load(tmp_path)


def test_traffic_cards_learn_probation_and_card_attributes() -> None:
    """Cards carry 缓刑 and 逃逸/责任: the probation classifier exists; CAIL models have none."""
    cards = [card_to_case(r) for r in parse_file(SAMPLES / "traffic_cards_2019.csv") if isinstance(r, RawJudgment)]
    train, test = cards[:400], cards[400:]
    train_nb, test_nb = card_neighbours(train, test, 10)
    model = SentencingModel.fit(train, train_nb, seed=0)
    assert "attr_fled" in model.spec.names() and "attr_liability" in model.spec.names()
    assert "attr_sex" not in model.spec.names()
    expected = model.predict_many(test, test_nb)
    assert all(e.probation_probability is not None and 0.0 <= e.probation_probability <= 1.0 for e in expected)
    assert all(regime(e.outcome_type) == "term" for e in expected)


def test_cail_model_has_no_probation_estimate(cail: dict) -> None:
    """CAIL states months only, so it must not teach 'never suspended'."""
    e = cail["model"].predict(cail["held"][0], cail["held_nb"][0])
    assert e.probation_probability is None


def test_reasons_compare_with_the_similar_cases_given(cail: dict) -> None:
    """With the similar cases at hand, circumstance reasons speak of them, not of the whole corpus."""
    model: SentencingModel = cail["model"]
    train: list[CaseRecord] = cail["train"]
    record = next(r for r in cail["held"] if r.circumstances and r.outcome and r.outcome.months)
    same = [r for r in train if r.charges[:1] == record.charges[:1]][:10]
    nb = [r.outcome.months for r in same if r.outcome and r.outcome.months]
    proposal = Outcome(type=OutcomeType.FIXED_TERM, months=8 * model.predict(record, nb).term_median_months)
    d = model.deviation(record, nb, proposal, neighbour_circumstances=[r.circumstances for r in same])
    assert any(f"{len(same)}件类似案件中" in text for text in d.reasons), d.reasons


def test_odd_inputs_do_not_break_it(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    record = cail["held"][0].model_copy(update={"charges": [], "circumstances": []})
    e = model.predict(record, [])
    assert e.n_neighbours == 0 and e.neighbour_median_months is None and e.group == "pooled"
    d = model.deviation(record, [], Outcome(type=OutcomeType.DETENTION, months=None))
    assert d.kind == "not_comparable" and d.level is DeviationLevel.NONE
    with pytest.raises(ValueError, match="neighbour lists"):
        SentencingModel.fit(cail["train"][:50], cail["train_nb"][:49])


def test_no_expectation_leaves_the_law(cail: dict) -> None:
    """Over every sample case: no forbidden type has probability, no range leaves the lawful term range."""
    from indexing.sentencing.lawful import law_context

    model: SentencingModel = cail["model"]
    records = cail["train"] + cail["held"]
    held_to_law = 0
    for record, e in zip(records, model.predict_many(records, cail["train_nb"] + cail["held_nb"]), strict=True):
        law = law_context(record)
        assert all(p == 0.0 for t, p in e.type_probabilities.items() if OutcomeType(t) not in law.types)
        for r in (e.range_50, e.range_80, e.range_95):
            if r is not None:
                assert law.min_months <= r[0] <= r[1] <= law.max_months
        assert law.min_months <= e.term_median_months <= law.max_months
        if e.lawful is not None and law.min_months < law.bracket_min_months:
            assert e.lawful.below_bracket_by  # below the brackets only with a circumstance permitting 减轻
        held_to_law += e.held_to_law
    assert held_to_law > 0  # the bounds do act on the sample (drug weights, 危险驾驶 …)


def test_the_guideline_steps_multiply_out_to_the_expectation(cail: dict) -> None:
    from indexing.law import circumstance_rule

    model: SentencingModel = cail["model"]
    held, held_nb = cail["held"], cail["held_nb"]
    seen_circumstance = False
    for record, nb in list(zip(held, held_nb, strict=True))[:80]:
        e = model.predict(record, nb)
        steps = model.steps(record, nb)
        names = [s.step for s in steps]
        assert names[-1] == "expected" and "baseline" in names
        if e.lawful is not None:
            assert names[:2] == ["bracket", "starting_point"] and steps[0].source and "刑法" in steps[0].source
        assert abs(steps[-1].months - e.term_median_months) < 1e-6  # type: ignore[operator]
        baseline = next(s for s in steps if s.step == "baseline")
        product = baseline.months
        for s in steps:
            if s.step == "circumstance":
                seen_circumstance = True
                product *= 1 + s.change_pct / 100  # type: ignore[operator]
                rule = circumstance_rule(s.circumstance)  # type: ignore[arg-type]
                # the model's effects have the guideline's sign (monotone constraints)
                assert (s.change_pct <= 1e-6) if rule.direction == "mitigating" else (s.change_pct >= -1e-6)  # type: ignore[operator]
        assert abs(product - steps[-1].months) < 1e-6 * max(1.0, product)  # type: ignore[operator]
    assert seen_circumstance

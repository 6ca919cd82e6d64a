"""The law's bounds as the sentencing model reads them (indexing.sentencing.lawful), on real charges."""

from __future__ import annotations

from indexing.schema import CaseRecord, Circumstance, Outcome, OutcomeType, Quantities
from indexing.sentencing.lawful import UNKNOWN, law_context, statutory_check


def _case(charges: list[str], quantities: Quantities | None = None, circumstances: list[Circumstance] | None = None) -> CaseRecord:
    return CaseRecord(case_id="t", source="draft", source_id="t", facts="事实", charges=charges,
                      quantities=quantities or Quantities(), circumstances=circumstances or [])


def test_drunk_driving_is_detention_only() -> None:
    law = law_context(_case(["危险驾驶罪"], Quantities(blood_alcohol_mg_100ml=150)))
    assert law.types == {OutcomeType.DETENTION, OutcomeType.EXEMPTION, OutcomeType.NOT_GUILTY}
    assert (law.min_months, law.max_months) == (1, 6)
    check = statutory_check(law, Outcome(type=OutcomeType.FIXED_TERM, months=8), [])
    assert check.outside and "刑法第一百三十三条之一" in check.reasons[0] and "有期徒刑不在其中" in check.reasons[0]
    assert statutory_check(law, Outcome(type=OutcomeType.DETENTION, months=8), []).outside  # 拘役 of one charge: at most 6
    assert not statutory_check(law, Outcome(type=OutcomeType.DETENTION, months=4), []).outside


def test_drug_weight_chooses_the_bracket_and_only_mitigation_goes_below_it() -> None:
    meth = Quantities(drug_type="甲基苯丙胺", drug_grams=44.69)
    law = law_context(_case(["走私、贩卖、运输、制造毒品罪"], meth, [Circumstance.CONFESSION]))
    assert law.min_months == 84 and law.bracket_min_months == 84  # 十克以上不满五十克: 七年以上
    assert not law.below_bracket_by  # 坦白 alone does not permit 减轻处罚
    check = statutory_check(law, Outcome(type=OutcomeType.FIXED_TERM, months=36), [Circumstance.CONFESSION], "甲基苯丙胺44.69克")
    assert check.outside and "甲基苯丙胺44.69克" in check.reasons[0]
    helped = law_context(_case(["走私、贩卖、运输、制造毒品罪"], meth, [Circumstance.ACCESSORY]))
    assert helped.below_bracket_by == (Circumstance.ACCESSORY,)
    assert helped.min_months < 84 == helped.bracket_min_months
    assert not statutory_check(helped, Outcome(type=OutcomeType.FIXED_TERM, months=48), [Circumstance.ACCESSORY]).outside


def test_minors_are_never_sentenced_to_death() -> None:
    adult = law_context(_case(["故意杀人罪"]))
    minor = law_context(_case(["故意杀人罪"], circumstances=[Circumstance.MINOR]))
    assert OutcomeType.DEATH in adult.types and OutcomeType.DEATH not in minor.types and OutcomeType.DEATH_SUSPENDED not in minor.types
    assert adult.min_months == 36  # 情节较轻的 三年以上十年以下 stays lawful: the court may find it


def test_recidivists_get_no_probation() -> None:
    law = law_context(_case(["盗窃罪"], Quantities(amount_yuan=5000), [Circumstance.RECIDIVISM]))
    check = statutory_check(law, Outcome(type=OutcomeType.FIXED_TERM, months=12, probation_months=18), [Circumstance.RECIDIVISM])
    assert check.outside and "刑法第七十四条" in check.reasons[0]


def test_several_charges_combine_and_unknown_charges_keep_the_general_bounds() -> None:
    combined = law_context(_case(["危险驾驶罪", "盗窃罪"], Quantities(amount_yuan=500_000)))
    assert combined.min_months == 120 and combined.max_months >= 180  # 数罪并罚: the highest minimum
    assert law_context(_case([])) is UNKNOWN
    assert law_context(_case(["某某罪"])) is UNKNOWN


def test_departure_names_the_step() -> None:
    from indexing.sentencing.results import Step
    from indexing.sentencing.steps import departure

    steps = [Step(step="baseline", title="基准刑", text="", months=20.0),
             Step(step="circumstance", title="自首", text="", circumstance=Circumstance.SURRENDER, guideline_pct=(-40.0, 0.0)),
             Step(step="expected", title="宣告刑（预期）", text="", months=16.0)]
    fixed = OutcomeType.FIXED_TERM
    assert departure(steps, Outcome(type=fixed, months=8), outside_statutory=True, flagged=True)["step"] == "bracket"
    assert departure(steps, Outcome(type=fixed, months=16), outside_statutory=False, flagged=False) is None
    # reduced by 60 %: more than 自首's 40 % allows
    low = departure(steps, Outcome(type=fixed, months=8), outside_statutory=False, flagged=True)
    assert low["step"] == "circumstance" and low["allowed_pct"] == [-40.0, 0.0]
    # above the baseline itself: the 从轻 circumstance was not applied, and the baseline is where it departs
    high = departure(steps, Outcome(type=fixed, months=40), outside_statutory=False, flagged=True)
    assert high["step"] == "baseline" and "从轻情节未予体现" in high["text"]

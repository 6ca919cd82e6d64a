"""The guideline's steps as the explanation of an expected sentence (还原每个环节和具体数值).

《关于常见犯罪的量刑指导意见（试行）》 sentences in steps: the statutory bracket the facts fall in
(法定刑幅度), a starting point inside it (量刑起点), a baseline raised by the quantities (基准刑),
each circumstance adjusting the baseline by a bounded percentage, and the declared sentence. The
model is one learned function, not those steps, but its answer can be taken apart in the same
order, with numbers the model itself gives:

1. **bracket**: the law table's brackets for the stated facts, with the article;
2. **starting point**: the guideline's range for the lowest possible bracket (curated rows), beside
   the model's term for this case with no circumstance and its quantity at the bracket's national
   threshold;
3. **baseline**: the model's term with the real quantities and still no circumstance, and the
   quantity's increment;
4. **each circumstance**, in the guideline's order (those it applies first, then the rest), switched on
   one after another: the model's change in percent, beside the range the guideline allows;
5. **expected**: the model's median, within the law.

The case's similar cases and its text stay as they are in every step (they are the case's own
evidence), so the baseline already carries what the similar cases say. The steps multiply out to
the expected median exactly. Where a proposal departs, :func:`departure` names the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from indexing.law import COMBINATION, circumstance_rule
from indexing.law.statute import article_label
from indexing.schema import CaseRecord, Circumstance, Outcome, Quantities
from indexing.sentencing.lawful import LawContext, clip_months, law_context
from indexing.sentencing.outcomes import months_zh, outcome_months
from indexing.sentencing.results import Step

if TYPE_CHECKING:
    from indexing.sentencing.model import SentencingModel


def guideline_order(circumstances: Sequence[Circumstance]) -> list[Circumstance]:
    """Circumstances in the order the guideline applies them: its 先行适用 ones first, then the rest."""
    first = [c for c in COMBINATION.applied_first if c in circumstances]
    return first + [c for c in Circumstance if c in circumstances and c not in first]


def _at_threshold(record: CaseRecord, law: LawContext) -> Quantities | None:
    """The case's quantities with the deciding one set to the lowest possible bracket's national threshold."""
    if not law.known or not math.isfinite(law.log_over_threshold) or law.lawful is None:
        return None
    factor = math.exp(-law.log_over_threshold)
    q = record.quantities
    if q.amount_yuan is not None and q.drug_grams is None:
        return q.model_copy(update={"amount_yuan": q.amount_yuan * factor})
    if q.drug_grams is not None:
        return q.model_copy(update={"drug_grams": q.drug_grams * factor})
    return None


def _pct(rule_min: float | None, rule_max: float | None) -> str:
    if rule_min is None and rule_max is None:
        return "指导意见未规定比例"
    lo = f"{rule_min:+.0f}%" if rule_min is not None else "?"
    hi = f"{rule_max:+.0f}%" if rule_max is not None else "?"
    return f"指导意见幅度{lo}至{hi}"


def guideline_steps(model: SentencingModel, record: CaseRecord, neighbour_months: Sequence[float]) -> list[Step]:
    """The steps for one case (see the module docstring); months are the model's medians, in the law."""
    law = law_context(record) if model.spec.law else None
    order = guideline_order(record.circumstances)
    base = record.model_copy(update={"circumstances": []})
    variants = [base] + [record.model_copy(update={"circumstances": order[: k + 1]}) for k in range(len(order))]
    start_q = _at_threshold(record, law) if law else None
    if start_q is not None:
        variants.append(base.model_copy(update={"quantities": start_q}))
    core = model._core_for(variants, [neighbour_months] * len(variants))
    months = [clip_months(float(math.expm1(m)), c) for m, c in zip(core["mu"], core["law"], strict=True)]
    steps: list[Step] = []
    if law is not None and law.known and law.lawful is not None:
        lawful = law.lawful
        clauses = "；".join(f"刑法{article_label(b.article)}：{b.text}" for b in lawful.brackets)
        lighter = "；".join(b.text for b in lawful.lighter_brackets)
        steps.append(Step(
            step="bracket", title="法定刑幅度", range_months=(law.min_months, law.max_months),
            text=clauses + (f"；认定情节较轻的：{lighter}" if lighter else ""),
            source="、".join(f"刑法{article_label(a)}" for a in lawful.articles),
        ))
        charge = lawful.charges[0]
        from indexing.law import charge_law

        main = charge_law(charge)
        start = next((s for s in (main.starting_points if main else []) if s.bracket == law.bracket_lo), None)
        steps.append(Step(
            step="starting_point", title="量刑起点",
            months=months[-1] if start_q is not None else None,
            guideline_months=(float(start.min_months or 0), float(start.max_months or start.min_months or 0)) if start else None,
            text=(f"指导意见：{start.condition}，在{months_zh(start.min_months or 0)}至{months_zh(start.max_months or start.min_months or 0)}幅度内确定量刑起点"
                  if start else "指导意见未就本罪该幅度规定量刑起点（或未收录）")
                 + (f"；模型对本案事实、数量取该幅度全国标准下限、无量刑情节时估计{months_zh(months[-1])}" if start_q is not None else ""),
            source=start.source if start else None,
        ))
    increment = months[0] - months[-1] if start_q is not None else None
    steps.append(Step(
        step="baseline", title="基准刑", months=months[0], change_months=increment,
        text=f"模型依本案数量、类似案件刑期与事实文本、不计量刑情节时估计{months_zh(months[0])}"
             + (f"，其中超出幅度起点标准的数量增加{months_zh(abs(increment))}" if increment is not None and increment > 0 else ""),
    ))
    for k, c in enumerate(order):
        rule = circumstance_rule(c)
        before, after = months[k], months[k + 1]
        change = 100.0 * (after / before - 1.0) if before > 0 else 0.0
        within = None
        if rule.min_pct is not None or rule.max_pct is not None:
            lo = rule.min_pct if rule.min_pct is not None else -100.0
            hi = rule.max_pct if rule.max_pct is not None else math.inf
            within = lo - 0.5 <= change <= hi + 0.5
        steps.append(Step(
            step="circumstance", title=c.value, circumstance=c, months=after, change_pct=change,
            guideline_pct=(rule.min_pct, rule.max_pct), within_guideline=within,
            text=f"{c.value}（{'从轻' if rule.direction == 'mitigating' else '从重'}）：模型调节{change:+.0f}%，"
                 f"{_pct(rule.min_pct, rule.max_pct)}" + ("" if within in (None, True) else "（超出指导意见幅度）"),
            source=rule.source,
        ))
    final = months[len(order)]
    raw = float(math.expm1(core["raw_mu"][len(order)]))
    held = law is not None and abs(raw - final) > 0.05
    steps.append(Step(
        step="expected", title="宣告刑（预期）", months=final,
        text=f"预期刑期{months_zh(final)}"
             + (f"（模型估计{months_zh(raw)}超出法定刑幅度，依法取{months_zh(final)}）" if held else ""),
    ))
    return steps


def departure(steps: Sequence[Step], proposed: Outcome, *, outside_statutory: bool, flagged: bool) -> dict | None:
    """At which step a proposal departs from the expectation, or None when it does not.

    - 法定刑幅度: it leaves the statutory range;
    - 量刑情节调节: a flagged proposal lower than the baseline with every stated circumstance's largest
      reduction the guideline allows (同向相加): it reduces more than the circumstances permit;
    - 基准刑: any other flagged proposal. Within the guideline's adjustment of the baseline, or above
      the baseline with its largest aggravation, the difference lies in the baseline itself (the facts,
      the quantities and what similar cases got), not in the circumstances.
    """
    if outside_statutory:
        return {"step": "bracket", "title": "法定刑幅度", "text": "拟判刑罚超出法定刑幅度"}
    months = outcome_months(proposed)
    baseline = next((s for s in steps if s.step == "baseline"), None)
    if not flagged or months is None or months <= 0 or baseline is None or not baseline.months:
        return None
    implied = 100.0 * (months / baseline.months - 1.0)
    circ = [s for s in steps if s.step == "circumstance" and s.guideline_pct is not None]
    lo = sum(s.guideline_pct[0] for s in circ if s.guideline_pct and s.guideline_pct[0] is not None)
    hi = sum(s.guideline_pct[1] for s in circ if s.guideline_pct and s.guideline_pct[1] is not None)
    base = f"拟判刑期相对模型基准刑{months_zh(baseline.months)}{implied:+.0f}%"
    if circ and implied < lo - 0.5:
        return {"step": "circumstance", "title": "量刑情节调节",
                "text": f"{base}，而本案情节按指导意见合计至多调节{lo:+.0f}%", "implied_pct": implied, "allowed_pct": [lo, hi]}
    if circ and implied > hi + 0.5:
        text = f"{base}，高于按指导意见最大幅度调节后的基准刑（{hi:+.0f}%）" + ("，本案从轻情节未予体现" if hi <= 0 else "")
    else:
        text = f"{base}" + (f"，在本案情节可调节的{lo:+.0f}%至{hi:+.0f}%之内" if circ else "")
    return {"step": "baseline", "title": "基准刑", "text": text + "；差异在基准刑（犯罪事实、数量与类似案件刑期）",
            "implied_pct": implied, "allowed_pct": [lo, hi] if circ else None}

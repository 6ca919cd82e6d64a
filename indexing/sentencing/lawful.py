"""The law's bounds for one case, as the sentencing model uses them: features, hard limits, type masks.

Statistics decide within the law and never overrule it. For each case the law table
(:mod:`indexing.law`) gives the brackets its stated facts leave possible; from them come

- **features**: the lowest and highest possible bracket, the term bounds they allow, the guideline's
  starting point of the lowest one, and how far the amount or drug weight lies above that bracket's
  national threshold (one scale for every property or drug charge, so a small corpus learns the step
  from 数额较大 to 数额巨大 once instead of per charge);
- **limits**: the model's median term is held inside the lawful term range, and so are its ranges.
  The range's floor drops to the 减轻处罚 floor (刑法第六十三条) only when a circumstance that permits
  减轻 is present, and the brackets for 情节较轻 (故意杀人罪's 三年以上十年以下) stay lawful because the
  court may find it;
- **type masks**: penalty types no possible bracket allows get probability zero (危险驾驶罪 is 拘役
  only; 死刑 never for a defendant under 18, 刑法第四十九条). 免予刑事处罚 (刑法第三十七条: 犯罪情节
  轻微不需要判处刑罚的) and 无罪 are lawful for every charge; the model says how rare they are.

A case with no charge on the law table gets the general part's bounds only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from indexing.law import GENERAL_BOUNDS, LawfulRange, charge_law, lawful_range
from indexing.schema import CaseRecord, Circumstance, Outcome, OutcomeType, Quantities
from indexing.sentencing.outcomes import months_zh
from indexing.sentencing.results import StatutoryCheck

#: Lawful for every charge: 无罪, and 免予刑事处罚 for 犯罪情节轻微不需要判处刑罚的 (刑法第三十七条, a general rule)
_ALWAYS = frozenset({OutcomeType.NOT_GUILTY, OutcomeType.EXEMPTION})
_DEATH = frozenset({OutcomeType.DEATH, OutcomeType.DEATH_SUSPENDED})
_GENERAL_MIN = GENERAL_BOUNDS.terms[OutcomeType.DETENTION].min_months
_GENERAL_MAX = GENERAL_BOUNDS.terms[OutcomeType.FIXED_TERM].combined_max_months_long or 300


@dataclass(frozen=True)
class LawContext:
    """What the law permits for one case's charges, quantities and circumstances."""

    known: bool  # some charge is on the law table
    types: frozenset[OutcomeType]  # lawful penalty types
    min_months: float  # lawful term floor (with 减轻 where a circumstance permits it)
    max_months: float  # lawful term ceiling
    bracket_min_months: float  # the possible brackets' floor, without 减轻
    below_bracket_by: tuple[Circumstance, ...] = ()
    bracket_lo: float = math.nan  # lowest / highest possible bracket index (-1: 情节较轻)
    bracket_hi: float = math.nan
    start_months: float = math.nan  # the guideline's starting point (midpoint) of the lowest bracket
    log_over_threshold: float = math.nan  # log(quantity / the lowest bracket's national threshold)
    lawful: LawfulRange | None = field(default=None, compare=False)

    def features(self) -> list[float]:
        """The model's law columns (see FEATURE_NAMES)."""
        return [
            self.bracket_lo,
            self.bracket_hi,
            math.log1p(self.bracket_min_months) if self.known else math.nan,
            math.log1p(self.max_months) if self.known else math.nan,
            math.log1p(self.start_months) if math.isfinite(self.start_months) else math.nan,
            self.log_over_threshold,
            float(bool(self.types & {OutcomeType.LIFE, *_DEATH})) if self.known else math.nan,
        ]


FEATURE_NAMES = (
    "law_bracket_lo", "law_bracket_hi", "law_min", "law_max", "law_start", "law_over_threshold", "law_heavy",
)
UNKNOWN = LawContext(
    known=False, types=frozenset(OutcomeType), min_months=_GENERAL_MIN, max_months=_GENERAL_MAX,
    bracket_min_months=_GENERAL_MIN,
)


def _quantity(quantities: Quantities, name: str) -> float | None:
    value: object = quantities
    for part in name.split("."):
        value = getattr(value, part, None)
    return None if value is None else float(value)  # type: ignore[arg-type]


def law_context(record: CaseRecord) -> LawContext:
    """The law's bounds for a case (cached by what they depend on: charges, quantities, circumstances)."""
    return _context(tuple(record.charges), record.quantities, tuple(sorted(record.circumstances)))


@lru_cache(maxsize=100_000)
def _context(charges: tuple[str, ...], quantities: Quantities, circumstances: tuple[Circumstance, ...]) -> LawContext:
    known = [c for c in charges if charge_law(c) is not None]
    if not known:
        return UNKNOWN
    lawful = lawful_range(known, quantities, circumstances)
    if not lawful.brackets:  # the quantities reach no bracket: the charge's brackets all stay possible
        lawful = lawful_range(known, Quantities(injuries=quantities.injuries), circumstances)
    main = charge_law(known[0])
    assert main is not None
    brackets = [*lawful.brackets, *lawful.lighter_brackets]
    types = set(lawful.penalties) | {p for b in lawful.lighter_brackets for p in b.penalties} | _ALWAYS
    below = tuple(lawful.below_bracket_permitted_by)
    if below:  # 减轻处罚: the punishments of the lower brackets become lawful too
        lowest = min(b.index for b in lawful.brackets) if lawful.brackets else 0
        types |= {p for b in main.brackets if b.index < lowest for p in b.penalties}
        types |= {OutcomeType.DETENTION} if lawful.reduced_min_months == _GENERAL_MIN else set()
    if Circumstance.MINOR in circumstances:
        types -= _DEATH  # 刑法第四十九条
    lows = [b.min_months for b in brackets if b.min_months is not None]
    floor = float(min(lows)) if lows else float(_GENERAL_MIN)
    if lawful.min_months is not None and len(known) > 1:
        floor = float(lawful.min_months)  # 数罪并罚: at least the highest single minimum
    ceiling = float(lawful.max_months) if lawful.max_months is not None else float(_GENERAL_MAX)
    reduced = float(lawful.reduced_min_months) if below and lawful.reduced_min_months is not None else floor
    regular = [b.index for b in lawful.brackets]
    lo_index = min(regular) if regular else math.nan
    start = next((s for s in main.starting_points if s.bracket == lo_index and s.min_months is not None), None)
    start_months = (start.min_months + (start.max_months or start.min_months)) / 2 if start else math.nan  # type: ignore[operator]
    over = math.nan
    for row in main.thresholds:
        if row.bracket == lo_index and row.decisive and (value := _quantity(quantities, row.quantity)) and value > 0:
            if not row.drug_types or quantities.drug_type in row.drug_types:
                over = math.log(value / row.national_min)
                break
    return LawContext(
        known=True,
        types=frozenset(types),
        min_months=min(reduced, floor),
        max_months=ceiling,
        bracket_min_months=floor,
        below_bracket_by=below,
        bracket_lo=float(lo_index),
        bracket_hi=float(max(regular)) if regular else math.nan,
        start_months=start_months,
        log_over_threshold=over,
        lawful=lawful,
    )


def clip_months(months: float, context: LawContext) -> float:
    """A term held inside the lawful term range."""
    return min(max(months, context.min_months), context.max_months)


def stated_facts(quantities: Quantities) -> str:
    """The quantities a bracket was chosen by, as a judge checks them: 涉案金额30,000元、甲基苯丙胺12.2克."""
    parts = []
    if quantities.amount_yuan is not None:
        parts.append(f"涉案金额{quantities.amount_yuan:,.0f}元")
    if quantities.drug_grams is not None:
        parts.append(f"{quantities.drug_type or '毒品'}{quantities.drug_grams:g}克")
    injuries = quantities.injuries
    for n, word in ((injuries.deaths, "死亡"), (injuries.serious, "重伤"), (injuries.minor, "轻伤")):
        if n:
            parts.append(f"{word}{n}人")
    return "、".join(parts)


def statutory_check(
    law: LawContext, proposed: Outcome, circumstances: Sequence[Circumstance], facts: str = ""
) -> StatutoryCheck:
    """Whether a proposal stays inside the law for this case (超出法定刑幅度 is its own alert).

    Independent of the statistical tiers: the type must be lawful, a term must lie in the lawful term
    range (below the brackets' floor only with a circumstance that permits 减轻处罚), and a 累犯 may
    not be put on probation (刑法第七十四条).
    """
    from indexing.law.statute import article_label

    where = "、".join(f"刑法{article_label(a)}" for a in law.lawful.articles) if law.lawful else "刑法总则"
    if facts:
        where += f"及所述事实（{facts}）"
    reasons: list[str] = []
    name = GENERAL_BOUNDS.name(proposed.type)
    if proposed.type not in law.types:
        lawful = "、".join(GENERAL_BOUNDS.name(t) for t in OutcomeType if t in law.types and t is not OutcomeType.NOT_GUILTY)
        reasons.append(f"超出法定刑幅度：依{where}，本案可判处{lawful}，拟判{name}不在其中")
    elif proposed.type in GENERAL_BOUNDS.terms and proposed.months is not None:
        if proposed.months > law.max_months:
            reasons.append(f"超出法定刑幅度：依{where}，本案刑期最高{months_zh(law.max_months)}，拟判{months_zh(proposed.months)}")
        elif proposed.months < law.min_months:
            floor = "（已计入减轻处罚）" if law.below_bracket_by else "（本案无法定减轻处罚情节）"
            reasons.append(f"超出法定刑幅度：依{where}，本案刑期最低{months_zh(law.min_months)}{floor}，拟判{months_zh(proposed.months)}")
    if proposed.probation and Circumstance.RECIDIVISM in circumstances:
        rules = GENERAL_BOUNDS.probation
        reasons.append(f"不得适用缓刑：刑法{article_label(rules.excluded_article)}：{rules.excluded_words}")
    return StatutoryCheck(
        outside=bool(reasons), reasons=reasons, articles=law.lawful.articles if law.lawful else [],
        min_months=law.min_months, max_months=law.max_months, types=[t for t in OutcomeType if t in law.types],
        below_bracket_by=list(law.below_bracket_by),
    )

"""What the law permits for a case: possible brackets, the lawful range, the type of a months label.

These read the law table and never decide a sentence: statistics choose within the range, the
range comes from the statute, the interpretations' thresholds and the circumstances' permissions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexing.law.models import Bracket, ChargeLaw, LawfulRange, Permission, Threshold
from indexing.law.rules import GENERAL_BOUNDS, circumstance_rule
from indexing.law.statute import article_label
from indexing.law.table import charge_law, drug_aliases
from indexing.schema import Circumstance, OutcomeType, Quantities


def _law(charge: str | ChargeLaw) -> ChargeLaw:
    if isinstance(charge, ChargeLaw):
        return charge
    law = charge_law(charge)
    if law is None:
        raise ValueError(
            f"unknown charge {charge!r}: not on the canonical list, not a former name, or unmapped"
        )
    return law


def _value(quantities: Quantities, field: str) -> float | None:
    value: object = quantities
    for part in field.split("."):
        value = getattr(value, part, None)
    return None if value is None else float(value)  # type: ignore[arg-type]


def _applies(row: Threshold, quantities: Quantities) -> bool:
    if not row.decisive:
        return False
    if row.drug_types:
        drug = quantities.drug_type
        return drug is not None and drug_aliases().get(drug, drug) in row.drug_types
    return True


def _ruled_out(rows: list[Threshold], value: float, indices: list[int]) -> set[int]:
    """Brackets one condition's rows exclude for ``value``."""
    out: set[int] = set()
    for row in rows:
        if not row.non_quantity_triggers and value < row.lift_share * row.national_min:
            out.add(row.bracket)
        if row.rules_out_lower and value >= row.national_max:
            out |= {i for i in indices if 0 <= i < row.bracket}
    return out


def possible_brackets(charge: str | ChargeLaw, quantities: Quantities) -> list[Bracket]:
    """The brackets (not the 情节较轻 ones) the stated quantities leave possible.

    With the interpretations' thresholds: an amount below ``lift_share`` (50 % for most) of a
    bracket's lowest national threshold rules the bracket out, since other circumstances lift a
    case only from there; an amount at or above a bracket's highest national threshold rules out
    the brackets below it. A bracket reached without any amount (多次盗窃) is never ruled out by a
    small one. Where rows hold under alternative conditions (信用卡诈骗: 恶意透支 or not), a bracket is
    out only if every alternative rules it out. With no threshold or no quantity, every bracket stays.
    """
    law = _law(charge)
    regular = [b for b in law.brackets if not b.lighter]
    indices = [b.index for b in regular]
    excluded: set[int] = set()
    by_quantity: dict[str, dict[str | None, list[Threshold]]] = {}
    for row in law.thresholds:
        if _applies(row, quantities):
            by_quantity.setdefault(row.quantity, {}).setdefault(row.condition, []).append(row)
    for field, groups in by_quantity.items():
        value = _value(quantities, field)
        if value is None:
            continue
        outs = [_ruled_out(rows, value, indices) for rows in groups.values()]
        excluded |= set.intersection(*outs)
    return [b for b in regular if b.index not in excluded]


_DOC_NUMBER_RE = re.compile(r"(?:法释|法发|公通字|高检发办字)〔\d{4}〕\d+号")


def _document(source: str) -> str:
    """The document number of a source (法释〔2013〕8号), or its first words (刑法第三百四十七条)."""
    match = _DOC_NUMBER_RE.search(source)
    return match.group(0) if match else re.split(r"[（；(]", source)[0]


def _clause(b: Bracket) -> str:
    return f"刑法{article_label(b.article)}：{b.text}"


def _explain(law: ChargeLaw, brackets: list[Bracket], quantities: Quantities) -> str:
    if brackets:
        text = f"{law.name}：" + "；".join(_clause(b) for b in brackets)
    else:
        text = f"{law.name}：所述数量未达到任何量刑幅度的全国标准"
    used = sorted({_document(r.source) for r in law.thresholds if _applies(r, quantities)})
    if used and len(brackets) < len([b for b in law.brackets if not b.lighter]):
        text += f"（依{'、'.join(used)}的标准排除其他幅度）"
    lighter = [b for b in law.brackets if b.lighter]
    if lighter:
        text += "；认定情节较轻的，" + "；".join(_clause(b) for b in lighter)
    return text


def _term_bounds(brackets: list[Bracket]) -> tuple[int | None, int | None]:
    lows = [b.min_months for b in brackets if b.min_months is not None]
    highs = [b.max_months for b in brackets if b.max_months is not None]
    return (min(lows) if lows else None), (max(highs) if highs else None)


def _combined(
    per_charge: list[tuple[int | None, int | None]], penalties: set[OutcomeType]
) -> tuple[int | None, int | None]:
    """Art. 69: at least the highest single minimum, at most the total within the combined cap."""
    lows = [lo for lo, _ in per_charge if lo is not None]
    highs = [hi for _, hi in per_charge if hi is not None]
    if not lows or not highs:
        return None, None
    total = sum(highs)
    if OutcomeType.FIXED_TERM in penalties:
        bound = GENERAL_BOUNDS.terms[OutcomeType.FIXED_TERM]
        cap = (
            bound.combined_max_months_long
            if total >= (bound.long_total_months or total + 1)
            else bound.combined_max_months
        )
    else:
        cap = GENERAL_BOUNDS.terms[OutcomeType.DETENTION].combined_max_months
    return max(lows), min(total, cap or total)


def _reduced_floor(law: ChargeLaw, possible: list[Bracket]) -> int:
    """Art. 63: 减轻 goes to the next lower bracket; below the lowest, to the least term (拘役, 1 month)."""
    lowest = min(b.index for b in possible)
    below = [b for b in law.brackets if b.index < lowest and b.min_months is not None]
    if below:
        return (
            max(below, key=lambda b: b.index).min_months
            or GENERAL_BOUNDS.terms[OutcomeType.DETENTION].min_months
        )
    return GENERAL_BOUNDS.terms[OutcomeType.DETENTION].min_months


def lawful_range(
    charges: Iterable[str],
    quantities: Quantities | None = None,
    circumstances: Iterable[Circumstance | str] = (),
) -> LawfulRange:
    """The brackets, punishments and term the law permits for these charges, quantities, circumstances."""
    quantities = quantities or Quantities()
    rules = [circumstance_rule(c) for c in dict.fromkeys(circumstances)]
    names, articles, unknown = [], [], []
    brackets: list[Bracket] = []
    lighter: list[Bracket] = []
    by_charge: dict[str, list[int]] = {}
    per_charge: list[tuple[int | None, int | None]] = []
    reduced: list[int] = []
    texts = []
    for charge in charges:
        law = charge_law(charge)
        if law is None:
            unknown.append(charge)
            continue
        possible = possible_brackets(law, quantities)
        names.append(law.name)
        articles += [a for a in dict.fromkeys([law.article, law.penalty_article]) if a not in articles]
        brackets += possible
        lighter += [b for b in law.brackets if b.lighter]
        by_charge[law.name] = [b.index for b in possible]
        per_charge.append(_term_bounds(possible))
        if possible:
            reduced.append(_reduced_floor(law, possible))
        texts.append(_explain(law, possible, quantities))
    penalties = {p for b in brackets for p in b.penalties}
    lo, hi = per_charge[0] if len(per_charge) == 1 else _combined(per_charge, penalties)
    below = [r.circumstance for r in rules if r.below_bracket is Permission.YES]
    below_if = [r.circumstance for r in rules if r.below_bracket is Permission.CONDITIONAL]
    exempt = [r.circumstance for r in rules if r.exemption is not Permission.NO]
    for r in rules:
        if r.below_bracket is not Permission.NO or r.exemption is not Permission.NO:
            where = f"刑法{article_label(r.article)}" if r.article else r.source
            texts.append(f"{r.circumstance.value}：{r.statute_words or r.below_bracket_condition}（{where}）")
    if below and reduced:
        texts.append(f"有减轻处罚情节的，在下一个量刑幅度内判处（刑法第六十三条），最低{min(reduced)}个月")
    return LawfulRange(
        charges=names,
        articles=articles,
        brackets=brackets,
        by_charge=by_charge,
        lighter_brackets=lighter,
        penalties=[t for t in OutcomeType if t in penalties],
        min_months=lo,
        max_months=hi,
        reduced_min_months=min(reduced) if below and reduced else None,
        below_bracket_permitted_by=below,
        below_bracket_if=below_if,
        exemption_permitted=bool(exempt),
        exemption_permitted_by=exempt,
        unknown_charges=unknown,
        explanation="。".join(texts) + "。" if texts else "",
    )


def months_label_type(charges: Iterable[str], months: float) -> OutcomeType:
    """The punishment a months-only label (CAIL's imprisonment) means, given the charges.

    A charge that permits only 拘役 (危险驾驶罪) makes it 拘役 whatever the number; a term under 有期
    徒刑's six-month minimum (art. 45) is never 有期徒刑, so it is 拘役 (a charge whose brackets lack
    拘役 reaches it only by 减轻处罚, art. 63); otherwise 有期徒刑.
    """
    if months <= 0:
        raise ValueError(f"months must be positive for a term of punishment, got {months}")
    types = {p for c in charges if (law := charge_law(c)) for p in law.penalty_types}
    if OutcomeType.DETENTION in types and OutcomeType.FIXED_TERM not in types:
        return OutcomeType.DETENTION
    if months < GENERAL_BOUNDS.terms[OutcomeType.FIXED_TERM].min_months:
        return OutcomeType.DETENTION
    return OutcomeType.FIXED_TERM

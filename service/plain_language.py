"""Plain-language expectations for litigants, from an assessment (Chinese, no names, no judges)."""

from __future__ import annotations

from indexing.law import GENERAL_BOUNDS
from indexing.schema import OutcomeType

TYPE_WORDS = {t.value: GENERAL_BOUNDS.name(t) for t in OutcomeType}


def months_words(months: float) -> str:
    """18 -> 一年六个月-style wording in digits: 1年6个月."""
    months = round(months)
    years, rest = divmod(int(months), 12)
    if years and rest:
        return f"{years}年{rest}个月"
    return f"{years}年" if years else f"{rest}个月"


def expectation_summary(result: dict) -> list[str]:
    """A few sentences a litigant can read; every figure comes from the assessment itself."""
    exp = result["expected"]
    n = exp.get("n_neighbours") or 0
    charges = "、".join(result["draft"]["charges"]) or "同类"
    if result["draft"].get("charges_source") == "predicted":
        charges += "（罪名系根据您描述的事实推测，仅供参考）"
    lines = [f"我们找到了{n}件与您描述的情况相似的已决{charges}案件，并结合全部案例训练的量刑模型作出估计。"]
    kind = TYPE_WORDS.get(exp["outcome_type"], exp["outcome_type"])
    if exp.get("median_months") is None:
        lines.append(f"类似案件最可能的结果是{kind}。")
    elif exp["median_months"] == 0:
        lines.append(f"类似案件最可能的结果是不判处监禁刑（{kind}）。")
    else:
        lines.append(f"最可能的刑罚是{kind}，刑期中位数约为{months_words(exp['median_months'])}。")
    for key, share in (("range_50", "一半"), ("range_80", "十分之八")):
        r = exp.get(key)
        if r:
            lines.append(f"按模型校准，约{share}的类似案件刑期在{months_words(r[0])}到{months_words(r[1])}之间。")
    if exp.get("probation_probability") is not None:
        lines.append(f"类似案件中适用缓刑的可能性约为{round(100 * exp['probation_probability'])}%。")
    circ = result["draft"].get("circumstances") or []
    if circ:
        lines.append(f"从您提供的事实中识别到的量刑情节：{'、'.join(circ)}。自首、坦白、赔偿并取得谅解等情节通常可以从轻处罚。")
    lines.append("以上仅是根据公开裁判文书的统计估计，不构成法律意见；每个案件的结果取决于法院对全部事实和证据的认定。")
    return lines

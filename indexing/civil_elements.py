"""The legal elements a judge compares between civil cases of the common causes of action, read from text.

A criminal case is compared by charges, circumstances and the quantities that drive the sentence
(``extract.py``); none of those exists in a civil case. What decides a 民间借贷 dispute is the principal,
the agreed interest rate, whether there is a guarantee, what was repaid, the evidence of the loan
(借条, bank transfer) and who sued whom; a divorce turns on children, separation, violence, a
previous petition and the property; a traffic-accident claim on the liability share, the disability
grade, a death and the insurance. This module reads those from a case's own words (anonymized facts:
no name is needed), so the ``why`` of a civil result can say where two cases agree and differ.

Each cause family is a table of elements, each element a pattern and how to read it: one place to
extend to another cause. Rules, not a model: every element is a phrase courts write the same way,
and the tests read real CJRC and LeCaRD passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from indexing.extract import normalize_digits, to_number

__all__ = ["CAUSE_FAMILIES", "compare_elements", "family_of", "read_elements", "value_text"]

_MONEY = r"(?P<n>\d+(?:\.\d+)?|[〇零一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+)\s*(?P<w>万|千)?\s*元"
_NOT = r"(?<![未无没不非])"


def _amount(m: re.Match) -> float | None:
    return to_number(m.group("n") + (m.group("w") or ""))  # to_number reads 5万, 1.5千, 捌万


def _largest_amount(*patterns: re.Pattern) -> Callable[[str], float | None]:
    """The largest amount any of the patterns reads (a loan's principal: the sum lent, not a part repaid)."""

    def read(text: str) -> float | None:
        found = [a for p in patterns for m in p.finditer(text) if (a := _amount(m)) is not None and a > 0]
        return max(found) if found else None

    return read


def _flag(present: str, absent: str | None = None) -> Callable[[str], bool | None]:
    """True where ``present`` is written, False where ``absent`` is (it wins), None where neither is."""
    yes, no = re.compile(present), re.compile(absent) if absent else None

    def read(text: str) -> bool | None:
        if no is not None and no.search(text):
            return False
        return True if yes.search(text) else None

    return read


def _kinds(table: dict[str, str]) -> Callable[[str], list[str] | None]:
    """Which of the named kinds the text mentions (evidence: 借条, 转账记录 …), in the table's order."""
    compiled = [(name, re.compile(p)) for name, p in table.items()]

    def read(text: str) -> list[str] | None:
        found = [name for name, p in compiled if p.search(text)]
        return found or None

    return read


# --- 民间借贷 and other loans ----------------------------------------------------------------------

_PRINCIPAL_RE = re.compile(rf"本金\s*(?:为|计|共计|合计)?\s*(?:人民币)?\s*{_MONEY}")
# 借款5万元, 借给…3万元, 借原告…元, 发放的贷款10000元 (not 本息: interest included)
_LENT_RE = re.compile(rf"(?:借|贷款)[^，,。；;\d借还息]{{0,12}}?(?:人民币|现金)?\s*{_MONEY}")
_RATE_RE = re.compile(
    r"(?P<per>月|年)(?:利率|息|利息)\s*(?:为|按|按照|约定为)?\s*(?:百分之(?P<cn>[〇零一二两三四五六七八九十点.]+)|(?P<pct>\d+(?:\.\d+)?)\s*[%％]|(?P<fen>\d+(?:\.\d+)?|[一二两三四五六七八九])\s*分)"
)
_NO_INTEREST_RE = re.compile(r"(?:未|没有|无)(?:约定)?(?:借款)?利息|不(?:计|支付|收取)利息|无息")
_REPAID_RE = re.compile(rf"(?:已|先后|陆续|共)?(?:归还|偿还|还款|还了|还款了|支付利息)\s*(?:借款|本金|本息|利息)?\s*(?:人民币)?\s*{_MONEY}")
_NOT_REPAID_RE = re.compile(r"分文未还|(?:至今|一直|均|并)未(?:归|偿)?还|拒不(?:归|偿)?还|未(?:向[^，,。；]{0,10})?(?:偿还|归还|还款)")


def _annual_rate(text: str) -> float | None:
    """The agreed interest rate as a yearly percentage (月利率2% → 24, 月息2分 → 24, 年利率6% → 6)."""
    m = _RATE_RE.search(text)
    if not m:
        return None
    if m.group("pct"):
        pct = float(m.group("pct"))
    elif m.group("cn"):
        value = to_number(m.group("cn").replace("点", "."))
        if value is None:
            return None
        pct = value
    else:  # 月息2分 = 2 % a month; 年息1分 = 10 % a year
        value = to_number(m.group("fen"))
        if value is None:
            return None
        pct = value * 10 if m.group("per") == "年" else value
    return round(pct * 12, 2) if m.group("per") == "月" else round(pct, 2)


def _interest(text: str) -> float | None:
    if _NO_INTEREST_RE.search(text):
        return 0.0
    return _annual_rate(text)


_REPAID_TOTAL_RE = re.compile(rf"(?:还款|归还|偿还)[^。；;]{{0,80}}?(?:合计|共计|总计|累计)\s*(?:人民币)?\s*{_MONEY}")
#: Words just before a 偿还 that make it an obligation or a plan, not a payment made (…11月30日前,偿还60万元).
_OWED_BEFORE_RE = re.compile(r"(?:前|计划|应当?|需|须|约定|承诺|保证|负责|判令|请求|要求)[，,：:]?\s*(?:分期|一次性)?$")


def _repaid(text: str) -> float | None:
    """What was repaid: the largest amount written as repaid (a 合计 of several payments included; a
    plan or an obligation to repay left out), else 0 where the text says nothing was repaid."""
    found = [a for m in _REPAID_RE.finditer(text)
             if not _OWED_BEFORE_RE.search(text[max(0, m.start() - 12):m.start()]) and (a := _amount(m))]
    found += [a for m in _REPAID_TOTAL_RE.finditer(text) if (a := _amount(m))]
    if found:
        return max(found)
    return 0.0 if _NOT_REPAID_RE.search(text) else None


_PARTY_RE = re.compile(r"(原告|被告)(?=[:：]?([^，,。；;：:（(]{0,24}))")
_NEXT_PARTY_RE = re.compile(r"诉|与|原告|被告")
_PERSON_RE = re.compile(r"[\u4e00-\u9fff]{1,2}(?:某|x\d+)|某[甲乙丙丁某]|[A-Z]\b")  # 张某, 肖x0 (CJRC)
_ORG_RE = re.compile(r"公司|银行|信用社|合作社|企业|集团|厂|中心|商行|事务所|委员会")


def _who_sued_whom(text: str) -> str | None:
    """自然人诉自然人 / 单位诉自然人 …: the words after 原告 and after 被告 tell a company (its name) from a
    person (a name as anonymization leaves it: 张某); None unless both are told."""
    kinds: dict[str, str] = {}
    for m in _PARTY_RE.finditer(text):
        words = _NEXT_PARTY_RE.split(m.group(2), maxsplit=1)[0]  # 原告某公司诉被告张某: only 某公司
        if _ORG_RE.search(words):
            kinds.setdefault(m.group(1), "单位")
        elif _PERSON_RE.match(words):  # 张某, 某甲: a person's name as anonymization writes it
            kinds.setdefault(m.group(1), "自然人")
        if len(kinds) == 2:
            return f"{kinds['原告']}诉{kinds['被告']}"
    return None


# --- 离婚 -------------------------------------------------------------------------------------------

_SEPARATED_RE = re.compile(r"分居(?:已|至今|长达|满|达|了)?\s*(?P<n>\d+|[一二两三四五六七八九十]+)\s*(?:多|余)?\s*年")


def _separated_years(text: str) -> float | None:
    m = _SEPARATED_RE.search(normalize_digits(text))
    if m:
        return to_number(m.group("n"))
    return None


# --- 机动车交通事故 ------------------------------------------------------------------------------

_LIABILITY_RE = re.compile(r"(?:负|承担|负担|应负)(?:此|本|该)?(?:次)?(?:事故|交通事故)?的?(全部|主要|同等|次要|无)(?:的)?责任")
_GRADE_RE = re.compile(r"(?P<g>[一二三四五六七八九十]{1,2})级伤残|伤残(?:等级)?(?:为|评定为|构成)?(?P<h>[一二三四五六七八九十]{1,2})级")


def _liability(text: str) -> list[str] | None:
    found = list(dict.fromkeys(m.group(1) for m in _LIABILITY_RE.finditer(text)))
    return found or None


def _grades(text: str) -> list[str] | None:
    found = list(dict.fromkeys(f"{m.group('g') or m.group('h')}级" for m in _GRADE_RE.finditer(text)))
    return found or None


@dataclass(frozen=True)
class Element:
    """One element of a cause family: its key in the API, its words in a report, how to read it."""

    key: str
    label: str
    read: Callable[[str], object]
    unit: str = ""


@dataclass(frozen=True)
class CauseFamily:
    """Causes of action compared by the same elements, and the words that say a text is one of them."""

    name: str
    causes: tuple[str, ...]  # 案由 (with 纠纷) that belong to it
    cues: re.Pattern  # words that say a text without a stated cause is of this family
    elements: tuple[Element, ...]


CAUSE_FAMILIES: tuple[CauseFamily, ...] = (
    CauseFamily(
        "借贷",
        ("民间借贷纠纷", "借款合同纠纷", "小额借款合同纠纷", "企业借贷纠纷", "金融借款合同纠纷"),
        re.compile(r"借款|借条|欠条|借据|出借|还款|借贷|借(?:给|到|得|去|走|了)|未还|利息|利率|月息|年息"),
        (
            Element("principal_yuan", "借款本金", _largest_amount(_PRINCIPAL_RE, _LENT_RE), "元"),
            Element("annual_interest_percent", "约定年利率", _interest, "%"),
            Element("guarantee", "有担保", _flag(rf"{_NOT}(?:保证人|担保人|连带(?:责任)?保证|(?:提供|作|作为|进行)(?:了)?(?:连带)?(?:责任)?担保|抵押|质押)",
                                                  r"(?:未|没有|无)(?:提供)?(?:任何)?(?:担保|保证人)")),
            Element("repaid_yuan", "已还款", _repaid, "元"),
            Element("evidence", "借款凭据", _kinds({"借条": r"借条", "欠条": r"欠条", "借据": r"借据",
                                                 "借款合同": r"借款合同|借款协议", "转账记录": r"转账|转款|汇款|银行流水|打款",
                                                 "收据": r"收据|收条"})),
            Element("parties", "当事人", _who_sued_whom),
        ),
    ),
    CauseFamily(
        "离婚",
        ("离婚纠纷", "离婚后财产纠纷"),
        re.compile(r"离婚|夫妻|婚生|结婚|婚后|分居|抚养"),
        (
            Element("children", "有子女", _flag(r"婚生(?:子|女)|育有|生育(?:一|二|两|三)?(?:子|女|个)|抚养(?:费|权)")),
            Element("separated_years", "分居年数", _separated_years, "年"),
            Element("domestic_violence", "家庭暴力", _flag(rf"{_NOT}(?:家庭暴力|家暴|殴打)", r"(?:未|没有|无)(?:实施)?家庭暴力")),
            Element("earlier_petition", "曾起诉离婚", _flag(r"曾(?:于[^，。]{0,12})?(?:向[^，。]{0,16})?(?:起诉|诉讼)离婚|(?:第二|再次)(?:次)?(?:起诉|诉讼)离婚")),
            Element("property", "涉及共同财产", _flag(r"共同财产|夫妻共同(?:所有|债务)|房屋|存款")),
        ),
    ),
    CauseFamily(
        "交通事故",
        ("机动车交通事故责任纠纷",),
        re.compile(r"交通事故|机动车|交强险|驾驶"),
        (
            Element("liability", "责任划分", _liability),
            Element("disability_grade", "伤残等级", _grades),
            Element("death", "有人死亡", _flag(r"(?<![未不])死亡")),
            Element("compulsory_insurance", "交强险", _flag(r"交强险|机动车交通事故责任强制保险")),
            Element("commercial_insurance", "商业三者险", _flag(r"商业三者险|第三者(?:责任)?(?:商业)?(?:保)?险|商业险")),
        ),
    ),
)
_BY_CAUSE = {cause: family for family in CAUSE_FAMILIES for cause in family.causes}


def family_of(cause: str | None, text: str) -> CauseFamily | None:
    """The cause family of a civil case: by its stated 案由, else by the family whose cue words it uses most."""
    if cause:
        return _BY_CAUSE.get(cause)
    stated = [family for family in CAUSE_FAMILIES if any(c in text for c in family.causes)]
    if len(stated) == 1:  # 原告张某与被告李某民间借贷纠纷一案
        return stated[0]
    counts = [(len(family.cues.findall(text)), i) for i, family in enumerate(CAUSE_FAMILIES)]
    best, i = max(counts)
    return CAUSE_FAMILIES[i] if best >= 2 else None


def read_elements(family: CauseFamily, text: str) -> dict[str, object]:
    """Every element of ``family`` the text states (an element it does not state is left out)."""
    text = normalize_digits(text)
    return {el.key: value for el in family.elements if (value := el.read(text)) is not None}


def value_text(value: object, unit: str = "") -> str:
    """An element's value in words, as every presentation (API, report, page, CLI) shows it."""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.10g}{unit}"
    return f"{value}{unit}"


def compare_elements(family: CauseFamily, draft: dict[str, object], case: dict[str, object]) -> list[dict]:
    """The elements either text states, in the family's order: each side's value and whether they agree.

    ``same`` is None where one side does not state the element (nothing to compare); amounts agree
    within 20 % (a judge compares 5万 and 5.5万 as the same size of loan), lists when they share an item.
    """
    out = []
    for el in family.elements:
        d, c = draft.get(el.key), case.get(el.key)
        if d is None and c is None:
            continue
        same: bool | None = None
        if d is not None and c is not None:
            if isinstance(d, float) and isinstance(c, float):
                same = (d == c == 0) or (max(d, c) > 0 and min(d, c) / max(d, c) >= 0.8)
            elif isinstance(d, list) and isinstance(c, list):
                same = bool(set(d) & set(c))
            else:
                same = d == c
        out.append({"element": el.key, "label": el.label, "draft": d, "case": c, "same": same,
                    "draft_text": None if d is None else value_text(d, el.unit),
                    "case_text": None if c is None else value_text(c, el.unit)})
    return out

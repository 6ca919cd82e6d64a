"""Penalty clauses of the 刑法: for each paragraph, the ordered (trigger, penalty) pairs.

Article 264 reads "盗窃公私财物，数额较大的，…，处三年以下有期徒刑、拘役或者管制，并处或者单处罚金；
数额巨大或者有其他严重情节的，处三年以上十年以下有期徒刑，并处罚金；…". Each "…的，处 <penalty>" is a
clause: the words before 处 are its trigger, the principal punishments are alternatives joined by 、
and 或者, and 并处… adds a fine or confiscation. The statute's grammar for this is small and regular
(every penalty phrase in the 分则 is one of about forty shapes), so a reader of that grammar, checked
clause by clause in tests, is safer than hand-copying ~900 brackets.

Terms follow the general part: 有期徒刑 runs from 6 months to 15 years (art. 45), so 三年以下 is 6–36
and 十年以上 is 120–180; 拘役 runs from 1 to 6 months (art. 42), so a bracket that allows it starts at
1 month.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from indexing.law.models import Accessory, Clause
from indexing.law.numerals import cn_int
from indexing.law.statute import split_paragraphs
from indexing.schema import OutcomeType

FIXED_TERM_MIN, FIXED_TERM_MAX = 6, 180  # art. 45
DETENTION_MIN, DETENTION_MAX = 1, 6  # art. 42

_NUM = "[一二三四五六七八九十两]+"
_PENALTY_START_RE = re.compile(
    rf"(?<![判并单])处(?={_NUM}年|{_NUM}个月|拘役|管制|死刑|无期徒刑|有期徒刑|罚金|剥夺政治权利)"
)
_TERM_RE = re.compile(
    rf"^(?:(?P<lo>{_NUM})(?P<lo_u>年|个月)以上)?(?:(?P<hi>{_NUM})(?P<hi_u>年|个月)以下)?"
    rf"(?:(?P<exact>{_NUM})(?P<ex_u>年|个月))?有期徒刑$"
)
_ITEM_PREFIX_RE = re.compile(r"^（[一二三四五六七八九十]+）")
_UNIT_RE = re.compile(r"^单位犯|对单位判处罚金")
# A paragraph that adds brackets to the charge of the one before it: 犯前款罪，致人重伤的…; 战时犯前款罪的…;
# 纠集他人多次实施前款行为…. 过失犯前款罪 is a charge of its own (失火罪 after 放火罪), and so is 单位犯前款罪.
_CONTINUES_RE = re.compile(
    r"(?:犯(?:前(?:两|三)?款|第[一二三四]款)罪|(?:有|实施)(?:前(?:两|三)?款|第[一二三四]款)行为)"
)
_NOT_CONTINUES_RE = re.compile(r"^(?:过失犯|单位犯)")
_REFERENCE_RE = re.compile(
    r"依照(?:(?P<prev>前(?P<prev_n>两|三)?款)|第(?P<para>[一二三四五六七八九十]+)款"
    r"|本法第(?P<art>[一二三四五六七八九十百零]+)条(?:之(?P<suffix>[一二三四五六]))?"
    r"(?:第(?P<art_para>[一二三四五六七八九十]+)款)?)(?:、第[^的]+)?的?规定(?:从重)?处罚"
)

# Normalized levels: (key, pattern). The key is what thresholds and starting points refer to.
LEVELS: tuple[tuple[str, str], ...] = (
    ("数额特别巨大", r"数额特别巨大"),
    ("数额巨大", r"数额巨大"),
    ("数额较大", r"数额较大"),
    ("情节特别严重", r"情节特别严重|特别严重情节"),
    ("情节严重", r"情节严重|(?<!特别)严重情节"),
    ("情节特别恶劣", r"情节特别恶劣|特别恶劣情节"),
    ("情节恶劣", r"情节恶劣|(?<!特别)恶劣情节"),
    ("情节较重", r"情节较重|较重情节"),
    ("情节较轻", r"情节较轻"),
    ("致人死亡", r"死亡"),
    ("致人重伤", r"重伤"),
    ("数量大", r"数量大"),
    ("数量较大", r"数量较大"),
    ("少量", r"少量"),
    ("特别重大损失", r"特别重大损失"),
    ("重大损失", r"(?<!特别)重大损失"),
    ("特别严重后果", r"特别严重后果"),
    ("严重后果", r"(?<!未造成)(?<!特别)严重后果"),  # not 尚未造成严重后果 (the basic bracket's words)
)
_LEVEL_RES = tuple((key, re.compile(pattern)) for key, pattern in LEVELS)
# Keys a clause may take from its first item when its own trigger has none (347(2): 有下列情形之一的 →
# （一）…数量大的). Other item words (追逐竞驶，情节恶劣) name one way in, not the bracket's level.
_ITEM_LEVELS = {"数额较大", "数额巨大", "数额特别巨大", "数量较大", "数量大", "少量"}
_PRINCIPALS = {
    "拘役": [OutcomeType.DETENTION],
    "管制": [OutcomeType.SURVEILLANCE],
    "无期徒刑": [OutcomeType.LIFE],
    "死刑": [OutcomeType.DEATH, OutcomeType.DEATH_SUSPENDED],  # art. 48: 死刑 includes 缓期二年执行
    "罚金": [OutcomeType.FINE_ONLY],
}


class PenaltyError(ValueError):
    """A penalty phrase outside the grammar this reader knows; the message quotes it."""


class ParagraphPenalties(BaseModel):
    """A paragraph's clauses and how it relates to the paragraphs before it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paragraph: int
    clauses: list[Clause] = Field(default_factory=list)
    unit: bool = False  # 单位犯罪: the unit is fined, its responsible persons are punished
    continues: bool = False  # 犯前款罪… / 有前款行为…: further brackets of the paragraph(s) before
    refers_to: tuple[str | None, tuple[int, ...]] | None = None  # (article or None = this one, paragraphs)


def _months(number: str, unit: str) -> int:
    return cn_int(number) * (12 if unit == "年" else 1)


def _term(alternative: str) -> tuple[int, int]:
    match = _TERM_RE.match(alternative)
    if not match:
        raise PenaltyError(f"unknown term of imprisonment: {alternative!r}")
    if match.group("exact"):
        if match.group("lo") or match.group("hi"):
            raise PenaltyError(f"unknown term of imprisonment: {alternative!r}")
        exact = _months(match.group("exact"), match.group("ex_u"))
        return exact, exact
    lo = _months(match.group("lo"), match.group("lo_u")) if match.group("lo") else FIXED_TERM_MIN
    hi = _months(match.group("hi"), match.group("hi_u")) if match.group("hi") else FIXED_TERM_MAX
    if not (match.group("lo") or match.group("hi")):
        raise PenaltyError(f"有期徒刑 without a term: {alternative!r}")
    return lo, hi


def parse_principal(text: str) -> dict:
    """'三年以下有期徒刑、拘役或者管制' → penalties, term bounds, whether 剥夺政治权利 may stand alone."""
    penalties: list[OutcomeType] = []
    lows: list[int] = []
    highs: list[int] = []
    political = False
    for alternative in re.split(r"、|或者", text):
        if alternative in _PRINCIPALS:
            penalties += _PRINCIPALS[alternative]
        elif alternative == "剥夺政治权利":
            political = True
        elif alternative.endswith("有期徒刑"):
            lo, hi = _term(alternative)
            penalties.append(OutcomeType.FIXED_TERM)
            lows.append(lo)
            highs.append(hi)
        else:
            raise PenaltyError(f"unknown principal punishment {alternative!r} in {text!r}")
    if OutcomeType.DETENTION in penalties:
        lows.append(DETENTION_MIN)
        highs.append(DETENTION_MAX)
    ordered = [t for t in OutcomeType if t in penalties]
    return {
        "penalties": ordered,
        "political_rights_only": political,
        "min_months": min(lows) if lows else None,
        "max_months": max(highs) if highs else None,
    }


def parse_accessory(parts: list[str]) -> dict:
    """'并处或者单处罚金', '并处罚金或者没收财产', '可以并处罚金' … → fine and confiscation rules."""
    fine = confiscation = Accessory.NONE
    kept: list[str] = []
    for part in parts:
        if not part.startswith(("并处", "可以并处", "单处")):
            break
        kept.append(part)
        has_fine, has_conf = "罚金" in part, "没收财产" in part
        if part.startswith("可以并处"):
            rule = Accessory.DISCRETIONARY
        elif part.startswith("并处或者单处"):
            rule = Accessory.OPTIONAL
        elif has_fine and has_conf:
            rule = Accessory.EITHER
        else:
            rule = Accessory.REQUIRED
        if has_fine:
            fine = rule
        if has_conf:
            confiscation = Accessory.DISCRETIONARY if rule is Accessory.OPTIONAL else rule
    return {"fine": fine, "confiscation": confiscation, "accessory_text": "，".join(kept)}


def levels_in(text: str) -> list[str]:
    """Normalized level keys found in ``text``, in the order they appear."""
    found: list[tuple[int, str]] = []
    for key, pattern in _LEVEL_RES:
        match = pattern.search(text)
        if match:
            found.append((match.start(), key))
    return [key for _, key in sorted(found)]


def _clauses_of_line(line: str, paragraph: int, start_order: int) -> list[Clause]:
    clauses: list[Clause] = []
    prefix = _ITEM_PREFIX_RE.match(line)
    pos = prefix.end() if prefix else 0
    for sentence in re.finditer(r"[^；。：]+[；。：]?", line[pos:]):
        body = sentence.group(0).rstrip("；。：")
        match = _PENALTY_START_RE.search(body)
        if not match:
            continue
        trigger = body[: match.start()].strip("，")
        parts = body[match.end() :].split("，")
        principal = parse_principal(parts[0])
        accessory = parse_accessory(parts[1:])
        if principal["penalties"] == [] and not principal["political_rights_only"]:
            raise PenaltyError(f"no principal punishment in {body!r}")
        if accessory["fine"] is Accessory.OPTIONAL:
            principal["penalties"] = [*principal["penalties"], OutcomeType.FINE_ONLY]
            principal["penalties"] = [t for t in OutcomeType if t in principal["penalties"]]
        penalty_text = "，".join(filter(None, [parts[0], accessory["accessory_text"]]))
        found = levels_in(trigger)
        clauses.append(
            Clause(
                paragraph=paragraph,
                order=start_order + len(clauses),
                trigger=trigger,
                level=next((k for k in found if k != "情节较轻"), None),
                levels=found,
                lighter="情节较轻" in found,
                text=body[: match.end() + len(penalty_text)],
                **principal,
                **accessory,
            )
        )
    return clauses


def _with_conditions(clauses: list[Clause], items: list[str]) -> list[Clause]:
    """Attach the item lines to the clause whose trigger points to them (有下列情形之一的)."""
    if not clauses or not items:
        return clauses
    target = next((i for i, c in enumerate(clauses) if "下列" in c.trigger), len(clauses) - 1)
    clause = clauses[target]
    found = levels_in(clause.trigger + "".join(items))
    level = clause.level or next((k for k in levels_in(items[0]) if k in _ITEM_LEVELS), None)
    update = {"conditions": items, "levels": found, "level": level}
    return [*clauses[:target], clause.model_copy(update=update), *clauses[target + 1 :]]


def parse_paragraph(text: str, paragraph: int = 1) -> list[Clause]:
    """The (trigger, penalty) clauses of one paragraph, in text order.

    Item lines （一）… that carry their own penalty (art. 383) are clauses; items without one are the
    conditions of the clause that announces them ("有下列情形之一的，处…：").
    """
    lines = text.split("\n")
    lead = _clauses_of_line(lines[0], paragraph, 0)
    items = lines[1:]
    item_clauses: list[Clause] = []
    for item in items:
        item_clauses += _clauses_of_line(item, paragraph, len(lead) + len(item_clauses))
    if item_clauses:
        return lead + item_clauses
    return _with_conditions(lead, [_ITEM_PREFIX_RE.sub("", item).rstrip("；。") for item in items])


def _reference(text: str, paragraph: int) -> tuple[str | None, tuple[int, ...]] | None:
    match = _REFERENCE_RE.search(text)
    if not match or "定罪处罚" in match.group(0):
        return None
    if match.group("prev"):
        back = {"两": 2, "三": 3}.get(match.group("prev_n") or "", 1)
        return None, tuple(range(paragraph - back, paragraph))
    if match.group("para"):
        return None, (cn_int(match.group("para")),)
    key = str(cn_int(match.group("art")))
    if match.group("suffix"):
        key += "之" + match.group("suffix")
    paras = (cn_int(match.group("art_para")),) if match.group("art_para") else ()
    return key, paras


def _continues(para: str) -> bool:
    """Whether the paragraph's first penalty clause is a further bracket of the paragraph before."""
    head = _PENALTY_START_RE.split(para, maxsplit=1)[0]
    return bool(_CONTINUES_RE.search(head)) and not _NOT_CONTINUES_RE.match(para)


def parse_article(text: str) -> list[ParagraphPenalties]:
    """Every paragraph of an article with its clauses, unit-crime and continuation marks, references."""
    out: list[ParagraphPenalties] = []
    for n, para in enumerate(split_paragraphs(text), start=1):
        out.append(
            ParagraphPenalties(
                paragraph=n,
                clauses=parse_paragraph(para, n),
                unit=bool(_UNIT_RE.search(para)),
                continues=_continues(para),
                refers_to=_reference(para, n),
            )
        )
    return out

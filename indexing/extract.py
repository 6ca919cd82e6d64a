"""Stage 2 of the pipeline: read the structured fields of a case from its text (and its labels).

``extract(raw)`` turns a :class:`~indexing.schema.RawJudgment` into a
:class:`~indexing.schema.CaseRecord`. Each field is read from the part of a judgment that states
it (see :mod:`indexing.sections`): sentence and charges from 判决如下, articles from the 依照 clause,
circumstances from facts and reasoning. Sources without full texts (CAIL, LeCaRD) fall back on the
labels they publish; labels that claim something unreadable raise :class:`RecordError` so the
record is quarantined with a reason instead of being stored wrong.

Numbers are written in many ways (三万, 一万五千, 1.5万, 3，000, 95．64); all go through
:func:`to_number`, which wraps cn2an (it raises on 余 and stray characters) and returns None.
"""

from __future__ import annotations

import re

import cn2an
from pydantic import ValidationError

from indexing.charges import charges_in, normalize_charge, resolve_charge, split_charge_names
from indexing.circumstances import extract_circumstances, prior_record_in_head
from indexing.errors import RecordError
from indexing.law import lawful_range, months_label_type
from indexing.law.names import former_names_of
from indexing.schema import (
    CaseRecord,
    CaseType,
    Circumstance,
    InjuryCounts,
    Outcome,
    OutcomeType,
    Quantities,
    RawJudgment,
    make_case_id,
)
from indexing.sections import (
    HeadInfo,
    Sections,
    case_type_in_words,
    parse_date,
    parse_head,
    province_of,
    split_sections,
)

__all__ = [
    "HeadInfo",
    "Sections",
    "duration_months",
    "extract",
    "extract_articles",
    "extract_charges",
    "extract_circumstances",
    "extract_quantities",
    "normalize_charge",
    "parse_date",
    "parse_head",
    "parse_outcome",
    "prior_record_in_head",
    "split_sections",
    "to_number",
]

# --- numerals ---------------------------------------------------------------------------------

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_FULLWIDTH_RE = re.compile("[０-９]")
# the separator first and the digit before it as a lookbehind after it: the same matches as
# (?<=\d)[．·](?=\d), but the engine tests the lookbehind only at a separator, not at every
# character (the draft's numerals were 5-9x slower to normalize the other way round)
_DECIMAL_RE = re.compile(r"[．·](?<=\d[．·])(?=\d)")
_THOUSANDS_RE = re.compile(r"[,，](?<=\d[,，])(?=\d{3}(?!\d))")
_CN = "〇零一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"
_NUM = rf"(?:\d+(?:\.\d+)?[万千亿]*|[{_CN}]+)"
_DUR = (
    rf"(?:{_NUM}年(?:零|又)?(?:{_NUM}个?月)?(?:零|又)?(?:{_NUM}[日天])?"
    rf"|{_NUM}(?:个?月|个(?=[；;。，,]|$))(?:零|又)?(?:{_NUM}[日天])?|{_NUM}[日天])"
)
_DURATION_PARTS_RE = re.compile(
    rf"^(?:(?P<y>{_NUM})年)?(?:零|又)?(?:(?P<m>{_NUM})个?月?)?(?:零|又)?(?:(?P<d>{_NUM})[日天])?"
)


_APPROX_RE = re.compile(r"(?<=[\d十百千万])[余多许](?=[十百千万亿])")


def normalize_digits(text: str) -> str:
    """Full-width digits → ASCII, 95．64 → 95.64, 3，000 → 3000 (other characters kept)."""
    if _FULLWIDTH_RE.search(text):  # rare; translate walks every character through a dict
        text = text.translate(_FULLWIDTH)
    return _THOUSANDS_RE.sub("", _DECIMAL_RE.sub(".", text))


def to_number(text: str | None) -> float | None:
    """'三万' → 30000, '一万五千' → 15000, '1.5万', '9万余', '12余万', '十多万', '两千'; None if unreadable."""
    if not text:
        return None
    cleaned = normalize_digits(text).strip().rstrip("余多许")
    cleaned = _APPROX_RE.sub("", cleaned)  # 12余万 → 12万, 十多万 → 十万
    cleaned = cleaned.replace("两", "二").replace("〇", "零")
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        pass
    try:
        return float(cn2an.cn2an(cleaned, "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def duration_months(text: str) -> float | None:
    """Months in a term: 一年六个月 → 18, 十个月 → 10, 三年 → 36, 十五日 → 0.5."""
    m = _DURATION_PARTS_RE.match(normalize_digits(text).strip())
    if not m or not any(m.group(g) for g in ("y", "m", "d")):
        return None
    total = 0.0
    for group, factor in (("y", 12.0), ("m", 1.0), ("d", 1 / 30)):
        if m.group(group):
            value = to_number(m.group(group))
            if value is None:
                return None
            total += value * factor
    return round(total, 2)


# --- articles ---------------------------------------------------------------------------------

# 刑法 named as a title or bare, never inside another title (〈中华人民共和国刑法〉 in a 解释's name)
# and never 刑法修正案; 刑事诉讼法 does not contain 刑法, so it cannot match.
_CRIMINAL_LAW_RE = re.compile(r"(?:《中华人民共和国刑法》|《刑法》|(?<![〈《\w])刑法(?![修》〉]))")
_SEP = r"\s*(?:[、，,和及与]|以及)?\s*"
_PART = rf"(?:{_NUM}|[（(]{_NUM}[）)])"
_ARTICLE_ITEM_RE = re.compile(
    # 第二百六十六条(之一); 第二十五、二十六、二十七条; 第六十七第三款 (条 left out before 第X款)
    rf"{_SEP}(?:修正后的|修正前的)?\s*第?\s*(?P<ns>{_NUM}(?:\s*[、，,]\s*{_NUM})*)\s*"
    rf"(?:条(?:\s*之\s*[一二三四五])?|(?=第\s*{_NUM}\s*款))"
    rf"|{_SEP}第?\s*{_PART}(?:\s*[、，,和及]\s*第?\s*{_PART})*\s*条?[款项]"  # 第一、三款, 第（二）项
    r"|\s*[（(［\[][^（）()［］\[\]]{0,20}[）)］\]]"  # （非法侵入住宅罪）, ［强奸罪］, （2015年修正）
    r"|\s*(?:[、，,和及与])?\s*[:：]?\s*“[^”]{0,400}”"  # quoted article text
)
_FOLLOWS_RE = re.compile(r"\s*(?:（[^）]{0,20}）|\([^)]{0,20}\))?\s*(?:之)?")


def extract_articles(text: str | None) -> list[int]:
    """刑法 articles cited, in order of first citation (the principal article first), unique.

    ``依照《中华人民共和国刑法》第二百六十六条、第二十三条、第六十七条第三款`` → [266, 23, 67];
    第X条之一 → X; 款/项 are skipped; articles of other laws and interpretations are not read
    because a list stops at anything that is not an article, paragraph or item.
    """
    if not text:
        return []
    text = normalize_digits(text)
    found: list[int] = []
    for law in _CRIMINAL_LAW_RE.finditer(text):
        pos = _FOLLOWS_RE.match(text, law.end()).end()
        while True:
            m = _ARTICLE_ITEM_RE.match(text, pos)
            if not m or m.end() == pos:
                break
            pos = m.end()
            for number in re.split(r"\s*[、，,]\s*", m.group("ns") or ""):
                value = to_number(number)
                if value and 1 <= value <= 452 and int(value) not in found:
                    found.append(int(value))
    return found


# --- charges ------------------------------------------------------------------------------------


def extract_charges(text: str | None) -> list[str]:
    """Charges a judgment convicts of (canonical, with 罪, unique, in order of appearance).

    A full text is split first: the judgment section (判决如下) is the evidence, then the reasoning
    (构成X罪), never the head, whose prior convictions (曾因犯盗窃罪被判处…) are not this case's
    charges. A text without those sections (facts only) may use the prosecution's 指控…犯X罪.
    """
    if not text:
        return []
    sections = split_sections(text)
    for part in (_without_revoked(sections.judgment), sections.reasoning):
        if part:
            found = charges_in(part)
            if found:
                return found
    if sections.judgment or sections.reasoning:
        return []
    return charges_in(text, allow_accusation=True)


# --- outcome ------------------------------------------------------------------------------------

_ITEM_SPLIT_RE = re.compile(r"(?:^|(?<=[\s。；;]))(?=[一二三四五六七八九十]+、)")
# Items that revoke (and quote) the original sentence, or dismiss/permit, state no new sentence.
# 维持 items are kept: what they uphold (e.g. the fine) is part of the sentence.
_REVOKED_ITEM_RE = re.compile(r"^(?:[一二三四五六七八九十]+、)?\s*(?:撤销|驳回|准许)")
_DECIDED_RE = re.compile(r"决定(?:合并)?执行|合并执行(?=有期徒刑|无期徒刑|死刑|拘役|管制)")
_PAREN_RE = re.compile(r"（[^（）]*）|\([^()]*\)")
_PERSON_RE = re.compile(
    r"(?:被告人|上诉人|被告单位)[）)]?\s*([^\s，,。；;、（()）:：]{1,12}?)(?=犯|无罪|免予|不负刑事责任)"
)
_BARE_CONVICTION_RE = re.compile(r"(?:^|(?<=[、\s]))[^\s，,。；;、]{1,8}?犯[^，,。；;]{1,40}?罪[，,]")
_PENALTY_RE = re.compile(
    rf"(?P<dsusp>死刑\s*[，,]?\s*缓期\s*[二两2]\s*年执行)"
    rf"|(?P<death>死刑)"
    rf"|(?P<life>无期徒刑)"
    rf"|有期徒刑\s*(?P<fixed>{_DUR})"
    rf"|拘役\s*(?P<detention>{_DUR})"
    rf"|管制\s*(?P<surveillance>{_DUR})"
    rf"|(?P<exempt>免予刑事处罚|免除刑事处罚|免予刑事处分)"
    rf"|(?P<notguilty>无罪|不负刑事责任)"
)
_PROBATION_RE = re.compile(rf"缓刑\s*(?:考验期(?:限)?(?:为)?)?\s*({_DUR})")
_FINE_RE = re.compile(rf"罚金\s*(?:人民币)?\s*(?P<n>{_NUM})\s*余?\s*元")
_CONFISCATION_RE = re.compile(r"没收(?:个人|其)?(?:全部|部分)?(?:个人)?财产")


def _without_revoked(judgment: str | None) -> str | None:
    """The 判决如下 text without items that revoke (and quote) an earlier judgment."""
    if not judgment:
        return judgment
    items = _ITEM_SPLIT_RE.split(judgment)
    return " ".join(i for i in items if i and not _REVOKED_ITEM_RE.match(i.strip()))


def _first_defendant_text(judgment: str) -> str | None:
    """The part of the 判决如下 section about the first-named natural person, revoked items dropped.

    Parenthesized text (刑期 computation, 已缴纳) is removed, so a fine after "（刑期…）" still
    belongs to its sentence.
    """
    text = _PAREN_RE.sub("", _PAREN_RE.sub("", _without_revoked(judgment) or ""))
    persons = [m for m in _PERSON_RE.finditer(text) if not m.group(0).startswith("被告单位")]
    if not persons:  # 改判 items may name the defendant bare: "三、薛兵兵犯盗窃罪，判处…"
        bare = _BARE_CONVICTION_RE.search(text)
        return text[bare.start() :] if bare else None
    first = persons[0]
    end = len(text)
    for m in _PERSON_RE.finditer(text, first.end()):
        if m.group(1) != first.group(1):
            end = m.start()
            break
    return text[first.start() : end]


def parse_outcome(judgment_text: str | None) -> Outcome | None:
    """The first-named defendant's sentence from the 判决如下 section, or None if none is stated.

    With several counts the 决定执行 term is the sentence; its fine is the one stated with it, or
    the sum of the per-count fines when it states none. Death, life, fine only, exemption and
    acquittal carry no months; ``fine_yuan`` is 0 when no 罚金 was imposed.
    """
    if not judgment_text:
        return None
    chunk = _first_defendant_text(normalize_digits(judgment_text))
    if not chunk:
        return None
    main = chunk
    decided_m = _DECIDED_RE.search(chunk)
    decided = decided_m.start() if decided_m else -1
    if decided >= 0:
        end = re.search(r"[。；;]", chunk[decided:])
        main = chunk[decided : decided + end.start() if end else len(chunk)]
    penalty = _PENALTY_RE.search(main)
    fines = [to_number(m.group("n")) or 0.0 for m in _FINE_RE.finditer(main)]
    if decided >= 0 and not fines:
        fines = [to_number(m.group("n")) or 0.0 for m in _FINE_RE.finditer(chunk[:decided])]
    fine = float(sum(fines)) if fines else 0.0
    confiscation = bool(_CONFISCATION_RE.search(chunk))
    if not penalty:
        if fines:
            return Outcome(type=OutcomeType.FINE_ONLY, fine_yuan=fine, confiscation=confiscation)
        return None
    kind = penalty.lastgroup
    months = None
    if kind in ("fixed", "detention", "surveillance"):
        months = duration_months(penalty.group(kind))
        if months is None:
            return None
    types = {
        "dsusp": OutcomeType.DEATH_SUSPENDED,
        "death": OutcomeType.DEATH,
        "life": OutcomeType.LIFE,
        "fixed": OutcomeType.FIXED_TERM,
        "detention": OutcomeType.DETENTION,
        "surveillance": OutcomeType.SURVEILLANCE,
        "exempt": OutcomeType.EXEMPTION,
        "notguilty": OutcomeType.NOT_GUILTY,
    }
    probation = None
    if months is not None:
        prob = _PROBATION_RE.search(main, penalty.end())
        probation = duration_months(prob.group(1)) if prob else None
    if kind == "notguilty":
        fine = 0.0
    return Outcome(
        type=types[kind], months=months, probation_months=probation, fine_yuan=fine, confiscation=confiscation
    )


# --- circumstances ------------------------------------------------------------------------------

# The cue tables and their rules live in indexing/circumstances.py; re-exported here, where the
# stage (and its callers) have always found them.

_SENTENCE_BREAK_RE = re.compile(r"[。；;！？\n]")  # quantities read a figure's sentence


# --- quantities ---------------------------------------------------------------------------------

# A figure in yuan: 5000, 1.2万, 12余万 (and 17300余万), 十余万, 二十多万, 一万二千余, 1万5千, 3千余万;
# a range (1080至1880元) is read by its upper bound, the figure next to 元. CAIL's name masking
# turned many 万元 into 万某 (骗取被害人赵某50万某, 共计32.35万某人民币): read as 万元.
_MONEY_NUM = rf"(?:\d+(?:\.\d+)?|[{_CN}]+)(?:[余多]?[十百千万亿]+(?:\d+(?:\.\d+)?[十百千]?)?)?"
_MONEY_RE = re.compile(
    rf"(?P<n>{_MONEY_NUM})\s*[余多许]?\s*(?P<u>[万千百亿])?\s*[余多许]?\s*(?:元(?![旦宵月])|(?<=万)某(?!某))"
)
# Figures that are not the amount involved: fines, compensation, restitution, repayment, seized
# cash, costs and unit rates. Words a fraud or bribe may take (费用, 借款, 好处费…) are soft: they
# do not exclude a figure whose own clause says it was obtained (骗取…借款, 收受…好处费).
_MONEY_HARD_EXCLUDE = (
    r"罚金|罚款|赔偿|赔付|医疗费|收入|退赔|退赃|退缴|退回|退出|退清|补交|补缴|(?<![不未])(?<!无法)(?<!无力)(?:退还|归还|偿还|返还)|"
    r"(?:支付|扣除|收取|给付)[^，,。；;]{0,4}利息|滞纳金|手续费|修复|维修|修理|工资|月薪|每克|每[次个]|单价|辛苦费|车费|路费|"
    r"损失费|误工费|护理费|营养费|丧葬费|交通费|伙食|鉴定费|诉讼费|"
    r"(?:扣押|搜出|缴获|查获|收缴|起获)(?:了)?[^，,。；;价]{0,4}(?:现金|人民币|赃款)"
)
_MONEY_SOFT_EXCLUDE = r"费用|租金|保证金|补偿|押金|借款|欠款|好处费|报酬"
_MONEY_HARD_EXCLUDE_RE = re.compile(_MONEY_HARD_EXCLUDE)
_MONEY_RATE_RE = re.compile(r"每[^，,。；;]{0,6}$")  # 每吨265元, 每位客户800元
_MONEY_SENTENCE_RE = re.compile(r"[。；;]")
_MONEY_CLAUSE_RE = re.compile(r"[，,]")
_MONEY_SOFT_EXCLUDE_RE = re.compile(_MONEY_SOFT_EXCLUDE)
# Obtaining verbs. ×× is how CAIL masks the charge's own words (盗窃, 诈骗, 抢劫…) in its facts; it
# also masks names (张××) and plates (浙B×××××), which are not verbs.
_MONEY_TAKEN_RE = re.compile(
    r"骗|收受|索取|索要|索得|索贿|非法收取|给予|送予|送给|侵占|贪污|挪用|盗窃|窃取|敲诈|勒索|抵押[^，,。；;]{0,12}借款"
    r"|(?<![×张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡])××(?!×)"
)
_MONEY_TOTAL_RE = re.compile(r"共计|合计|总计|累计|总价值|总金额|总额|共")
_MONEY_VALUE_RE = re.compile(
    r"价值|金额|数额|价款|骗取|骗得|骗走|诈骗|盗窃|窃得|窃取|盗走|盗得|抢得|抢走|劫得|劫取|抢劫|抢夺|侵占|贪污|挪用|"
    r"受贿|收受|索取|索要|行贿|获利|违法所得|非法所得|损失|赌资|抽头|渔利|销售|货值|偷逃|税款|虚开|集资|吸收|转账|敲诈|勒索|"
    r"取走|取出|取款|取现|提取|支取|提现|套现|透支|刷卡|刷出|现金|赃款|得款|所得|汇款|汇入|汇去|打款|"
    r"送给|送予|给予|贿赂|回扣|好处费|税额|鉴定价|认定价|估价|价格为|总价"
)
# after the figure: 将卡内5000元取走 (a proceeds verb); 以1200元的价格, 125元一箱的价格 (a price),
# 300元每天 (a rate) and 本息40128.13元偿还完毕 (restitution) are not amounts
_MONEY_TAKEN_AFTER_RE = re.compile(r"(?:现金|人民币|钱)?(?:取走|取出|拿走|盗走|骗走|抢走)")
_MONEY_NOT_AFTER_RE = re.compile(
    r"(?:不等|左右|一[箱件斤吨套个只台])?的?价(?!值)|每[天日月]"
    r"|(?:现金|人民币|钱)?(?:已|均已)?(?:全部)?(?:偿还|退还|归还|返还|退赔|赔偿)"
)
_DRUGS: list[tuple[str, str]] = [
    ("亚甲二氧基甲基苯丙胺", "MDMA"),
    ("摇头丸", "MDMA"),
    ("甲基苯丙胺", "甲基苯丙胺"),
    ("冰毒", "甲基苯丙胺"),
    ("甲基安非他明", "甲基苯丙胺"),
    ("麻古", "甲基苯丙胺"),
    ("海洛因", "海洛因"),
    ("氯胺酮", "氯胺酮"),
    ("K粉", "氯胺酮"),
    ("可卡因", "可卡因"),
    ("吗啡", "吗啡"),
    ("鸦片", "鸦片"),
    ("大麻", "大麻"),
    ("美沙酮", "美沙酮"),
    ("曲马多", "曲马多"),
    ("甲卡西酮", "甲卡西酮"),
    ("芬太尼", "芬太尼"),
    ("罂粟", "罂粟"),
    ("咖啡因", "咖啡因"),
]
_DRUG_RE = re.compile("|".join(re.escape(k) for k, _ in _DRUGS))
_DRUG_NAME = dict(_DRUGS)
_GRAMS_RE = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>千克|公斤|kg|克|g)(?![a-zA-Z])")
_GRAMS_TOTAL_RE = re.compile(r"(?:共计|合计|总重|共重|累计|总计|共)[^，,。；;]{0,6}$")
_ALCOHOL_RE = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s*(?:±\s*\d+(?:\.\d+)?\s*)?(?:毫克|mg|MG)\s*[/／每]\s*(?:100|一百)\s*(?:毫升|ml|mL|ML)"
)
_INJURY_GRADES = (
    ("serious", re.compile(r"重伤")),
    ("minor", re.compile(r"(?<!微)轻伤")),
    ("slight", re.compile(r"轻微伤")),
)
_VICTIMS_RE = re.compile(
    r"((?:[\u4e00-\u9fff\d]{1,4}、)*[\u4e00-\u9fff\d]{1,4})(?:的|所受的?|之)(?:人体)?(?:损伤|伤情|伤势|伤|损失|体表|头部|面部|腹部|主要|右|左)"
)
_VICTIM_AFTER_RE = re.compile(
    r"被害人((?:[\u4e00-\u9fff\d]{1,4}、)*[\u4e00-\u9fff\d]{1,4}?)(?=[，,的因经被所之]|$)"
)
_NOT_VICTIM_RE = re.compile(r"级|伤|度|符合|构成|鉴定|经|为|其")
_COUNT_PEOPLE_RE = re.compile(rf"(?P<n>{_NUM})人(?:[^，,。；;]{{0,3}})?$")
_DEATH_RE = re.compile(r"死亡(?!证明|医学|通知|记录|赔偿|原因|时间|罪|这一|的后果|结果的)")
_NO_DEATH_RE = re.compile(r"(?:未|不|没有|尚未|未能|足以|可能|或者|危及|濒临)[^，,。；;]{0,6}$")
_DEATH_COUNT_RE = re.compile(
    rf"(?:致|造成|导致)(?:使)?(?P<n>{_NUM})(?:人|名)[^，,。；;]{{0,6}}死亡|死亡(?P<m>{_NUM})(?:人|名)"
)
_NO_INJURY_RE = re.compile(r"(?:未|不|没有|尚未|未能)[^，,。；;]{0,6}$")


def _amounts(text: str) -> tuple[list[float], list[float]]:
    """Totals and values stated in ``text`` (see :func:`extract_quantities`).

    A figure is judged by the 30 characters before it, up to the sentence start: its own clause
    (after the last comma) and the clauses before it in the sentence. Patterns are searched in the
    text itself so that look-behinds see past the cut (无法归还 is not restitution).
    """
    totals: list[float] = []
    values: list[float] = []
    for m in _MONEY_RE.finditer(text):
        start = m.start()
        lo = max(0, start - 30)
        sent_start = max((b.end() for b in _MONEY_SENTENCE_RE.finditer(text, lo, start)), default=lo)
        clause_start = max(
            (b.end() for b in _MONEY_CLAUSE_RE.finditer(text, sent_start, start)), default=sent_start
        )
        clause = text[clause_start:start]
        window = _PAREN_RE.sub("", clause)[-14:]  # 取走…人民币（币种下同）179562元
        taken = _MONEY_TAKEN_RE.search(text, clause_start, start)
        marked = taken or _MONEY_VALUE_RE.search(window)
        # the last 费用/借款… in an earlier clause excludes the figure unless a later 骗取… overrides it
        softs = list(_MONEY_SOFT_EXCLUDE_RE.finditer(text, sent_start, clause_start))
        soft_before = softs[-1] if softs else None
        if (
            _MONEY_HARD_EXCLUDE_RE.search(text, clause_start, start)
            or _MONEY_RATE_RE.search(clause)
            or (not taken and _MONEY_SOFT_EXCLUDE_RE.search(text, clause_start, start))
            or (not taken and _MONEY_HARD_EXCLUDE_RE.search(text, sent_start, clause_start))
            or (
                soft_before
                and not marked
                and not _MONEY_TAKEN_RE.search(text, soft_before.end(), clause_start)
            )
            or _MONEY_NOT_AFTER_RE.match(text, m.end())
        ):
            continue
        value = to_number(m.group("n"))
        if value is None:
            continue
        value *= {"亿": 1e8, "万": 10000, "千": 1000, "百": 100}.get(m.group("u") or "", 1)
        if _MONEY_TOTAL_RE.search(window):
            totals.append(value)
        elif marked or _MONEY_TAKEN_AFTER_RE.match(text, m.end()):
            values.append(value)
    return totals, values


def _drugs(text: str) -> tuple[str | None, float | None]:
    mentions = [(m.start(), _DRUG_NAME[m.group(0)]) for m in _DRUG_RE.finditer(text)]
    if not mentions:
        return None, None
    totals: dict[str, float] = {}
    parts: dict[str, set[float]] = {}
    for m in _GRAMS_RE.finditer(text):
        near = [(abs(pos - m.start()), name) for pos, name in mentions if abs(pos - m.start()) <= 60]
        if not near:
            continue
        name = min(near)[1]
        grams = float(m.group("n")) * (1000 if m.group("u") in ("千克", "公斤", "kg") else 1)
        if _GRAMS_TOTAL_RE.search(text[max(0, m.start() - 12) : m.start()]):
            totals[name] = max(totals.get(name, 0.0), grams)
        else:
            parts.setdefault(name, set()).add(grams)
    weights = {n: max(totals.get(n, 0.0), sum(parts.get(n, ()))) for n in set(totals) | set(parts)}
    if len(weights) > 1:
        weights.pop("咖啡因", None)  # an adulterant next to the drug (检出甲基苯丙胺、咖啡因)
    if weights:
        name = max(weights, key=lambda n: weights[n])
        return name, round(weights[name], 4)
    counts: dict[str, int] = {}
    for _, name in mentions:
        counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda n: counts[n]), None


def _alcohol(text: str) -> float | None:
    blood: list[float] = []
    breath: list[float] = []
    for m in _ALCOHOL_RE.finditer(text):
        before = text[max(0, m.start() - 8) : m.start()]
        after = text[m.end() : m.end() + 4]
        if re.search(r"达到|≥|>|大于|超过|标准|以上$", before) or after.startswith("以上"):
            continue
        sent_start = max((s.end() for s in _SENTENCE_BREAK_RE.finditer(text, 0, m.start())), default=0)
        (breath if re.search(r"呼气|吹气", text[sent_start : m.start()]) else blood).append(
            float(m.group("n"))
        )
    values = blood or breath
    return values[-1] if values else None


def _injuries(text: str) -> InjuryCounts:
    counts: dict[str, int] = {}
    for field, pattern in _INJURY_GRADES:
        named: set[str] = set()
        numeric = 0
        unnamed = False
        for m in pattern.finditer(text):
            sent_start = max(
                (s.end() for s in _SENTENCE_BREAK_RE.finditer(text, max(0, m.start() - 80), m.start())),
                default=max(0, m.start() - 80),
            )
            before = text[sent_start : m.start()]
            if _NO_INJURY_RE.search(before) or re.search(
                r"不鉴定|未达|不构成|不属于?[^，,。；;]{0,4}$", before[-10:]
            ):
                continue
            if text[m.end() : m.end() + 2] == "以上" or re.search(r"致人$|或者$", before):
                continue
            count = _COUNT_PEOPLE_RE.search(before[-12:])
            if count:
                numeric = max(numeric, int(to_number(count.group("n")) or 0))
                continue
            clause_start = max(
                (c.end() for c in re.finditer(r"[；;。]|，(?=被害人)|重伤|轻伤|轻微伤|死亡", before)),
                default=0,
            )
            local = before[clause_start:].replace("被害人", "，")
            who = None
            for v in _VICTIMS_RE.finditer(local):
                who = v
            names = [
                n for n in (who.group(1).split("、") if who else []) if n and not _NOT_VICTIM_RE.search(n)
            ]
            if not names:
                after = _VICTIM_AFTER_RE.findall(before[clause_start:])
                names = after[-1].split("、") if after else []
            if names:
                named.update(names)
            else:
                unnamed = True
        counts[field] = max(len(named), numeric, 1 if unnamed else 0)
    deaths = 0
    for m in _DEATH_COUNT_RE.finditer(text):
        deaths = max(deaths, int(to_number(m.group("n") or m.group("m")) or 0))
    if not deaths:
        for m in _DEATH_RE.finditer(text):
            if not _NO_DEATH_RE.search(text[max(0, m.start() - 10) : m.start()]):
                deaths = 1
                break
    return InjuryCounts(deaths=deaths, **counts)


def extract_quantities(text: str | None) -> Quantities:
    """Amount, drug, blood alcohol and injuries stated in facts (and reasoning).

    amount_yuan: the largest figure marked as a total (共计/合计/累计/总价值…); if there is none, the
    largest figure marked as a value or proceeds (价值, 骗取, 窃得, 受贿, 损失, 取走, 现金, CAIL's
    masked ××…). Figures are read in their written forms (1,694,350.00元, 160余万元, 十余万元,
    1.2万元, CAIL's 50万某 for 50万元). Fines, compensation, restitution, repayment, seized cash,
    unit prices and rates are never amounts; 费用, 借款, 好处费 are not either, unless their own
    clause says they were obtained (骗取…借款, 收受…好处费). drug_grams: per drug type the larger of its
    largest total (共计/共重 X克) and the sum of its distinct other weights; the type with the
    most grams wins (冰毒, 麻古 → 甲基苯丙胺). Blood alcohol: the last blood-test value, preferring
    it to breath tests and skipping legal thresholds (达到80毫克/100毫升以上). Injuries: victims per
    grade, counted by distinct victim names, else by 致X人, else 1 when the grade is stated.
    """
    if not text:
        return Quantities()
    text = normalize_digits(text)
    totals, values = _amounts(text)
    amount = max(totals) if totals else (max(values) if values else None)
    drug_type, grams = _drugs(text)
    return Quantities(
        amount_yuan=amount,
        drug_type=drug_type,
        drug_grams=grams,
        blood_alcohol_mg_100ml=_alcohol(text),
        injuries=_injuries(text),
    )


# --- the stage ----------------------------------------------------------------------------------


def _join(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def _label_list(raw: RawJudgment, key: str) -> list | None:
    value = raw.labels.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise RecordError(raw.location, f"labels.{key}", f"expected a list, got {type(value).__name__}")
    return value


def _label_charges(raw: RawJudgment) -> tuple[list[str], dict[str, str]]:
    """The labels' charges, canonical, and the former names among them (current -> as written)."""
    for key in ("accusation", "crime", "charges"):
        names = _label_list(raw, key)
        if names is None:
            continue
        out: list[str] = []
        written: dict[str, str] = {}
        for name in names:
            if not isinstance(name, str):
                raise RecordError(raw.location, f"labels.{key}", f"charge {name!r} is not text")
            for part in split_charge_names(name):
                current, former = resolve_charge(part)
                if current and current not in out:
                    out.append(current)
                if current and former:
                    written.setdefault(current, former)
        return out, written
    return [], {}


def former_names_in(text: str, charges: list[str]) -> dict[str, str]:
    """Former names of ``charges`` that ``text`` writes (the judgment's own words), current -> former."""
    found: dict[str, str] = {}
    for charge in charges:
        for row in former_names_of(charge):
            if row.name in text:
                found.setdefault(charge, row.name)
    return found


def typed_by_law(outcome: Outcome | None, charges: list[str]) -> Outcome | None:
    """A months-only label's outcome with the penalty type the charges allow (危险驾驶 -> 拘役).

    CAIL's ``imprisonment`` counts 有期徒刑 and 拘役 alike; the law table decides which one a number
    of months for these charges is (indexing.law.months_label_type).
    """
    if outcome is None or outcome.type is not OutcomeType.FIXED_TERM or not outcome.months:
        return outcome
    kind = months_label_type(charges, outcome.months)
    return outcome if kind is outcome.type else outcome.model_copy(update={"type": kind})


def statutory_brackets(charges: list[str], quantities: Quantities, circumstances: list[Circumstance]) -> dict[str, list[int]]:
    """Per charge of the law table, the brackets the stated quantities leave possible."""
    return lawful_range(charges, quantities, circumstances).by_charge if charges else {}


def _label_articles(raw: RawJudgment) -> list[int]:
    for key in ("relevant_articles", "la", "articles"):
        numbers = _label_list(raw, key)
        if numbers is None:
            continue
        out: list[int] = []
        for n in numbers:
            if isinstance(n, bool) or not isinstance(n, int | str) or not str(n).strip().isdigit():
                raise RecordError(raw.location, f"labels.{key}", f"article {n!r} is not a number")
            if int(n) not in out:
                out.append(int(n))
        return out
    return []


def _number_label(raw: RawJudgment, value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(raw.location, field, f"expected a number, got {value!r}")
    if value < 0:
        raise RecordError(raw.location, field, f"negative value {value!r}")
    return float(value)


def _label_outcome(raw: RawJudgment) -> Outcome | None:
    """The outcome CAIL's labels state (or a generic ``outcome`` label); raises if unreadable.

    CAIL gives months, a death flag (it does not tell 立即执行 from 缓期: taken as DEATH) and a life
    flag. Its ``imprisonment`` counts 有期徒刑 and 拘役 alike, so months > 0 is FIXED_TERM. 0 months
    with neither flag is a non-custodial sentence: FINE_ONLY when a fine is stated, else EXEMPTION
    (免予刑事处罚, the common case in the sample: 滥用职权 etc.; 管制 cannot be told apart).
    """
    labels = raw.labels
    if "outcome" in labels:
        try:
            return Outcome.model_validate(labels["outcome"])
        except ValidationError as exc:
            raise RecordError(raw.location, "labels.outcome", str(exc.errors()[0]["msg"])) from exc
    if "term_of_imprisonment" not in labels:
        return None
    term = labels["term_of_imprisonment"]
    if not isinstance(term, dict):
        raise RecordError(raw.location, "labels.term_of_imprisonment", f"expected an object, got {term!r}")
    months = _number_label(raw, term.get("imprisonment", 0), "labels.term_of_imprisonment.imprisonment")
    flags = {}
    for key in ("death_penalty", "life_imprisonment"):
        value = term.get(key, False)
        if not isinstance(value, bool):
            raise RecordError(
                raw.location, f"labels.term_of_imprisonment.{key}", f"expected true/false, got {value!r}"
            )
        flags[key] = value
    money = labels.get("punish_of_money", 0)
    fine = _number_label(raw, money if money is not None else 0, "labels.punish_of_money")
    if flags["death_penalty"]:
        return Outcome(type=OutcomeType.DEATH, fine_yuan=fine)
    if flags["life_imprisonment"]:
        return Outcome(type=OutcomeType.LIFE, fine_yuan=fine)
    if months > 0:
        return Outcome(type=OutcomeType.FIXED_TERM, months=months, fine_yuan=fine)
    if fine > 0:
        return Outcome(type=OutcomeType.FINE_ONLY, fine_yuan=fine)
    return Outcome(type=OutcomeType.EXEMPTION, fine_yuan=0.0)


def extract(raw: RawJudgment) -> CaseRecord:
    """Build the case record from a raw judgment: text evidence first, labels as fallback.

    A full text is split into sections. Without one, ``head`` (LeCaRDv2) and ``facts`` are used.
    Precedence per field: charges and articles from the judgment/reasoning text, else the labels,
    else the prosecution's 指控 in head/facts; the outcome from 判决如下, else the labels.
    Raises RecordError when the facts are missing or the labels are malformed.
    """
    sections = split_sections(raw.full_text) if raw.full_text and raw.full_text.strip() else None
    head = (sections.head if sections else None) or raw.head
    facts = (sections.facts if sections else None) or (raw.facts.strip() if raw.facts else None)
    if not facts:
        raise RecordError(raw.location, "facts", "missing facts")
    reasoning = sections.reasoning if sections else None
    judgment = sections.judgment if sections else None

    info = parse_head(head)
    date = parse_date(sections.signature) if sections and sections.signature else None
    if date is None and raw.full_text:
        date = parse_date(raw.full_text)
    labels = raw.labels
    civil = info.case_type is CaseType.CIVIL or labels.get("case_type") == "civil"
    if info.case_type is None and "case_type" not in labels:
        # no head or label says which (a pasted paragraph): the text's own words may
        civil = case_type_in_words(_join(head, facts)) is CaseType.CIVIL

    label_charges, label_written = _label_charges(raw)
    label_articles = _label_articles(raw)
    label_outcome = _label_outcome(raw)

    charges: list[str] = []
    if not civil:
        for part in (_without_revoked(judgment), reasoning):
            if part and not charges:
                charges = charges_in(part)
        charges = charges or label_charges or charges_in(_join(head, facts), allow_accusation=True)
    written = {c: n for c, n in label_written.items() if c in charges}
    if charges:
        written = {**former_names_in(_join(head, facts, reasoning, judgment), charges), **written}
    articles = extract_articles(_join(reasoning, judgment)) or label_articles
    if not articles and not civil:
        articles = extract_articles(_join(head, facts))
    outcome = (parse_outcome(judgment) if judgment and not civil else None) or typed_by_law(label_outcome, charges)

    circumstances = extract_circumstances(_join(facts, reasoning)) if not civil else []
    if not civil and Circumstance.PRIOR_RECORD not in circumstances and prior_record_in_head(head):
        circumstances = [c for c in Circumstance if c in {*circumstances, Circumstance.PRIOR_RECORD}]
    defendants = info.defendants
    criminals = labels.get("criminals")
    if defendants is None and isinstance(criminals, list) and criminals:
        defendants = len(criminals)
    stated = labels.get("defendants")  # an exchange record states the count its synthesized head cannot
    if defendants is None and isinstance(stated, int) and not isinstance(stated, bool) and stated > 0:
        defendants = stated
    cause = labels.get("cause") if civil else None
    quantities = extract_quantities(_join(facts, reasoning)) if not civil else extract_quantities(facts)
    return CaseRecord(
        case_id=make_case_id(raw.source, raw.source_id),
        source=raw.source,
        source_id=raw.source_id,
        case_type=CaseType.CIVIL if civil else CaseType.CRIMINAL,
        cause=cause if isinstance(cause, str) and cause else None,
        court=info.court,
        court_level=info.court_level,
        province=info.province or province_of(_appeal_court(judgment)),
        date=date,
        year=info.year or (int(date[:4]) if date else None),
        case_number=info.case_number,
        procedure=info.procedure,
        defendants=defendants,
        facts=facts,
        reasoning=reasoning,
        judgment=judgment,
        charges=charges,
        charges_as_written=written,
        brackets=statutory_brackets(charges, quantities, circumstances),
        articles=articles,
        outcome=outcome,
        circumstances=circumstances,
        quantities=quantities,
    )


_APPEAL_COURT_RE = re.compile(
    r"向([\u4e00-\u9fff]{2,30}?(?:中级|高级)人民法院)(?:提出|提起)?上诉|上诉于([\u4e00-\u9fff]{2,30}?人民法院)"
)


def _appeal_court(judgment: str | None) -> str | None:
    """The court named in the appeal notice; its province is the trial court's province."""
    if not judgment:
        return None
    m = _APPEAL_COURT_RE.search(judgment)
    return (m.group(1) or m.group(2)) if m else None

"""Split a Chinese criminal judgment into its parts and read the head and the signature date.

A judgment runs: head (court, case number, parties, procedure) → facts (公诉机关指控 / 经审理查明)
→ reasoning (本院认为 … 依照…之规定) → judgment (判决如下 …) → signature (审判长…, date, 书记员)
→ optionally an appendix quoting the statutes (附：相关法律条文). Extraction reads each field from
the part that states it: charges and sentence from the judgment, circumstances from facts and
reasoning, and never from the appendix, whose statute texts mention every penalty there is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexing.schema import CaseType, Procedure


@dataclass(frozen=True)
class Sections:
    """The parts of a full judgment; a part the text does not have is None."""

    head: str | None
    facts: str | None
    reasoning: str | None
    judgment: str | None
    signature: str | None = None  # judges, date and clerk, without the statute appendix


@dataclass(frozen=True)
class HeadInfo:
    """What the judgment head states about court, case and parties."""

    court: str | None = None
    court_level: str | None = None  # basic / intermediate / high / supreme
    province: str | None = None
    case_number: str | None = None
    procedure: Procedure | None = None
    year: int | None = None
    defendants: int | None = None
    case_type: CaseType | None = None


# --- section splitting -------------------------------------------------------------------------

_HEAD_END_RE = re.compile(r"审[理查]终结[。．.，,]?")
_FACTS_START_RE = re.compile(
    r"(?:公诉机关|检察院|公诉人)(?:起诉)?指控[:：，,]|经审理查明|(?:原审|一审|原)判决?认定|原判认定"
)
_HEAD_END_WEAK_RE = re.compile(r"(?:审理了本案|进行了审理|开庭审理)[。．.]")
_REASONING_RE = re.compile(r"本院认为")
_JUDGMENT_RE = re.compile(r"(?:判决|裁定)如下[:：]?")
_SIGNATURE_RE = re.compile(
    r"(?:^|(?<=[\s。）)]))(?:审\s*判\s*长|代理审判员|审\s*判\s*员|人民陪审员|陪\s*审\s*员|书\s*记\s*员)"
    r"(?=\s*[\u4e00-\u9fff×Ｘ＊*])"
)
_CN_DIGIT = "〇○零OΟ0０一二三四五六七八九"
_CN_DATE_RE = re.compile(
    rf"([{_CN_DIGIT}]{{4}})\s*年\s*([一二三四五六七八九十]{{1,3}})\s*月\s*([一二三四五六七八九十]{{1,3}})\s*日"
)
_APPENDIX_RE = re.compile(
    r"附\s*[:：]?\s*(?:件\s*[:：]?\s*)?(?:[^。\s]{0,14}?)(?:法律|条文|法条|条款|法律规定)"
)


def _first(pattern: re.Pattern[str], text: str, start: int = 0) -> re.Match[str] | None:
    return pattern.search(text, start)


def split_sections(full_text: str) -> Sections:
    """Split a full judgment; a text with no section markers is taken as facts only."""
    text = full_text.strip()
    if not text:
        return Sections(None, None, None, None)
    reasoning_m = _first(_REASONING_RE, text)
    judgment_m = _first(_JUDGMENT_RE, text, reasoning_m.end() if reasoning_m else 0)
    body_end = reasoning_m.start() if reasoning_m else (judgment_m.start() if judgment_m else len(text))

    facts_start: int | None = None
    head_end_m = _first(_HEAD_END_RE, text)
    if head_end_m and head_end_m.start() < body_end:
        facts_start = head_end_m.end()
    else:
        marker = _first(_FACTS_START_RE, text)
        if marker and marker.start() < body_end:
            facts_start = marker.start()
        else:
            weak = _first(_HEAD_END_WEAK_RE, text)
            if weak and weak.start() < body_end:
                facts_start = weak.end()
    if facts_start is None and not reasoning_m and not judgment_m:
        return Sections(None, text, None, None)
    head = text[:facts_start].strip() if facts_start else None
    facts = text[facts_start or 0 : body_end].strip() or None

    reasoning = None
    if reasoning_m:
        end = judgment_m.start() if judgment_m else len(text)
        reasoning = text[reasoning_m.start() : end].strip() or None
        if not judgment_m:  # no 判决如下: the reasoning runs to the signature
            sig = _signature_start(reasoning)
            reasoning = reasoning[:sig].strip() if sig is not None else reasoning

    judgment = signature = None
    if judgment_m:
        rest = text[judgment_m.end() :]
        appendix = _first(_APPENDIX_RE, rest)
        appendix_at = appendix.start() if appendix else len(rest)
        sig = _signature_start(rest[:appendix_at])
        end = min(appendix_at, sig) if sig is not None else appendix_at
        judgment = rest[:end].strip() or None
        signature = rest[end:appendix_at].strip() or None
    return Sections(head, facts, reasoning, judgment, signature)


def _signature_start(text: str) -> int | None:
    """Where the judges' names or the Chinese-numeral date begin, whichever is first."""
    cands = [m.start() for m in (_SIGNATURE_RE.search(text), _CN_DATE_RE.search(text)) if m]
    return min(cands) if cands else None


# --- dates ----------------------------------------------------------------------------------

_CN_DIGIT_VALUE = {ch: i % 10 for i, ch in enumerate("〇一二三四五六七八九")}
_CN_DIGIT_VALUE.update({"○": 0, "零": 0, "O": 0, "Ο": 0, "0": 0, "０": 0})


def _small_cn_number(text: str) -> int | None:
    """一..三十一 as an int (month and day of a signature date)."""
    units = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if "十" in text:
        tens, _, ones = text.partition("十")
        value = (units.get(tens, 0) if tens else 1) * 10 + (units.get(ones, 0) if ones else 0)
        return value if (not tens or tens in units) and (not ones or ones in units) else None
    return units.get(text)


def parse_date(text: str | None) -> str | None:
    """ISO date of the signature date written in Chinese numerals (二〇一七年六月二十八日).

    The signature date is the last such date before the clerk (书记员); dates inside the text are
    almost always written with Arabic digits, so the last Chinese-numeral date is a safe choice.
    """
    if not text:
        return None
    matches = list(_CN_DATE_RE.finditer(text))
    if not matches:
        return None
    clerk = text.rfind("书记员")
    before_clerk = [m for m in matches if clerk < 0 or m.start() < clerk]
    m = (before_clerk or matches)[-1]
    year = 0
    for ch in m.group(1):
        year = year * 10 + _CN_DIGIT_VALUE[ch]
    month, day = _small_cn_number(m.group(2)), _small_cn_number(m.group(3))
    if not (month and day and 1 <= month <= 12 and 1 <= day <= 31 and 1949 <= year <= 2100):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


# --- head --------------------------------------------------------------------------------------

_PROVINCES = (
    "北京市 天津市 上海市 重庆市 河北省 山西省 辽宁省 吉林省 黑龙江省 江苏省 浙江省 安徽省 福建省 江西省 "
    "山东省 河南省 湖北省 湖南省 广东省 海南省 四川省 贵州省 云南省 陕西省 甘肃省 青海省 台湾省 "
    "内蒙古自治区 广西壮族自治区 西藏自治区 宁夏回族自治区 新疆维吾尔自治区 香港特别行政区 澳门特别行政区"
).split()
# Autonomous regions are often named without 自治区 in court names (广西…, 新疆…).
_PROVINCE_SHORT = {
    "广西": "广西壮族自治区",
    "新疆": "新疆维吾尔自治区",
    "宁夏": "宁夏回族自治区",
    "西藏": "西藏自治区",
    "内蒙古": "内蒙古自治区",
}
# One-character abbreviations that start post-2016 case numbers: （2017）沪0120刑初684号.
_PROVINCE_ABBR = {
    "京": "北京市",
    "津": "天津市",
    "沪": "上海市",
    "渝": "重庆市",
    "冀": "河北省",
    "晋": "山西省",
    "辽": "辽宁省",
    "吉": "吉林省",
    "黑": "黑龙江省",
    "苏": "江苏省",
    "浙": "浙江省",
    "皖": "安徽省",
    "闽": "福建省",
    "赣": "江西省",
    "鲁": "山东省",
    "豫": "河南省",
    "鄂": "湖北省",
    "湘": "湖南省",
    "粤": "广东省",
    "琼": "海南省",
    "川": "四川省",
    "贵": "贵州省",
    "黔": "贵州省",
    "云": "云南省",
    "滇": "云南省",
    "陕": "陕西省",
    "甘": "甘肃省",
    "青": "青海省",
    "内": "内蒙古自治区",
    "桂": "广西壮族自治区",
    "藏": "西藏自治区",
    "宁": "宁夏回族自治区",
    "新": "新疆维吾尔自治区",
    "兵": "新疆维吾尔自治区",
}
_PROVINCE_RE = re.compile("|".join(map(re.escape, _PROVINCES)) + r"|(?:广西|新疆|宁夏|西藏|内蒙古)")
_CASE_NUMBER_RE = re.compile(
    r"[（(〔\[［]\s*((?:19|20)\d{2})\s*[）)〕\]］]\s*([\u4e00-\u9fff\d]{1,16}?"
    r"(?:刑|民|行|执|赔|司)[\u4e00-\u9fff\d]{0,8}?\s*第?\s*[\dＸX×]+\s*号)"
)
_CASE_NUMBER_ABBR_RE = re.compile(r"^([\u4e00-\u9fff])(?:\d|兵)")
_SPACES_RE = re.compile(r"\s+")
_DOC_TITLE_RE = re.compile(r"(?:刑事|民事|行政)?(?:附带民事)?(?:判决书|裁定书|调解书)")
_COURT_TAIL_RE = re.compile(r"[\u4e00-\u9fff（）()]{2,40}法院$")
_PROSECUTOR_RE = re.compile(r"公诉机关[:：]?\s*([\u4e00-\u9fff]{2,30}?人民检察院)")
# A party entry opens a sentence: "。被告人张3，女，…", "上诉人（原审被告人）曹某，男…".
_DEFENDANT_ENTRY_RE = re.compile(
    r"(?:^|(?<=[\s。；;]))(?:上诉人[（(])?(?:原审)?被告人[）)]?\s*[:：]?\s*"
    r"([^\s，,。；;：:、（()）]{1,10}?)(?=[，,。；;（(])"
)
_ACCUSED_LIST_RE = re.compile(r"指控(?:原审)?被告人([^，,。；;：:犯]{1,60}?)犯")
_NOT_NAME_RE = re.compile(
    r"^(?:人|均|对|在|于|不|已|本|为|是|到|及|和|系)|到庭|不服|同意|一案|犯|诉称|辩称|供述|提出|认为"
)


def _court_of(head: str) -> str | None:
    """The court name: the title-separated segment that ends in 法院 (a title may precede it)."""
    window = head[:300]
    number = _CASE_NUMBER_RE.search(window)
    if number:
        window = window[: number.start()]
    for segment in _DOC_TITLE_RE.split(window):
        segment = re.sub(r"\s+", " ", segment).strip(" ：:")
        for piece in reversed(segment.split(" ")):
            m = _COURT_TAIL_RE.search(piece)
            if m:
                name = m.group(0)
                return name.removeprefix("文书内容")
    return None


def court_level(court: str | None) -> str | None:
    """basic / intermediate / high / supreme from the court name."""
    if not court:
        return None
    if court.startswith("最高人民法院"):
        return "supreme"
    if "高级人民法院" in court or "高级法院" in court:
        return "high"
    if "中级" in court:
        return "intermediate"
    return "basic"


def province_of(text: str | None) -> str | None:
    """The first province, autonomous region or municipality named in ``text`` (full name)."""
    if not text:
        return None
    m = _PROVINCE_RE.search(text)
    if not m:
        return None
    name = m.group(0)
    return name if name in _PROVINCES else _PROVINCE_SHORT.get(name)


def _province_from_case_number(case_number: str | None) -> str | None:
    if not case_number:
        return None
    code = case_number.split("）", 1)[-1]
    m = _CASE_NUMBER_ABBR_RE.match(code)
    return _PROVINCE_ABBR.get(m.group(1)) if m else None


def procedure_of(case_number: str | None) -> Procedure | None:
    """刑初/民初 → first, 刑终/民终 → second, 再 (刑再, 再初, 再终) or 监 → retrial."""
    if not case_number:
        return None
    code = case_number.split("）", 1)[-1]
    if "再" in code or "监" in code:
        return Procedure.RETRIAL
    if "终" in code:
        return Procedure.SECOND
    if "初" in code or "重" in code:  # 刑重: first-instance retrial after remand (发回重审)
        return Procedure.FIRST
    return None


def _count_defendants(head: str) -> int | None:
    names: list[str] = []
    for m in _DEFENDANT_ENTRY_RE.finditer(head):
        name = m.group(1).strip()
        if name and not _NOT_NAME_RE.search(name) and name not in names:
            names.append(name)
    if names:
        return len(names)
    m = _ACCUSED_LIST_RE.search(head)
    if m:
        listed = [n for n in re.split(r"[、和及]", m.group(1)) if n.strip()]
        return len(listed) or None
    return None


#: Words of a prosecution and its parties: any of them makes a text criminal, whatever else it says
#: (被告人 but not 被告人寿保险 / 被告人保财险, a civil defendant that is an insurer; 原告人 is a
#: criminal case's 附带民事诉讼原告人).
_PROSECUTION_WORDS = re.compile(r"公诉|指控|附带民事|被告人(?![寿保财民])|原告人(?![寿保财])")
#: Words of civil procedure: parties who sue (原告, 上诉人 … 被上诉人) and their claims (not 纠纷: criminal
#: facts say 因琐事发生纠纷 as often as civil ones name a dispute).
_CIVIL_WORDS = re.compile(r"原告|诉讼请求|被上诉人|被申请人|申请执行人")
#: Words of crimes, which a civil case's facts may also mention of someone (另查明…因犯…罪).
_CRIMINAL_WORDS = re.compile(r"犯罪|罪")
#: For a text with none of the words above (a facts paragraph that names no party by role): words of a
#: criminal investigation, then words of civil relations (a marriage, a contract, an insurance policy,
#: a loan, a collision whose damages are claimed).
_CRIMINAL_CUES = re.compile(r"被害人|检察|同案犯|供述|作案|赃|涉嫌|公安机关|抓获|拒不执行|偷税|逃税|逃避缴纳")
_CIVIL_CUES = re.compile(r"登记结婚|离婚|婚生|投保|保险|合同|协议|借款|贷款|租赁|交通事故|赔偿|担保")


def case_type_in_words(text: str | None) -> CaseType | None:
    """The case type a text without a head shows in its own words, or None.

    Why: a judge drafting a civil judgment pastes its 经审理查明 paragraph, with no case number or title
    to read the type from; taken as criminal (the old default), it got criminal charges predicted and
    criminal cases ranked first. The order matters: a prosecution or a criminal defendant (公诉, 指控,
    被告人) is criminal even where a civil judgment is recounted (拒不执行判决: 判决被告…给付原告…);
    civil procedure's words come next, because a civil case's facts often mention someone's crime
    (另查明…因犯…罪); only then do crimes make a text criminal. A text naming no party by role (经审理
    查明，原、被告于…登记结婚) is read by its subject: an investigation's words (被害人, 公安机关) make it
    criminal, a civil relation's (合同, 投保, 离婚) civil. 被告人民公司 and 原告人保 (an insurer) are no
    criminal parties, nor is 原告指控 a prosecution. Measured on real texts by
    ``tests/indexing/test_extract.py`` (CJRC civil and criminal passages, CAIL facts, LeCaRD queries).
    """
    if not text:
        return None
    if any(m.group() != "指控" or "原告" not in text[max(0, m.start() - 8):m.start()]  # 原告(在本案中)指控: civil
           for m in _PROSECUTION_WORDS.finditer(text)):
        return CaseType.CRIMINAL
    if _CIVIL_WORDS.search(text):
        return CaseType.CIVIL
    if _CRIMINAL_WORDS.search(text):
        return CaseType.CRIMINAL
    if _CRIMINAL_CUES.search(text):
        return CaseType.CRIMINAL
    if _CIVIL_CUES.search(text):
        return CaseType.CIVIL
    return None


def parse_head(head: str | None) -> HeadInfo:
    """Court, level, province, case number, procedure, year, defendant count and case type."""
    if not head:
        return HeadInfo()
    court = _court_of(head)
    number_m = _CASE_NUMBER_RE.search(head)
    case_number = f"（{number_m.group(1)}）{_SPACES_RE.sub('', number_m.group(2))}" if number_m else None
    code = case_number.split("）", 1)[-1] if case_number else ""
    if "刑" in code:
        case_type: CaseType | None = CaseType.CRIMINAL
    elif "民" in code or re.search(r"民事(?:判决|裁定|调解)书", head[:200]):
        case_type = CaseType.CIVIL
    elif re.search(r"刑事(?:附带民事)?(?:判决|裁定)书", head[:200]):
        case_type = CaseType.CRIMINAL
    else:
        case_type = None
    prosecutor = _PROSECUTOR_RE.search(head)
    province = (
        province_of(court)
        or _province_from_case_number(case_number)
        or province_of(prosecutor.group(1) if prosecutor else None)
    )
    return HeadInfo(
        court=court,
        court_level=court_level(court),
        province=province,
        case_number=case_number,
        procedure=procedure_of(case_number),
        year=int(number_m.group(1)) if number_m else None,
        defendants=_count_defendants(head),
        case_type=case_type,
    )

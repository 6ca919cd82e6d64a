"""Sentencing circumstances (量刑情节) stated in facts and reasoning: :func:`extract_circumstances`.

Judges, prosecutors and litigants write circumstances in plain words as often as in terms of art:
主动到派出所投案 (自首), 归案后如实交代 (坦白), 被害人出具谅解书 (谅解), 家属代为退赔 (退赃退赔),
因意志以外的原因未能得逞 (未遂). The cues are data: :data:`_CUES` lists, per circumstance, the
wordings that state it, and the tables after it list what takes a mention back: negations
(不构成自首), promises and orders (愿意赔偿, 责令退赔), the police's recovery (赃物已追回发还 is not
the defendant's 退赃, 刑法第六十四条), other people (同案人已赔偿), defence claims the court does
not accept, and the court's own denial (依法不构成自首), which outweighs the facts and the parties.

The rules follow the gold set's labelling rules (tests/indexing/circumstances_gold/README.md); its
report is ``python -m evaluation.circumstance_report``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from indexing.anonymize import surnames
from indexing.schema import Circumstance

__all__ = ["extract_circumstances", "prior_record_in_head"]

_C = Circumstance
_N = r"[^，,。；;！？\n]"  # a character inside one clause
_MONEY_OBJECT = r"(?:赃款|赃物|违法所得|非法所得|所得|受贿款|获利|款项|钱款|资金|本金|本息|透支款?|欠款|借款|货款|税款|贷款|人民币)"

#: Wordings that state a circumstance: (circumstance, pattern). A circumstance is read from all of
#: its rows; each match is one mention, judged by the tables below.
_CUES: tuple[tuple[Circumstance, str], ...] = (
    (_C.SURRENDER, r"自首"),
    (_C.SURRENDER, r"投案"),  # 主动投案, 到公安机关投案, 自动至派出所投案, 投案自首
    (_C.SURRENDER, rf"通知(?:后|其)?{_N}{{0,6}}?(?:主动|自行|自动)?(?:到案|归案|到{_N}{{1,14}}?(?:投案|接受|交[待代]|说明))"),
    (_C.SURRENDER, rf"(?:报警|报案|110){_N}{{0,4}}[^。；;\n]{{0,18}}?(?:现场|原地|宿舍|家中)?{_N}{{0,3}}(?:等候|等待)"),
    (_C.SURRENDER, r"主动(?:到案|归案)|自动(?:到案|归案)"),
    (_C.CONFESSION, r"坦白"),
    (_C.CONFESSION, r"如实(?:地)?(?:供述|交代|交待|供认)|供认不讳|主动(?:供述|交代|交待)"),
    (_C.PLEA_IN_COURT, r"认罪(?!认罚|、认罚|，认罚|材料|书)"),
    (_C.PLEA_IN_COURT, r"(?:无异议|没有异议|不持异议|不表异议|未提出异议|没有提出异议|无意见|没有意见|供认不讳|未作辩解|无辩解)"),
    (_C.PLEA_LENIENCY, r"认罪认罚|认罪、认罚|签字具结|具结书|签署(?:了)?具结"),
    (_C.RECIDIVISM, r"累犯"),
    (
        _C.PRIOR_RECORD,
        r"前科(?!劣迹查询|查询|材料|证明|情况|信息|身份|查证)|犯罪记录(?!证明|查询|材料)|刑满释放|释放证明|毒品(?:犯罪的?)?再犯"
        rf"|曾因{_N}{{0,40}}?(?:判处|判刑|判过刑|刑满|服刑)|(?<!涉嫌)因犯{_N}{{1,30}}?罪{_N}{{0,40}}?(?:判处|判过刑|判刑)"
        r"|前罪|考验期(?:限)?内(?:又|再)?犯|服刑期间|正在服刑",
    ),
    (_C.FORGIVENESS, r"谅解|原谅"),
    (_C.FORGIVENESS, rf"(?:放弃|不再|不予|免于|免予){_N}{{0,10}}?追究{_N}{{0,12}}?刑事(?:责任|处罚)"),
    (_C.COMPENSATION, r"赔偿|赔付|赔给"),
    (_C.COMPENSATION, rf"(?:补偿|(?<!退)赔)(?:了)?(?:给)?被害|(?:支付|给付|交纳|缴纳){_N}{{0,12}}?(?:补偿款|抚慰金)|补偿款"),
    (_C.RESTITUTION, r"退赃|退赔|退缴|清退"),
    (_C.RESTITUTION, rf"(?:主动)?(?:交出|上交|交至|交到|交回)(?:了)?{_N}{{0,8}}?(?:赃|公安|司法机关|检察|法院)"),
    (_C.RESTITUTION, rf"(?:退出|退还|退回|退至|退给)(?:了)?{_N}{{0,10}}?(?:{_MONEY_OBJECT}|被害|所骗|挪用|全部|部分)"),
    (_C.RESTITUTION, rf"(?:补缴|补交)(?:了)?{_N}{{0,10}}?税款|(?:赃款|所得){_N}{{0,10}}?(?:退|返还|归还|上缴)"),
    (_C.RESTITUTION, rf"(?:归还|偿还|清偿|返还)(?:了)?{_N}{{0,14}}?{_MONEY_OBJECT}"),
    (_C.RESTITUTION, rf"上缴{_N}{{0,4}}?(?:司法机关|检察|法院|国库)|(?:分得|所得|赃款){_N}{{0,14}}?上缴"),
    (_C.ATTEMPT, r"未遂|未能?得逞|没有得逞|意志以外"),
    (_C.ATTEMPT, rf"(?:盗窃|实施|作案|抢劫|抢夺|诈骗|××|强奸|奸淫){_N}{{0,12}}?未果"),
    (_C.ABANDONMENT, r"犯罪中止|中止犯|系中止|属中止|自动放弃犯罪|自动有效地防止"),
    (_C.ACCESSORY, r"(?<!主)(?<!主、)从犯(?!罪)|起(?:了)?(?:次要|辅助)"),
    (_C.COERCED, r"胁从"),
    (
        _C.MINOR,
        rf"(?:犯罪|作案|行为|案发)时{_N}{{0,8}}?(?:未成年|(?:已满(?:十[四六]|1[46])周岁)?(?:不满|未满)(?:十八|18)周岁"
        rf"|(?:只有|年仅|仅|才)(?:十[四五六七]|1[4-7])周?岁)"
        rf"|被告人[^，,。；;！？\n（(]{{1,8}}?(?:系|是|为|属)未成年人|(?<!侵害)(?<!性侵)未成年人犯罪"
        rf"|被告人[^，,。；;！？\n（(]{{1,8}}?(?:出生于|生于){_N}{{1,16}}?[，,](?:系|是|为|属)未成年人",
    ),
    (_C.FIRST_OFFENCE, r"初犯|偶犯|初次犯罪"),
    (_C.FIRST_OFFENCE, r"无(?:任何)?(?:违法)?(?:犯罪)?(?:前科|犯罪记录)|没有(?:违法)?(?:犯罪)?前科|无不良习惯及违法犯罪记录"),
    (_C.MERITORIOUS, r"立功"),
    (_C.MERITORIOUS, r"(?:检举|揭发|提供)[^。；;\n]{0,30}?(?:线索|犯罪)[^。；;\n]{0,30}?(?:侦破|抓获)|协助(?:公安机关)?抓(?:获|捕)"),
)

#: The terms of art: a court's denial of one of these (依法不构成自首) takes the circumstance away
#: unless the court also states it in these words (系自首) elsewhere for the first defendant.
_TERMS: dict[Circumstance, str] = {
    _C.SURRENDER: r"自首|自动投案|自动到案",
    _C.CONFESSION: r"坦白",
    _C.PLEA_LENIENCY: r"认罪认罚",
    _C.RECIDIVISM: r"累犯",
    _C.FORGIVENESS: r"谅解",
    _C.ATTEMPT: r"未遂",
    _C.ABANDONMENT: r"中止",
    _C.ACCESSORY: r"从犯|次要|辅助",
    _C.COERCED: r"胁从",
    _C.FIRST_OFFENCE: r"初犯",
    _C.MERITORIOUS: r"立功",
}

# --- what takes a mention back ------------------------------------------------------------------

_NEGATION = (
    r"不构成|不属于?|不能认定|不予认定|不应认定|不宜认定|不认定|不成立|不具有|不具备|不符合|不是|不系|并非|没有|无|"
    r"未能?|尚未|不存在|否认|拒绝|拒不|不予|不能|无法|不应|不宜|不足以|难以认定|不视为|不愿|不肯|不同意"
)
_PREFIX_NEGATION_RE = re.compile(rf"(?:{_NEGATION}){_N}{{0,12}}$")
#: 未遂 contains 未 and follows 因…无法…而: only an explicit denial negates it.
_ATTEMPT_NEGATION_RE = re.compile(rf"(?:不构成|不属于?|不是|并非|不系|不能认定|不应认定|不宜认定|不认定){_N}{{0,8}}$")
#: Words that contain a negation but deny nothing here (对指控无异议, 无证驾驶).
_NOT_NEGATION_RE = re.compile(r"(?:没有|无|未提出|未|不持|不表)异议|无辩解|未作辩解|无证|无业|无牌|无号|无照|无固定")
_SUFFIX_NEGATION_RE = re.compile(
    rf"{_N}{{0,12}}(?:不能成立|不成立|不予采纳|不予认定|不予支持|不予采信|不能认定|与事实不符|查证不实|不实|未查证属实|未经查证)"
)
#: Per circumstance: what after a mention (same sentence) takes it back.
_AFTER_RE: dict[Circumstance, re.Pattern[str]] = {
    _C.SURRENDER: re.compile(
        r"[^。；;\n]{0,40}?(?:时未如实|但未如实|未如实供述|没有如实供述|翻供|脱逃|不认定|不能认定|不构成|不符合|不视为)"
    ),
    _C.PLEA_IN_COURT: re.compile(r"(?:态度)?(?:较|很|极)?差|[^。；;\n]{0,3}，?但(?:辩称|认为|提出|其(?:行为)?应当?构成|不构成|否认)"),
    _C.COMPENSATION: re.compile(
        r"(?:金|责任|标准|范围|请求|义务|权利|数额|项目|问题|诉讼|部分尚|的诉讼)"
        r"|[^。；;\n]{0,20}?(?:但|却)(?:至今)?(?:尚)?未(?:能)?(?:实际)?(?:履行|支付|给付|到位|兑现)"
    ),
    _C.ATTEMPT: re.compile(r"(?:的情况下|的辩解|的意见)"),
}
#: Per circumstance: what before a mention (same clause) takes it back besides a negation.
_BEFORE_RE: dict[Circumstance, re.Pattern[str]] = {
    _C.SURRENDER: re.compile(rf"(?:准备|拟|打算|欲|劝其|劝说|敦促|动员){_N}{{0,6}}$"),
    _C.COMPENSATION: re.compile(
        rf"(?:责令|判令|判决|裁定|应当|应予|要求|请求|诉请|诉讼请求|提起|追缴|承担|愿意|愿|同意|承诺|准备|打算|商定|约定|死亡|伤残|残疾){_N}{{0,8}}$"
    ),
    _C.RESTITUTION: re.compile(
        rf"(?:责令|判令|判决|裁定|应当|应予|要求|请求|诉请|追缴|愿意|愿|同意|承诺|准备|打算|约定|追回|起获|缴获|查获|扣押|扣回|民警|公安|侦查机关|办案机关|发还){_N}{{0,12}}$"
    ),
    _C.FORGIVENESS: re.compile(rf"(?:请求|希望|恳请|争取|求得对方){_N}{{0,8}}$"),
    _C.MINOR: re.compile(r"被害人|幼女|儿童|明知|对象|教唆|利用|引诱|容留|组织|强迫|介绍|招募|侵害"),
    _C.CONFESSION: re.compile(rf"(?:当庭|庭审|庭上|审理过程|审理中|法庭上|开庭|对{_N}{{0,20}}?(?:指控|起诉)){_N}{{0,12}}$"),
}
#: 不构成自首，但(当庭)如实供述: the court falls back on 如实供述 as a 坦白 of its own.
_SURRENDER_DENIED_RE = re.compile(r"不(?:构成|符合|能认定为?|属于|认定为?)[^。；;\n]{0,6}自首")
#: 坦白 said at trial is 当庭认罪, unless the same sentence also says so of the investigation.
_PRETRIAL_RE = re.compile(r"到案|归案|侦查|案发后|抓获后|审查起诉|起诉阶段")
#: 归还/偿还… of money is restitution only once the offence is over (not a step of a fraud).
_AFTER_OFFENCE_RE = re.compile(r"案发后|案发前|到案后|归案后|审理|庭审|审判|一审|二审|侦查|起诉|判决前|立案后|另查明|已|积极|主动|代为|代其")
_POLICE_RE = re.compile(r"追回|追缴|起获|缴获|查获|扣押|扣回|发还")
_OFFENDER_RE = re.compile(r"被告人|家属|亲属|法定代理人|其(?:本人)?(?:已|主动|积极|自愿)")
_RESTITUTION_NEEDS_CONTEXT_RE = re.compile(r"(?:归还|偿还|清偿|返还)")
#: Someone other than a defendant of this case is the subject (同案人已赔偿, 犯罪嫌疑人…支付).
_NOT_DEFENDANT_RE = re.compile(r"被告单位|(?<!及其)(?<!及)(?<!和)辩护人|法定代理人|近亲属|(?<!对)被害人")
_THIRD_PARTY_RE = re.compile(r"同案人|同案犯|同案人员|犯罪嫌疑人(?![，,。；;的])|另案处理|其他被告人|车主|保险公司")
#: A quoted earlier judgment orders, it does not state (原判决：…被告人退赔…).
_QUOTED_JUDGMENT_RE = re.compile(r"判决[：:，,]|判决如下|遂判决")

_DEFENCE_RE = re.compile(
    rf"辩护人|辩护意见|辩护提出|辩称|辩解|上诉理由|上诉称|上诉提出|(?:上诉人|被告人){_N}{{0,12}}提出|被告人{_N}{{0,6}}请求"
)
_GROUNDS_AFTER_RE = re.compile(r"[^。！？\n]{0,80}?(?:为由[，,]?(?:提出|提起)上诉|的上诉理由|为由上诉)")
_PROSECUTION_RE = re.compile(r"公诉机关|检察院|检察机关|公诉人|起诉书|指控|抗诉")
_COURT_TURN_RE = re.compile(r"经查|经审查|经审理|本院认为|本院查明|另查明|审理查明")
#: A defence claim block opened by a colon runs to the end of its paragraph.
_CLAIM_BLOCK_RE = re.compile(
    r"(?:辩护|辩解|上诉)(?:意见|理由)(?:是|为|如下|主要有|主要是)?[:：]|(?:辩护|辩解|上诉)(?:意见|理由)(?:是|为)[，,]"
    r"|(?:辩护人|辩称)[^。；;\n]{0,10}[:：]|辩护人(?:称|认为|提出)[，,]\s*(?:1|一|（一）)"
)
_PARAGRAPH_END_RE = re.compile(r"。\s|\n|经审理查明|本院认为")
_ACCEPTED_RE = re.compile(r"(?<!不)(?:予以|应予|酌情予以|酌予|本院)?(?:采纳|支持|采信|确认)|(?<!不)(?<!不能)成立|属实|相符|合法有据")
_REJECTED_RE = re.compile(r"不予采纳|不予支持|不能成立|不成立|不予采信|不符|于法无据|不能认定|不应认定|不予认定|不宜认定|理据不足")
_GENERIC_ACCEPTED_RE = re.compile(
    r"(?:(?:相关|上述|其他|其余|合理|相应|与此相同的|就此提出的|与上述相符的|与上述相同的|与上述相应的)(?:的)?(?:辩护|上诉)?意见"
    r"|(?:辩护人|上诉人)(?:的)?(?:辩护|上诉)?意见|辩护人(?:(?!关于|系|是)[^。；;\n]){0,20}?的(?:辩护)?意见)[，,]?[^。；;\n]{0,14}?"
    r"(?:(?<!不)予以采纳|酌情予以采纳|酌予采纳|(?<!不)予以支持|本院亦?酌情予以采纳|(?<!不)予以采信|(?<!不)(?<!不能)成立)"
)
#: 如实供述 of one count beside a 自首 for another (对玩忽职守部分…如实供述) is a 坦白 of its own.
_OTHER_COUNT_RE = re.compile(r"^(?=[^。；;\n]*部分)(?![^。；;\n]*(?:自首|投案))")
#: Between two names of one subject (王某、李某; 韦少详、韦少年 with the names read as 韦少).
_JOINED_RE = re.compile(r"[\u4e00-\u9fff\d]{0,2}(?:[、和与及]|、?被告人|及被告人)")
_LISTED_RE = re.compile(r"且有|并有|证据有|有下列|以下证据")
_EVIDENCE_LIST_RE = re.compile(r"等证据|证据(?:予以)?证实|证据在卷|足以认定|书证")
_COLLECTIVE_RE = re.compile(r"[二两三四五六七八九]被告人|各被告人|上述被告人|全体被告人")

_CLAUSE_BREAK_RE = re.compile(r"[，,。；;：:！？\n]")
_SENTENCE_BREAK_RE = re.compile(r"[。；;！？\n]")
_TITLE_RE = re.compile(r"《[^《》]{0,80}》")
_QUOTED_LAW_RE = re.compile(r"“[^“”]{0,600}?(?:应当|可以|的，处|以下有期徒刑)[^“”]{0,600}”")
_ROLE_RE = re.compile(r"(?:原审)?(?:被告人|上诉人)")
#: Words after 被告人 that begin with a surname character but are not names.
_NOT_NAME_RE = re.compile(r"原审|强奸|强行|强制|强迫|方共|车辆|一方|方面|单位|家属|亲属|本人|代为|代其|陈述|应当|曾因|明知|时年|共同|关于")
_NAME_END_RE = re.compile(r"[^\u4e00-\u9fff\d×Xx]|[的在于和与及将因对系是等均共被已从向到经以为把]")


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[Circumstance, re.Pattern[str]], ...]:
    return tuple((kind, re.compile(p)) for kind, p in _CUES)


@lru_cache(maxsize=1)
def _terms() -> dict[Circumstance, re.Pattern[str]]:
    return {kind: re.compile(p) for kind, p in _TERMS.items()}


@dataclass(frozen=True)
class _Mention:
    kind: Circumstance
    start: int
    end: int
    term: bool  # the matched words are the term of art (系自首, 坦白)
    court: bool  # in the court's (or the facts') own voice, not in a party's claim


class _Text:
    """One text with its sentence/clause boundaries, defendants and claim blocks, computed once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sentence_ends = [m.start() for m in _SENTENCE_BREAK_RE.finditer(text)]
        self.clause_ends = [m.start() for m in _CLAUSE_BREAK_RE.finditer(text)]
        reasoning = text.find("本院认为")
        self.reasoning_start = reasoning if reasoning >= 0 else len(text)
        self.names = _defendant_names(text)
        self._own_re: re.Pattern[str] | None = None
        self.blocks = []
        for m in _CLAIM_BLOCK_RE.finditer(text):
            end = _PARAGRAPH_END_RE.search(text, m.end())
            self.blocks.append((m.start(), end.start() if end else len(text)))
        for m in _DEFENCE_RE.finditer(text):  # a paragraph that opens with the defence is the defence's
            par_start = max(text.rfind(" ", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
            if par_start and m.start() - par_start <= 20 and "。" not in text[par_start : m.start()]:
                end = _PARAGRAPH_END_RE.search(text, m.end())
                self.blocks.append((m.start(), end.start() if end else len(text)))

    @property
    def own_re(self) -> re.Pattern[str]:
        """被告人, 上诉人 or a defendant's name: compiled once per text (names differ from text to text,
        so the ``re`` module's cache would compile them again at every mention)."""
        if self._own_re is None:
            self._own_re = re.compile("|".join(["被告人", "上诉人", *map(re.escape, self.names)]))
        return self._own_re

    def sentence(self, pos: int) -> tuple[int, int]:
        i = bisect_right(self.sentence_ends, pos - 1)
        start = self.sentence_ends[i - 1] + 1 if i else 0
        end = self.sentence_ends[i] if i < len(self.sentence_ends) else len(self.text)
        return start, end

    def clause_start(self, pos: int) -> int:
        i = bisect_right(self.clause_ends, pos - 1)
        return self.clause_ends[i - 1] + 1 if i else 0


def _defendant_names(text: str) -> list[str]:
    """The defendants named after 被告人/上诉人, in order; a 、-list that names the first gives the order.

    A name's length is read from the text itself: the shortest prefix (two characters, a surname
    first) is grown by a character while every occurrence of it continues with that character, so
    张1某 and 吴瑞德 are whole, while 王某甲 and 王某乙 both stay 王某 (the text does not tell them apart).
    """
    names: list[str] = []
    listed: list[str] = []
    known = surnames()
    for role in _ROLE_RE.finditer(text):
        segment = re.match(r"[^，,。；;：:（(）)\s]{1,40}", text[role.end() :])
        if not segment:
            continue
        pieces = segment.group(0).split("、")
        found = []
        for piece in pieces:
            name = _name_prefix(text, piece, known)
            if not name:
                break
            found.append(name)
            if len(piece) > len(name) + 1:  # 赵大卫通过…招募、容留、管理: the list ended with the name
                break
        for name in found:
            if name not in names:
                names.append(name)
        if len(found) > 1 and not listed:
            listed = found
    if not listed or names[0] not in listed:  # a list of the others (雇佣被告人张欣、商某某) orders nothing
        return names
    return listed + [n for n in names if n not in listed]


def _name_prefix(text: str, piece: str, known: frozenset[str]) -> str | None:
    if len(piece) < 2 or not (piece[0] in known or piece[:2] in known):
        return None
    if not re.match(r"[\u4e00-\u9fff·\d×Xx]{2}", piece) or _NOT_NAME_RE.match(piece):
        return None
    name = piece[:2]
    if text.count(name) < 2:  # a name is written more than once; a one-off is a word (被告人方共计…)
        return None
    for ch in piece[2:4]:
        if _NAME_END_RE.match(ch):
            break
        if text.count(name + ch) < text.count(name) and not (len(name) == 2 and ch in _third_chars(text, name)):
            break
        name += ch
    return name


def _name_char(c: str) -> bool:
    """What the character class of CJK ideographs and decimal digits (``\\d``) matches."""
    return "\u4e00" <= c <= "\u9fff" or c.isdecimal()


def _third_chars(text: str, name: str) -> set[str]:
    """Third characters that make two defendants of one 2-character prefix (周超发、周超栋).

    Both are written side by side in a list: a third character right before a 、 (周超发、) or right
    after one (、周超栋). Scanned with ``str.find`` as ``re.finditer`` would match the name, the
    character and a lookahead 、, then 、, the name and the character (non-overlapping, left to right):
    the name differs from text to text, so a pattern per name was compiled again for nearly every
    record (an eighth of the extraction's time).
    """
    found: set[str] = set()
    size, pos = len(name), text.find(name)
    while pos >= 0:  # {name}(X)(?=、)
        after = pos + size
        if after + 1 < len(text) and _name_char(text[after]) and text[after + 1] == "、":
            found.add(text[after])
            pos = text.find(name, after + 1)
        else:
            pos = text.find(name, pos + 1)
    listed = "、" + name
    pos = text.find(listed)
    while pos >= 0:  # 、{name}(X)
        after = pos + size + 1
        if after < len(text) and _name_char(text[after]):
            found.add(text[after])
            pos = text.find(listed, after + 1)
        else:
            pos = text.find(listed, pos + 1)
    found = {c for c in found if not _NAME_END_RE.match(c) and text.count(name + c) >= 2}
    return found if len(found) >= 2 else set()


_VICTIM_SUBJECT_RE = re.compile(r"被害人|被害单位|证人|同案人|同伙")
_DEFENDANT_SUBJECT_RE = re.compile(r"被告人|上诉人|原审被告人")


def _about_first(t: _Text, m: re.Match[str], kind: Circumstance) -> bool:
    """Whether the mention concerns the first defendant (always so when one defendant is named)."""
    sent_start, sent_end = t.sentence(m.start())
    prefix = t.text[sent_start : m.start()]
    if kind is _C.PLEA_IN_COURT:  # 被告单位/辩护人…无异议 is not the defendant's own plea
        others = [x.end() for x in _NOT_DEFENDANT_RE.finditer(prefix)]
        own = [x.end() for x in t.own_re.finditer(prefix)]
        if others and max(others) > max(own, default=-1):
            return False
    if kind is not _C.FORGIVENESS and kind is not _C.PLEA_IN_COURT:
        third = [x.end() for x in _THIRD_PARTY_RE.finditer(prefix)]
        named = [prefix.rfind(n) for n in t.names] if t.names else []
        if third and max(third) > max([p + 1 for p in named if p >= 0], default=-1):
            return False
    if len(t.names) < 2:
        return True
    first = t.names[0]
    if kind is _C.FORGIVENESS:  # the victim forgives someone: is the first among them?
        sentence = t.text[sent_start:sent_end]
        return first in sentence or not any(n in sentence for n in t.names)
    if kind is _C.SURRENDER and _EVIDENCE_LIST_RE.search(t.text, sent_start, sent_end) and _LISTED_RE.search(prefix):
        return False  # 投案证明 in the evidence of a case with several defendants names nobody
    hits = sorted((i, n) for n in t.names for i in _finditer_str(prefix, n))
    if not hits:
        return True
    last_pos, last_name = hits[-1]
    if _COLLECTIVE_RE.search(prefix, last_pos):
        return True
    group = {last_name}
    pos = last_pos
    for i, n in reversed(hits[:-1]):  # names joined to it by 、/和/与/及 belong to the same subject
        if _JOINED_RE.fullmatch(prefix[i + len(n) : pos]):
            group.add(n)
            pos = i
    return first in group


def _finditer_str(s: str, sub: str) -> list[int]:
    out, i = [], s.find(sub)
    while i >= 0:
        out.append(i)
        i = s.find(sub, i + 1)
    return out


def _voice(t: _Text, start: int) -> str:
    """'defence' (a defence or appeal claim), 'prosecution' or 'court' for the mention at start."""
    if any(a <= start < b and not _COURT_TURN_RE.search(t.text, a, start) for a, b in t.blocks):
        return "defence"
    if _GROUNDS_AFTER_RE.match(t.text, start):  # 以“系从犯…”等为由，提出上诉
        return "defence"
    sent_start = max(t.text.rfind(ch, 0, start) for ch in "。！？\n") + 1
    prefix = t.text[sent_start:start]
    turns = [m.end() for m in _COURT_TURN_RE.finditer(prefix)]
    last_turn = max(turns, default=-1)
    defence = [m.end() for m in _DEFENCE_RE.finditer(prefix)]
    if defence and max(defence) > last_turn:
        return "defence"
    prosecution = [m.end() for m in _PROSECUTION_RE.finditer(prefix)]
    if prosecution and max(prosecution) > last_turn:
        return "prosecution"
    return "court"


def _claim_accepted(t: _Text, end: int) -> bool:
    """Whether the court accepts the defence claim whose mention ends at ``end``."""
    sent_end = min((i for i in (t.text.find(ch, end) for ch in "。！？\n") if i >= 0), default=len(t.text))
    rest = t.text[end:sent_end]
    close = re.search(r"意见|理由|辩解|观点", rest)
    if close:  # the verdict that first follows the claim in its sentence
        verdicts = [(m.start(), False) for m in _REJECTED_RE.finditer(rest, close.end())]
        verdicts += [(m.start(), True) for m in _ACCEPTED_RE.finditer(rest, close.end())]
        if verdicts:
            return min(verdicts)[1]
    following = t.text[sent_end : sent_end + 120]
    nxt = re.match(r"[。；;！？\s]*([^。；;！？\n]*)", following)
    if nxt and re.search(r"意见|辩护|经查", nxt.group(1)[:30]):
        if _REJECTED_RE.search(nxt.group(1)):
            return False
        if _ACCEPTED_RE.search(nxt.group(1)):
            return True
    return bool(_GENERIC_ACCEPTED_RE.search(t.text, end))


def _negated(t: _Text, m: re.Match[str], kind: Circumstance) -> bool:
    """Whether the mention is denied in its clause (不构成自首, 未取得谅解) or taken back after it."""
    text = t.text
    clause_start = max(t.clause_start(m.start()), m.start() - 40)
    prefix = _NOT_NEGATION_RE.sub("，", text[clause_start : m.start()])[-16:]
    if kind is _C.ATTEMPT:
        if _ATTEMPT_NEGATION_RE.search(prefix):
            return True
    elif _PREFIX_NEGATION_RE.search(prefix) and not _NOT_NEGATION_RE.match(text, m.start()):
        return True
    if _SUFFIX_NEGATION_RE.match(text, m.end()):
        return True
    before = _BEFORE_RE.get(kind) if kind not in (_C.CONFESSION, _C.MINOR) else None  # those: _kept
    if before and before.search(text[clause_start : m.start()]):
        return True
    after = _AFTER_RE.get(kind)
    if after and after.match(text, m.end()):
        return True
    return False


def _kept(t: _Text, m: re.Match[str], kind: Circumstance) -> bool:
    """Context a mention needs beyond not being negated (the cue-specific conditions)."""
    text = t.text
    sent_start, _ = t.sentence(m.start())
    if kind in (_C.COMPENSATION, _C.RESTITUTION) and _QUOTED_JUDGMENT_RE.search(text, sent_start, m.start()):
        return False
    if kind is _C.RESTITUTION:
        police = [x.end() for x in _POLICE_RE.finditer(text, sent_start, m.start())]
        if police and not _OFFENDER_RE.search(text, max(police), m.start()):
            return False  # 赃款已追回，退还被害人: the police's recovery, not the defendant's 退赃
        if _RESTITUTION_NEEDS_CONTEXT_RE.match(m.group(0)):
            return bool(_AFTER_OFFENCE_RE.search(text, sent_start, m.start()))
    if kind is _C.SURRENDER and re.match(r"报警|报案|110", m.group(0)):
        victim = text.rfind("被害人", sent_start, m.start())
        if victim >= 0 and "被告" not in text[victim : m.start()]:
            return False  # the victim called the police and waited
    if kind is _C.CONFESSION and m.group(0) != "坦白":
        sent_end = t.sentence(m.start())[1]
        sentence = text[sent_start:sent_end]
        surrender_denied = bool(_SURRENDER_DENIED_RE.search(sentence))
        if re.search(r"自首|投案", text[sent_start : min(sent_end, m.end() + 24)]) and not surrender_denied:
            return False  # the 如实供述 of a 自首 is part of it
        if _BEFORE_RE[_C.CONFESSION].search(text, sent_start, m.start()) and not surrender_denied:
            return bool(_PRETRIAL_RE.search(text, sent_start, m.start()))
    if kind is _C.MINOR:
        clause_start = t.clause_start(m.start())
        clause_end = _CLAUSE_BREAK_RE.search(text, m.end())
        clause = text[clause_start : clause_end.start() if clause_end else len(text)]
        return not _BEFORE_RE[_C.MINOR].search(clause)
    return True


def _mentions(t: _Text) -> tuple[list[_Mention], list[_Mention]]:
    """The first defendant's stated mentions and the court's denials of terms of art."""
    stated: list[_Mention] = []
    denied: list[_Mention] = []
    terms = _terms()
    for kind, pattern in _compiled():
        for m in pattern.finditer(t.text):
            if kind is _C.MINOR:
                # 被告人X系未成年人 names its subject inside the match: it must be the first defendant
                named = [n for n in t.names if n in m.group(0)]
                if named and t.names and t.names[0] not in named:
                    continue
                # 被害人…出生于…，案发时未满十八周岁: the sentence's last subject before it is not a defendant
                sent_start, _ = t.sentence(m.start())
                prefix = t.text[sent_start : m.start()]
                victim = max((x.end() for x in _VICTIM_SUBJECT_RE.finditer(prefix)), default=-1)
                if victim > max((x.end() for x in _DEFENDANT_SUBJECT_RE.finditer(prefix)), default=-1):
                    continue
            elif not _about_first(t, m, kind):
                continue
            voice = _voice(t, m.start())
            term_re = terms.get(kind)
            term = bool(term_re and term_re.search(m.group(0)))
            court = voice == "court"
            mention = _Mention(kind, m.start(), m.end(), term, court)
            if _negated(t, m, kind):
                if term and voice == "court":
                    denied.append(mention)
                continue
            if not _kept(t, m, kind):
                continue
            if voice == "defence" and not _claim_accepted(t, m.end()):
                continue
            stated.append(mention)
    return stated, denied


def extract_circumstances(text: str | None) -> list[Circumstance]:
    """Sentencing circumstances the text gives the (first) defendant, in schema order.

    A mention counts when the court or the facts state it, the prosecution claims it, or the court
    accepts a defence claim of it; it does not when negated in its clause (不构成自首, 未取得谅解),
    promised or ordered (愿意赔偿, 责令退赔), done by the police (赃物已追回发还) or by someone else
    (同案人已赔偿), or said of another defendant. A denial by the court in the term of art (依法不构成
    自首, 不能认定为从犯) outweighs the facts and the parties unless the court also states the term.
    主动投案 + 如实供述 is 自首, not also 坦白 (坦白 then needs the word itself). 累犯 implies 前科.
    """
    if not text:
        return []
    # 《关于处理自首和立功…的解释》 and quoted articles (“…应当予以追缴或者责令退赔…”) name circumstances
    # they do not state
    t = _Text(_QUOTED_LAW_RE.sub("“”", _TITLE_RE.sub("《》", text)))
    stated, denied = _mentions(t)
    found: set[Circumstance] = set()
    for kind in Circumstance:
        mine = [m for m in stated if m.kind is kind]
        if not mine:
            continue
        denials = [d.start for d in denied if d.kind is kind]
        if denials and max(denials) > max((m.start for m in mine if m.term and m.court), default=-1):
            continue  # the court's last word on it is a denial
        found.add(kind)
    if _C.SURRENDER in found and _C.CONFESSION in found and not any(
        m.kind is _C.CONFESSION and (m.term or _OTHER_COUNT_RE.match(t.text[slice(*t.sentence(m.start))]))
        for m in stated
    ):
        found.discard(_C.CONFESSION)
    if _C.RECIDIVISM in found:
        found.add(_C.PRIOR_RECORD)
    return [c for c in Circumstance if c in found]


def prior_record_in_head(head: str | None) -> bool:
    """Whether the parties' paragraph states an earlier conviction (曾因犯X罪被判处…, 刑满释放)."""
    if not head:
        return False
    t = _Text(_TITLE_RE.sub("《》", head))
    for kind, pattern in _compiled():
        if kind is not _C.PRIOR_RECORD:
            continue
        if any(not _negated(t, m, kind) for m in pattern.finditer(t.text)):
            return True
    return False

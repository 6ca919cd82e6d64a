"""Names of people in running text with no role word before them (issue 19, part 3).

``anonymize.find_names`` reads names after role words (被告人X, 证人X ...) and in titles. Witnesses,
third parties and accomplices tried elsewhere are often named without one: "…、王俊荣的证言、…",
"从徐鹏达处购买", "伙同黄建华、宋艳琴、陈洪艳（均另案处理）", "刘志勇等人". The privacy rule covers every
natural person, so these are masked too, but still never by scanning for surname characters (向, 于,
和, 高, 文, 方 are surnames and common words; see anonymize's docstring). A candidate is read only
where a context cue pins it, and weighed:

* strong cues pin both ends of the name: ``从X处``, ``与X一起``, ``向X购买/借款``, ``将X打伤/带至``,
  ``对X进行``, ``致X受伤``, ``经X介绍``, or a cue after it with a delimiter or 及/和/与 before it:
  ``X的证言/供述/辩解/陈述``, ``X（另案处理/已判决/在逃）``, ``X等人``. Worth 2.
* weaker cues pin one end: ``X证实``, ``X的妻子/住处/手机``, ``伙同X`` running on into the sentence.
  Worth 1; ``伙同X、`` closed by a delimiter is worth 2.
* a list: an item of a 、-list in which a found name (or one the role words found) is an item
  (证人赵勇、楚少朋、展响辉的证言: the cue names 展响辉, the list the other two). Worth 2.

A candidate is taken at 2 points from distinct kinds of cue; one that looks like a word (a 2-character
dictionary word, or a 3-character one starting with a frequent word: 施工方, 王国强) needs 3, i.e. a
second, different cue. Every candidate passes the anonymizer's guards first: a surname from
resources/surnames.txt and one or two given characters, no publisher's pseudonym (张某, 李×1, 王甲),
no frequent word (``_is_common``, ``_looks_like_word``), no function-word surname reading (向前, 于是),
no place or organisation (杜康镇, 万通公司), no word across its first character (公安机关: 安机关).
A name once taken is masked everywhere in the case by the anonymizer, like every other name.

Measured on hand-labelled JuDGE spans by ``python -m evaluation.name_spans_report``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from indexing.anonymize import (
    _COMMON,
    _DELIMS,
    _HAN,
    _ORG_AFTER,
    _PLACE_AFTER,
    _PSEUDO_AFTER,
    _freq,
    _function_word_name,
    _given_char_ok,
    _is_pseudonym,
    _looks_like_word,
    _name_in_running_text,
    _surname_at,
    _valid_delimited,
)

STRONG = 2
WEAK = 1
#: Points a candidate needs, and a word-like one (钱包, 施工方) needs.
NEEDED = 2
NEEDED_WORDLIKE = 3
#: A 2-character candidate this frequent in jieba's dictionary is a word unless a second cue says otherwise
#: (钱包 98, 车窗 167, 初犯 27); real names are rarely listed (马蜂 22 is).
_WORD_FREQ = 10

_X = f"(?P<name>[{_HAN}]{{2,4}}?)(?:家中|家里|家)?"
#: Cues that pin both ends of the name: (cue kind, pattern).
_BOTH = (
    ("从X处", re.compile("从" + _X + "(?:处|手中|手里|那里|家中|家里)")),
    ("与X一起", re.compile("(?:与|和|同|跟|伙同|带着|带领|邀约|叫上|喊上)" + _X
                          + "(?:一起|一同|共同|合伙|结伙|相约|商量|商议|预谋|发生|见面)")),
    ("向X购买", re.compile("向" + _X + "(?:购买|购得|借款|借钱|借了|借取|索要|讨要|催要|勒索|出售|贩卖|收取|"
                           "支付|转账|行贿|赠送|送给|谎称|推销)")),
    ("将X打伤", re.compile("将" + _X + "(?:打伤|打倒|打死|捅伤|捅死|砍伤|砍死|刺伤|刺死|撞倒|撞伤|撞死|杀害|"
                           "推倒|按倒|摁倒|带至|带到|带回|拉至|拉到|约至|约到|叫至|叫到|骗至|骗到|送至|送到)")),
    ("对X进行", re.compile("对" + _X + "(?:进行|实施|拳打|殴打|持刀)")),
    ("致X受伤", re.compile("致" + _X + "(?:死亡|受伤|轻伤|重伤|轻微伤|当场死亡)")),
    ("经X介绍", re.compile("(?:经|通过)" + _X + "(?:介绍|联系)")),
)
#: Cues right after the name; the name must start after a delimiter or 及/和/与 ...: (kind, points, pattern).
_AFTER = (
    ("X的证言", STRONG, re.compile("的(?:证言|证词|陈述|供述|辩解|询问笔录|讯问笔录|笔录|辨认笔录)")),
    ("X（另案处理）", STRONG, re.compile(r"[（(](?:均|系|已)?(?:另案|已判|已被判|在逃|已死亡|另行处理|已处理|已作)")),
    ("X等人", STRONG, re.compile("等(?:人|[一二三四五六七八九十两\\d]+人)")),
    ("X证实", WEAK, re.compile("(?:证实|证明|证言|陈述|供述|辩称|供称|指认|辨认)")),
    ("X的家人", WEAK, re.compile("的(?:父亲|母亲|妻子|丈夫|儿子|女儿|哥哥|弟弟|姐姐|妹妹|家中|住处|住所|家里|手机|"
                                 "银行卡|账户|微信|支付宝|车辆|轿车|电话)")),
)
#: Verbs of the cues: a 'given name' starting with one is a surname alone and the verb (向廖追讨借款).
_CUE_VERBS = tuple(
    "购买 购得 借款 借钱 索要 讨要 催要 追讨 催讨 追要 勒索 出售 贩卖 收取 支付 转账 行贿 赠送 送给 谎称 推销 打伤 打倒 "
    "打死 捅伤 砍伤 刺伤 撞倒 撞伤 撞死 杀害 推倒 带至 拉至 进行 实施 殴打 介绍 联系 一起 一同 共同 商量 发生".split()
)
#: Words for a person that end look-alikes of names (原房主 'the former owner', 老司机, 小老板).
_PERSON_NOUNS = frozenset(
    "房主 车主 店主 业主 户主 船主 老板 老乡 司机 同事 朋友 邻居 工友 家属 亲属 民警 警察 女友 男友 妻子 丈夫 儿子 女儿 "
    "父亲 母亲 工人 职工 员工 村民 群众 客户 买家 卖家 上家 下家 上线 下线 老师 学生 同学 师傅 领导 经理".split()
)
_AFTER_RE = re.compile("|".join(f"(?P<c{i}>{p.pattern})" for i, (_, _, p) in enumerate(_AFTER)))
#: Cues before a name whose end the sentence must show (伙同黄建华、 / 伙同王乾龙将…).
_BEFORE_RE = re.compile("(?:伙同|纠集|雇佣|雇请|指使|唆使|邀约|叫上|喊上|找到|找来|联系)")
_CLOSED_AFTER = re.compile(f"[{_HAN}]{{2,4}}(?=[、，,。；;（(])")
#: A person first named in full and then by the surname alone in a cue position
#: (…一起吸食冰毒的王艳玲，以500元的价格从王手中购买): the surname is the ``s`` group.
_BACKREF = re.compile(f"(?:从|向|将|与|和|跟|同)(?P<s>[{_HAN}])(?:手中|手里|处|那里|家|购买|购得|借|一起|一同)")
_BACKREF_WINDOW = 60
_CLOSED = re.compile(f"[{_HAN}]{{2,3}}(?=[，,。；;、])")
#: Characters before a name that end what came before it (besides punctuation).
_OPENERS = frozenset("及和与同跟并或、向从将对给让叫被经由把")
#: Characters practically never in a given name: body parts (致左肩受伤, 将孙左脚打伤), 人 (杨二人) and 籍 'native of'
#: (桑日籍驾驶).
_NOT_GIVEN = frozenset("肩脚腿臂腕胸腹腰眼耳鼻嘴颈肘膝额脸背臀籍人")
#: Single given characters that make a title or kin term, not a name (易总, 王哥, 李姐).
_TITLE_GIVEN = frozenset("总哥姐叔姨嫂伯爷奶婆妈爸弟妹老师")
_RUN = re.compile(f"[{_HAN}]{{1,5}}")
_ROLE_TAIL = re.compile("(?:被告人|上诉人|被害人|受害人|证人|嫌疑人|罪犯|同案犯|辩护人|代理人)$")


def _valid(text: str, a: int, b: int, certain: bool) -> str | None:
    """``text[a:b]`` if it can be a person's name there, else None (the anonymizer's guards and more).

    ``certain``: both ends are pinned by a cue or a delimiter, so a 3-character name starting with
    a word (王国强) is judged as the anonymizer judges a delimited one.
    """
    name = text[a:b]
    s = _surname_at(text, a)
    if s is None or not 1 <= len(name) - len(s) <= 2 or _is_pseudonym(name) or _PSEUDO_AFTER.match(text, b):
        return None
    if not all(_given_char_ok(text, i) for i in range(a + len(s), b)):
        return None
    if any(c in _NOT_GIVEN for c in name[len(s) :]) or (len(name) == len(s) + 1 and name[-1] in _TITLE_GIVEN):
        return None
    if name[len(s) :].startswith(_CUE_VERBS) or name[len(s) :] in _PERSON_NOUNS:
        return None  # 向廖追讨借款: a surname alone and the verb; 原房主: 'the former owner'
    if text[b : b + 1] in _PLACE_AFTER or _ORG_AFTER.match(text, a):
        return None
    if a > 0 and text[a - 1] not in _DELIMS and _freq(text[a - 1 : a + 1]) >= _COMMON:
        return None  # 公安机关: 安机关 starts inside 公安
    if _function_word_name(name, s, text[b : b + 2], running=not certain):
        return None
    if _looks_like_word(name, s, running=not certain):
        return None
    return name


def _wordlike(name: str) -> bool:
    """True for a candidate that is also a word or starts with one (钱包, 施工方, 王国强)."""
    s = _surname_at(name, 0) or name[:1]
    if len(name) == 2:
        return _freq(name) >= _WORD_FREQ
    return len(s) == 1 and (_freq(name[:2]) >= _COMMON or _freq(name[1:]) >= _COMMON * 10)


def _opens_name(text: str, a: int) -> bool:
    """A name may start at ``a``: the start of the text, a delimiter or 及/和/与 before it."""
    return a == 0 or text[a - 1] in _DELIMS or text[a - 1] in _OPENERS


def _before_cue(text: str, e: int) -> Iterator[tuple[str, int]]:
    """The name ending at ``e`` (right before a cue), shortest plausible reading first."""
    for length in (2, 3, 4):
        a = e - length
        if a < 0 or not _opens_name(text, a) or _ROLE_TAIL.search(text, max(0, a - 4), a):
            continue  # after a role word the older finder reads the name
        name = _valid(text, a, e, certain=True)
        if name is not None:
            yield name, a
            return


def _cues(text: str, known: Sequence[str]) -> Iterator[tuple[str, str, int, int]]:
    """(candidate, cue kind, points, start) for every cue in ``text``."""
    for kind, pattern in _BOTH:
        for m in pattern.finditer(text):
            name = _valid(text, m.start("name"), m.end("name"), certain=True)
            if name is not None:
                yield name, kind, STRONG, m.start("name")
    for m in _AFTER_RE.finditer(text):
        kind, points, _ = _AFTER[int((m.lastgroup or "c0")[1:])]
        for name, a in _before_cue(text, m.start()):
            yield name, kind, points, a
    for m in _BACKREF.finditer(text):
        surname = m.group("s")
        if _surname_at(text, m.start("s")) != surname or _PSEUDO_AFTER.match(text, m.end("s")):
            continue
        for run in _CLOSED.finditer(text, max(0, m.start() - _BACKREF_WINDOW), m.start()):
            for a in range(run.start(), run.end() - 1):
                if text[a] == surname and (name := _valid(text, a, run.end(), certain=True)):
                    yield name, "X…从王手中 (surname alone)", STRONG, a
                    break
    for m in _BEFORE_RE.finditer(text):
        pos = m.end()
        run = _CLOSED_AFTER.match(text, pos)
        if run and (name := _valid(text, pos, run.end(), certain=True)):
            yield name, "伙同X、", STRONG, pos
        elif (name := _name_in_running_text(text, pos, known)) is not None and name not in known:
            if _valid(text, pos, pos + len(name), certain=False):
                yield name, "伙同X", WEAK, pos


def _list_items(text: str, start: int, end: int, anchors: Sequence[str]) -> Iterator[tuple[str, int, bool]]:
    """(item, start, closed) for the other items of the 、-list ``text[start:end]`` stands in.

    An item that is a found name is stepped over. Before the anchor an item is read like a name
    before a cue (向许靖、崔恒伟 -> 许靖); after it, an item closed by a delimiter is taken whole and
    the last one, running into the sentence, is read like running text (、陈洪艳的供述 -> 陈洪艳).
    """
    pos = start
    while pos > 0 and text[pos - 1] == "、":
        e = pos - 1
        known = next((k for k in anchors if text.endswith(k, 0, e)), None)
        if known is not None:
            pos = e - len(known)
            continue
        item = next(_before_cue(text, e), None)
        if item is not None:
            yield item[0], item[1], True
            pos = item[1]
            continue
        a = e
        while a > 0 and e - a < 6 and text[a - 1] not in _DELIMS:
            a -= 1
        if not _pseudonym_at(text, a) or not _opens_name(text, a):
            break
        pos = a  # 张某、: a pseudonym is an item too
    pos = end
    while pos < len(text) and text[pos] == "、":
        a = pos + 1
        known = next((k for k in anchors if text.startswith(k, a)), None)
        if known is not None:
            pos = a + len(known)
            continue
        run = _RUN.match(text, a)
        if run is None:
            break
        if _pseudonym_at(text, a):
            pos = a + 1
            while pos < len(text) and text[pos] not in _DELIMS and pos - a < 6:
                pos += 1
            continue
        if run.end() - a <= 4 and (run.end() >= len(text) or text[run.end()] in _DELIMS):
            yield run.group(0), a, True
            pos = run.end()
            continue
        name = _name_in_running_text(text, a, anchors)
        if name is not None:
            yield name, a, False
        break


def _pseudonym_at(text: str, a: int) -> bool:
    """A publisher's pseudonym starts at ``a`` (张某, 李某1, 王×, 柯某乙)."""
    s = _surname_at(text, a)
    return s is not None and _PSEUDO_AFTER.match(text, a + len(s)) is not None


def names_in_running_text(texts: Iterable[str], known: Iterable[str] = ()) -> list[str]:
    """People named in ``texts`` (one case) without a role word, in order of first discovery.

    ``known`` are the names the role words and the title gave; they are not returned again, but a
    list they stand in names its other items too.
    """
    texts = [t for t in texts if t]
    known = sorted(set(known), key=len, reverse=True)
    points: dict[str, dict[str, int]] = defaultdict(dict)
    for text in texts:
        for name, kind, pts, _ in _cues(text, known):
            points[name][kind] = max(points[name].get(kind, 0), pts)
    taken = [n for n in points if n not in known and _enough(n, points[n])]
    anchors = sorted(set(taken) | set(known), key=len, reverse=True)
    for text in texts:
        if "、" not in text:
            continue
        for anchor in anchors:
            start = text.find(anchor)
            while start >= 0:
                end = start + len(anchor)
                if text[start - 1 : start] == "、" or text[end : end + 1] == "、":
                    for item, a, closed in _list_items(text, start, end, anchors):
                        if _valid(text, a, a + len(item), certain=closed) and (not closed or _valid_delimited(item)):
                            points[item]["list"] = STRONG
                start = text.find(anchor, end)
    taken += [n for n in points if "list" in points[n] and n not in known and n not in taken
              and _enough(n, points[n])]
    longer = sorted(set(known) | set(taken), key=len, reverse=True)
    return [n for n in taken if not _only_inside_longer(n, longer, texts)]


def _enough(name: str, kinds: dict[str, int]) -> bool:
    """Enough points from distinct kinds of cue: 2, or 3 for a word-like candidate."""
    return sum(kinds.values()) >= (NEEDED_WORDLIKE if _wordlike(name) else NEEDED)


def _only_inside_longer(name: str, longer: Sequence[str], texts: Sequence[str]) -> bool:
    """True for 王俊 when every 王俊 in the case is the start of the found name 王俊荣."""
    for other in longer:
        if len(other) > len(name) and name in other:
            if sum(t.count(name) for t in texts) == sum(t.count(other) for t in texts):
                return True
    return False

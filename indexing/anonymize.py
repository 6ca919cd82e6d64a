"""Mask personal information in judgment text before anything is stored.

Runs in the pipeline after extraction and before quality/store (the original text is never stored),
and the search service sends query drafts through the same code, so a draft and a stored case mask
the same way. What is masked and how:

* Natural persons' names -> surname + 某 (张某); a second, different person with the same surname
  gets 张某1, then 张某2 ... The same person keeps the same placeholder in every field of a case
  (a 曾用名 shares its owner's placeholder), and a placeholder the publisher already uses in the
  text (张某1, 李某) is never given to someone else, so two people are never merged.
  Names are found **only after a role word** (被告人X，男 / 被告人X、Y、Z / 辩护人X / 被害人X /
  证人X / 审判长X / 书记员X / 检察员X / 曾用名X ...), in the parties list of a judgment title, and
  next to context cues for people named with no role word (王俊荣的证言, 从X处, X（另案处理）: see
  names_in_text.py), never by scanning for surname characters, because 向, 于, 和, 高, 文, 方 ...
  are surnames and common words at once. A candidate is 2-4 characters starting with a surname from
  resources/surnames.txt (any characters in the sure 'X，男' position), is not a frequent word
  (jieba's dictionary: 被害人陈述, 被告人单位), and in running text ends where a function character
  or a word starts (被告人张建因 -> 张建, 检察员徐培亮出庭 -> 徐培亮). Civil parties, relatives and
  verbs (原告, 妻子, 伙同) only yield names closed by punctuation, never guesses.
  Once found, every occurrence of the full name is replaced in all fields, longest name first,
  except where it is part of a place or longer word (a person 金华 does not turn 金华市 into
  金某市; 江华 in 黑龙江华鹏 stays). A given name alone (建国 for 张建国) is *not* masked: given
  names collide with words (国庆, 建国, 金华) and masking them wrecks facts; the exception is a
  title whose surname the publisher scrambled (漠修成 for 张修成), mapped to 张修成's placeholder.
* Already pseudonymized names (张某, 张某1, 刘某某, 李×1, 王x3, 张3, 符某东) are left as they are.
* Resident ID numbers (18 digits or 17 + X; 15 digits next to 身份证) -> 身份证号码××××.
* Mobile (1[3-9] + 9 digits) and landline (0xx-xxxxxxx) numbers -> 电话号码××××.
* Bank card numbers, 16-19 digits, also in groups of four -> 银行卡号××××. A 16-19 digit run in
  第...号 (a document number) is kept unless 卡/账号/账户/银行 stands just before it.
  (Where the label is already there, 身份证号码：511027..., only the digits become ××××.)
* Vehicle plates (浙G12345, 京A·12345, new-energy 粤B12345D) -> province + letter + ×××××.
* Home addresses after 住/现住/户籍所在地/户籍地/住址/暂住地 ... keep up to the county/district
  level (浙江省金华市婺城区) and mask the street and number as ××.
* Birth dates: "1984年10月26日出生" -> "1984年出生". Only the year is kept because age matters
  for sentencing (未成年, 已满七十五周岁) and a full birth date identifies a person. Other dates
  (offence, arrest, judgment) are kept: they are case facts.

The functions are pure: ``anonymize`` returns a new ``CaseRecord`` and a ``MaskReport``;
``anonymize_text`` returns a new ``NameMap`` instead of changing the one it was given. Masking an
already masked text changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources

from indexing.schema import CaseRecord

#: original name -> placeholder, kept per case so every field (and every draft of a session) agrees.
NameMap = dict[str, str]

_TEXT_FIELDS = ("facts", "reasoning", "judgment")
_MASK = "××"
_PLATE_MASK = "×"

# ---------------------------------------------------------------------------------------------
# report


@dataclass(frozen=True)
class MaskReport:
    """How much personal information one call masked (occurrences per kind) and the placeholders used."""

    names: int = 0
    id_numbers: int = 0
    phones: int = 0
    bank_cards: int = 0
    plates: int = 0
    addresses: int = 0
    birth_dates: int = 0
    placeholders: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Occurrences per kind, for ingest reports (the pipeline sums these over records)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "placeholders"}

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def __add__(self, other: MaskReport) -> MaskReport:
        merged = {k: v + other.counts()[k] for k, v in self.counts().items()}
        placeholders = tuple(dict.fromkeys(self.placeholders + other.placeholders))
        return MaskReport(**merged, placeholders=placeholders)


# ---------------------------------------------------------------------------------------------
# resources

_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_HAN_RE = re.compile(f"[{_HAN}]")
_DOTS = "·•・"


@lru_cache(maxsize=1)
def _surnames() -> tuple[frozenset[str], frozenset[str]]:
    """Single-character and two-character (compound) surnames from resources/surnames.txt."""
    text = resources.files("indexing").joinpath("resources/surnames.txt").read_text(encoding="utf-8")
    tokens = [t for line in text.splitlines() if not line.startswith("#") for t in line.split()]
    single = frozenset(t for t in tokens if len(t) == 1)
    compound = frozenset(t for t in tokens if len(t) == 2)
    return single, compound


def surnames() -> frozenset[str]:
    """All surnames the name finder knows (single and compound), e.g. for evaluation patterns."""
    single, compound = _surnames()
    return single | compound


#: Two-character words that follow a role word but are not names (jieba's dictionary misses or
#: mis-tags them as person names: 陈述 is tagged nr).
_NOT_NAMES = frozenset(
    "陈述 陈列 单位 查获 关于 全部 信任 常住 钱款 钱财 申请 原则 强行 强奸 索要 房屋 解救 信息 查处 应当 安排 "
    "许可 齐全 于今 张口 张开 雷同 宋体 和正 时被 和被 向本 向其 向原 向法 向自 于当 曾因 暨附 方面 一方 双方 "
    "家属 亲属 本人 代表 所在 住所 姓名 均系 系统 程序 签名 明知 经营 经过 文化 时间 时许 高度 程度 "
    "原审 原判 原告 原因 金额 任何 任意 宁愿 于是 向前 边控 申领".split()
)


#: Legal terms that often follow a name (被告人徐培亮出庭, 孟伟一审); jieba ranks them low.
_AFTER_NAME_TERMS = (
    "一审 二审 再审 原审 出庭 到庭 辩称 上诉 供述 辩解 提出 认为 犯有 归案 到案 投案 自首 驾车 驾驶 持刀 伙同 "
    "纠集 谅解 赔偿 退赃 退赔 签订 出具 参加 辩护 支持 履行 不服 诉称 述称 证实 证言 陈述 报警 供认".split()
)
_TERM_FREQ = 50_000
_COMMON = 100  # a 2-character word this frequent is not taken for a name in an unsure position


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, int], dict[str, int], frozenset[str]]:
    """(2-character word -> frequency, character -> frequency, frequent 3-character words).

    From jieba's dictionary plus our lists. Why: a role word is often followed by a word, not a
    name (被害人陈述, 被告人单位, 证人证言); in running text a name ends where a word starts
    (李明发现 -> 李明); and a name inside a longer word is not that person (江华 in 黑龙江华鹏).
    jieba is a project dependency; without it only the built-in lists are used.
    """
    words: dict[str, int] = {}
    chars: dict[str, int] = {}
    three: set[str] = set()
    try:
        dict_txt = resources.files("jieba").joinpath("dict.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):  # pragma: no cover - jieba is a dependency
        dict_txt = ""
    for line in dict_txt.splitlines():
        word, _, rest = line.partition(" ")
        if len(word) > 3:
            continue
        freq = rest.partition(" ")[0]
        if not freq.isdigit() or int(freq) < 5:
            continue
        if len(word) == 3:
            if int(freq) >= _COMMON and not rest.partition(" ")[2].startswith("nr"):
                three.add(word)  # 3-character words, but not the person names jieba lists (王晓东)
        else:
            (words if len(word) == 2 else chars)[word] = int(freq)
    for w in _NOT_NAMES:
        words[w] = max(words.get(w, 0), _TERM_FREQ)
    for w in _AFTER_NAME_TERMS:
        words[w] = max(words.get(w, 0), _TERM_FREQ)
    return words, chars, frozenset(three)


def load_lexicon() -> None:
    """Build the name lexicon now (about half a second, once per process) rather than in the first
    draft that names someone: a served worker calls this before it answers requests."""
    _lexicon()


def _freq(word: str) -> int:
    return _lexicon()[0].get(word, 0)


def _is_common(word: str) -> bool:
    return _freq(word) >= _COMMON


# ---------------------------------------------------------------------------------------------
# name detection

#: Role words after which a person's name may follow, longest first where they overlap. After
#: these a name is also read off running text (被告人张小春等人 -> 张小春).
_ROLES = (
    # criminal parties and participants
    "原审被告人", "原审上诉人", "被上诉人", "上诉人", "被告人", "犯罪嫌疑人", "嫌疑人", "罪犯", "同案犯", "同案人",
    "被害人", "受害人", "证人", "鉴定人", "辩护人", "法定代理人", "委托代理人", "诉讼代理人", "代理人",
    "曾用名", "又名", "化名", "别名", "绰号",
    # court, prosecution and police staff (their names are masked too)
    "审判长", "审判员", "人民陪审员", "陪审员", "书记员", "法官助理", "执行员", "检察员", "检察官", "公诉人",
    "民警", "辅警", "侦查员", "法医",
)
#: Weaker cues: only a delimited name (原告张三，/ 妻子张三、) or an already known one is taken after
#: them, never a guess from running text. Civil parties are often companies or followed by verbs
#: (被告应于, 原告索赔, 被告万通公司); relations and verbs run into words (其妻子和女儿,
#: 指使汤冒充, 妇女儿童医院). Civil parties are named delimited in the head (原告张三，男，...).
_WEAK_ROLES = (
    "原审原告", "原审被告", "原告人", "原告", "被告", "被申请人", "申请执行人", "申请人", "被执行人", "第三人",
    "法定代表人", "负责人", "担保人", "保证人", "借款人", "出借人",
    "妻子", "丈夫", "儿子", "女儿", "父亲", "母亲", "哥哥", "弟弟", "姐姐", "妹妹", "朋友", "同事", "邻居",
    "男友", "女友", "司机", "驾驶员", "老板", "伙同", "纠集", "雇佣", "指使", "唆使",
)
_ROLE_RE = re.compile(
    "(?P<role>" + "|".join(sorted(set(_ROLES + _WEAK_ROLES), key=len, reverse=True)) + r")"
    r"(?:[（(][^（()）]{1,10}[）)])?[:：]?"
)
_WEAK = frozenset(_WEAK_ROLES)
#: Characters that end a name without being part of it: punctuation, spaces, digits, latin.
_DELIMS = frozenset("，,。；;：:、（）()“”\"'‘’《》<>【】[]{}！!？?—-－/／\\|　 \t\r\n…")
#: Characters practically never inside a given name; they end a name in running text.
_NEVER_IN_NAME = frozenset(
    "被的了等及与在因系犯将把对是已都也又并即遂便就还仍未不没所持称说跟给叫伙纠雇趁这那辩诉供每该此们吗呢吧着个些"
    "处姓我你他她它其市县区省镇乡村局厂司"
)
#: Characters that may follow a name in running text (besides delimiters and ``_NEVER_IN_NAME``).
_BOUNDARY = _NEVER_IN_NAME | frozenset("和于向从到为以之家再后先时经让拿驾乘用去来共分均一附")
#: Marks of a name the publisher already pseudonymized (张某, 李×1, 王x3, 张3, 郭ｘ10, 钟**).
_PSEUDO_MARKS = frozenset("某×xXｘＸ*＊○〇0123456789０１２３４５６７８９")
_PSEUDO_AFTER = re.compile(r"[0-9０-９]*[某×xXｘＸ*＊○]")
#: 王甲, 李乙: the publishers' other scheme, a surname plus a heavenly stem.
_STEMS = frozenset("甲乙丙丁戊己庚辛壬癸")
#: Surnames that are also conjunctions: never guessed from running text (同事和老板, 朋友和他).
_CONJUNCTION_SURNAMES = frozenset("和")
#: Surnames that are common function characters: in running text their 'given name' must not be a
#: word (曾报警, 谈事情, 查验, 应适用).
_FUNCTION_SURNAMES = frozenset(
    "于向时经原全单谈曾代查容边应常连花尚索余付都由但来平公利相计门位区满支干居呼那况普阿母乌衣斯阴幸富宿印"
    "智展战初井山铁危诸"
)
#: An organization, not a person: 万通公司, 金柜公司 (a brand of at most two characters before it).
_ORG_AFTER = re.compile(
    f"[{_HAN}]{{1,2}}(?:有限公司|公司|集团|银行|信用社|合作社|医院|学校|大学|学院|超市|商行|商店|酒店|宾馆|饭店|工厂|事务所)"
)
#: A date in Chinese numerals ends a name (审判员林丽虹二〇一七年).
_CN_DATE = re.compile(r"[〇○零一二三四五六七八九十]{2,4}年")
#: "X，男" / "X，曾用名Y，女": a sure sign that X is a person's name.
_SEX_AFTER = re.compile(r"[，,]\s*(?:(?:曾用名|又名|化名|别名|绰号|小名)[^，,。]{1,20}[，,]\s*)?(?:男|女)(?:[，,。；;）)\s]|$)")
_SELF_NAMED = ("自报", "自称")
_LAWYER_ROLES = frozenset(("辩护人", "代理人", "委托代理人", "诉讼代理人"))
#: Court staff signing a judgment: '审判长李鹏 审判员…' (a name closed by a space is sure).
_STAFF_ROLES = frozenset(("审判长", "审判员", "人民陪审员", "陪审员", "书记员", "法官助理", "执行员"))
_FIRM_AFTER = re.compile(r"[、，,：:][^。；;]{0,40}?(?:律师|法律援助|法律服务)")
_MAX_RUN = 12
_RUN_RE = re.compile(f"[{_HAN}{_DOTS}]{{1,{_MAX_RUN + 1}}}")


def _surname_at(text: str, pos: int) -> str | None:
    single, compound = _surnames()
    two = text[pos : pos + 2]
    if two in compound:
        return two
    ch = two[:1]
    return ch if ch in single else None


def _is_pseudonym(item: str) -> bool:
    """True for 张某, 张某1, 李×1, 王x3, 张3, 刘某某, 符某东, 王甲 ... (left as the publisher wrote them)."""
    s = _surname_at(item, 0)
    k = len(s) if s else 1
    if "某" in item or "×" in item:
        return True
    if len(item) > k and item[k] in _PSEUDO_MARKS:
        return True
    return len(item) == k + 1 and item[k] in _STEMS


def _looks_like_word(name: str, surname: str, running: bool = False) -> bool:
    """Reject 陈述, 单位, 陈述称 ...: the candidate is a frequent word, or starts with a known non-name.

    A delimited 3-character candidate is not rejected for starting with a word (王国云, 黄海燕,
    田家兴 are names); in running text it is (被告人占有公私财物, 商量好).
    """
    if name[:2] in _NOT_NAMES:
        return True
    if len(name) == 2:
        return _is_common(name)
    if name in _lexicon()[2]:
        return True
    if len(surname) == 1 and _is_common(name[:2]):
        return running or name[2] in _BOUNDARY  # 商议后, 盘问时
    return False


def _function_word_name(name: str, surname: str, after: str, running: bool = False) -> bool:
    """True for 曾报警, 谈事情, 应于, 被告人方共计: a surname that is also a function character
    followed by a word, not a person. In a delimited position only the plain cases are refused
    (书记员连文静 is a name although 文静 is a word)."""
    given = name[len(surname) :]
    if surname in _CONJUNCTION_SURNAMES:
        return True
    if surname == "方" and (_is_common(given[:2]) or _is_common((given + after)[:2])):
        return True  # 被告人方 / 被害人方: the defendant's / the victim's side
    if surname not in _FUNCTION_SURNAMES:
        return False
    if given[:1] in _BOUNDARY or _is_common(name[:2]):
        return True  # 应于, 向两, 于上, 都承
    return running and bool(_freq(name[:2]) or _freq(given) or _freq((given + after)[:2]))


def _valid_delimited(item: str, weak: bool = False) -> str | None:
    """A name candidate that stands between a role word and a delimiter (被告人张三，/ 、张三、).

    After a weak cue (原告, 妻子 ...) any dictionary word is refused (委托原告施救、拖车).
    """
    s = _surname_at(item, 0)
    if s is None or _is_pseudonym(item):
        return None
    given = item[len(s) :]
    if not 1 <= len(given) <= 2 or not all(_HAN_RE.match(c) and c not in _NEVER_IN_NAME for c in given):
        return None
    if _function_word_name(item, s, "") or _looks_like_word(item, s):
        return None
    if weak and (_freq(item) or _freq(item[:2]) or (len(given) == 2 and _freq(given))):
        return None  # 施救, 冷库里, 父亲曾报警
    return item


def _boundary_score(text: str, pos: int) -> int:
    """How sure it is that a name may end before ``pos``: 0 = not at all, larger = surer.

    End of text, punctuation, digits, latin and function characters are sure ends; otherwise a
    word must start there (李明|发现), scored by its dictionary frequency.
    """
    if pos >= len(text):
        return _TERM_FREQ * 10
    ch = text[pos]
    if ch in _DELIMS or ch in _NEVER_IN_NAME or not _HAN_RE.match(ch) or _CN_DATE.match(text, pos):
        return _TERM_FREQ * 10
    score = _freq(text[pos : pos + 2])
    if ch in _BOUNDARY:
        score = max(score, 1)
    return score


def _given_char_ok(text: str, pos: int) -> bool:
    ch = text[pos : pos + 1]
    return (
        bool(ch)
        and _HAN_RE.match(ch) is not None
        and ch not in _NEVER_IN_NAME
        and ch not in _PSEUDO_MARKS
        and not _CN_DATE.match(text, pos)
    )


def _name_in_running_text(text: str, pos: int, known: Iterable[str]) -> str | None:
    """A name right after a role word when no delimiter closes it (被告人张小春等人, 被告人王伟持刀).

    Rule: surname + one or two given characters, where the name must be followed by a boundary
    (function character, punctuation, the start of a dictionary word). Given characters are never
    function characters (被告人张建因 -> 张建). When both lengths fit, the one followed by the more
    frequent word wins (徐培亮|出庭 over 徐培|亮出; 陈婧|退出 over 陈婧退|出人). A name already found
    in a sure position is preferred over any guess.
    """
    for name in known:  # longest first
        if text.startswith(name, pos):
            return name
    s = _surname_at(text, pos)
    if s is None or _ORG_AFTER.match(text, pos):
        return None
    g = pos + len(s)
    if not _given_char_ok(text, g) or (len(s) == 1 and text[g] in _STEMS and _boundary_score(text, g + 1)):
        return None
    one = _boundary_score(text, g + 1)
    two = _boundary_score(text, g + 2) if _given_char_ok(text, g + 1) else 0
    if _PSEUDO_AFTER.match(text, g + 1) or (two and _PSEUDO_AFTER.match(text, g + 2)):
        return None  # 贺一Ｘ, 马有某某, 李刘1某: pseudonymized by the publisher
    if two and two >= one:
        name = text[pos : g + 2]
    elif one:
        name = text[pos : g + 1]
    else:
        return None
    end = pos + len(name)
    if text[end : end + 1] in _PLACE_AFTER:
        return None  # 靖远县: a place
    if _function_word_name(name, s, text[end : end + 2], running=True):
        return None
    return None if _looks_like_word(name, s, running=True) else name


@dataclass(frozen=True)
class _Site:
    """Text after one role word: the delimited list items found there, and where an open item starts."""

    items: tuple[tuple[str, bool], ...]  # (candidate, sure) pairs of delimited items
    open_at: tuple[str, int] | None  # (text, position) of an item that runs into the sentence


def _read_site(text: str, pos: int, role: str = "") -> _Site:
    """Split 'X、Y、Z，' after a role word into items; the last one may run on into the sentence.

    Sure items (no word filter): 'X，男' / 'X，曾用名Y，女', a defence lawyer or agent list
    followed by its law firm (辩护人关心，北京市京师律师事务所律师), and court staff signing the
    judgment, closed by a space (审判长李鹏 审判员…).
    """
    items: list[tuple[str, bool]] = []
    lawyer = role in _LAWYER_ROLES
    staff = role in _STAFF_ROLES
    weak = role in _WEAK
    for _ in range(30):  # a list of at most 30 names
        if text.startswith(_SELF_NAMED, pos):
            pos += 2
        m = _RUN_RE.match(text, pos)
        if m is None:
            break
        run, j = m.group(0), m.end()
        closed = j >= len(text) or text[j] in _DELIMS
        if not closed or len(run) > _MAX_RUN:
            return _Site(tuple(items), (text, pos))
        sure = (
            bool(_SEX_AFTER.match(text, j))
            or (lawyer and len(run) <= 4 and _surname_at(run, 0) is not None and bool(_FIRM_AFTER.match(text, j)))
            or (staff and len(run) <= 4 and run[:2] not in _NOT_NAMES and (j >= len(text) or text[j].isspace()))
        )
        if sure and 2 <= len(run) and not _is_pseudonym(run):
            items.append((run, True))
        elif (name := _valid_delimited(run, weak)) is not None:
            items.append((name, False))
        elif not _is_pseudonym(run):
            # not a name by itself (张建提出，): read a name off its start like running text
            return _Site(tuple(items), (text, pos))
        elif len(run) > len(_surname_of(run)) + 3:
            break  # 王某乙的证言、: the list of names is over
        if j < len(text) and text[j] == "、":
            pos = j + 1
            continue
        break
    return _Site(tuple(items), None)


_TITLE_RE = re.compile(r"^\s*(?P<title>[^。：:；;\n]{2,200}?)(?:一审|二审|再审|重审)?刑事(?:附带民事)?(?:判决|裁定)书")
_RARE_CHAR = 300  # jieba frequency under which a title's first character is taken as a scrambled surname
_TITLE_TAIL = re.compile(r"(?:等(?:[一二三四五六七八九十\d]+人)?|犯)$")


@lru_cache(maxsize=1)
def _charge_re() -> re.Pattern[str]:
    """Charge names (with and without 罪), to find where the parties end in a title."""
    text = resources.files("indexing").joinpath("resources/criminal_charges.txt").read_text(encoding="utf-8")
    names = {line.strip() for line in text.splitlines() if line.strip()}
    names |= {n.removesuffix("罪") for n in names}
    names |= {part.strip("罪") for n in names for part in n.split("、") if len(part.strip("罪")) >= 2}
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def _title_parties(text: str, known: Iterable[str]) -> list[str]:
    """Parties named in a title: '张建、张小春敲诈勒索罪一审刑事判决书' -> [张建, 张小春].

    LeCaRDv2 titles often carry a scrambled surname (漠修成 for 张修成), so an item whose first
    character is no surname is still taken when its given name matches a known name or the
    character is rare (a scrambled one); common characters (诉 in '诉蒋礼松') are not.
    """
    m = _TITLE_RE.match(text)
    if not m:
        return []
    title = m.group("title")
    charge = _charge_re().search(title)
    if not charge or charge.start() < 2:
        return []
    parties = _TITLE_TAIL.sub("", title[: charge.start()])
    given_names = {k[len(_surname_of(k)) :] for k in known if len(k) >= 3}
    out = []
    for item in parties.split("、"):
        item = item.strip()
        if not 2 <= len(item) <= 4 or _is_pseudonym(item) or any(c in _DELIMS or c.isascii() for c in item):
            continue
        if item[-1] in _NEVER_IN_NAME or "法院" in item:
            continue
        if _surname_at(item, 0) is not None:
            if not _looks_like_word(item, _surname_of(item)):
                out.append(item)
        elif item[1:] in given_names or _lexicon()[1].get(item[0], 0) < _RARE_CHAR:
            out.append(item)
    return out


def find_names(texts: Iterable[str]) -> list[str]:
    """Natural persons' names in ``texts`` (head first), in order of first discovery.

    Two passes: names in sure or delimited positions first (被告人X，男 / 辩护人X、Y，), then names
    in running text, where an already known name is preferred over guessing its length. Then names
    with no role word before them, read off context cues (``indexing.names_in_text``).
    """
    texts = [t for t in texts if t]
    found: dict[str, None] = {}
    open_items: list[tuple[str, int, bool]] = []
    for text in texts:
        for m in _ROLE_RE.finditer(text):
            site = _read_site(text, m.end(), m.group("role"))
            for name, _sure in site.items:
                found.setdefault(name, None)
            if site.open_at is not None:
                open_items.append((*site.open_at, m.group("role") in _WEAK))
    known: list[str] = []
    for text, pos, weak in open_items:
        if len(known) != len(found):
            known = sorted(found, key=len, reverse=True)
        if weak:
            name = next((k for k in known if text.startswith(k, pos)), None)
        else:
            name = _name_in_running_text(text, pos, known)
        if name is not None:
            found.setdefault(name, None)
    # people named with no role word before them (王俊荣的证言, 从王艳玲处): a module of its own,
    # imported here because it builds on the guards above
    from indexing.names_in_text import names_in_running_text

    for name in names_in_running_text(texts, found):
        found.setdefault(name, None)
    return list(found)


# ---------------------------------------------------------------------------------------------
# placeholders


def _surname_of(name: str) -> str:
    return _surname_at(name, 0) or name[0]


def _taken(placeholder: str, texts: Iterable[str]) -> bool:
    """True if ``placeholder`` already names someone in the texts (张某 in '张某到' but not in '张某1')."""
    for text in texts:
        start = text.find(placeholder)
        while start >= 0:
            nxt = text[start + len(placeholder) : start + len(placeholder) + 1]
            if not (nxt.isdigit() or nxt == "某"):
                return True
            start = text.find(placeholder, start + 1)
    return False


_FORMER_NAME_RE = re.compile(
    f"(?P<name>[{_HAN}{_DOTS}]{{2,12}})[，,（(]\\s*(?:曾用名|又名|化名|别名)[:：]?(?P<alias>[{_HAN}{_DOTS}]{{2,12}})"
)

_ALIAS_WORD_RE = re.compile("曾用名|又名|化名|别名")


def _former_names(texts: Iterable[str], found: Iterable[str]) -> dict[str, str]:
    """'被告人羊文亮，曾用名羊文良' -> {羊文良: 羊文亮}: one person, so one placeholder."""
    known = sorted(found, key=len, reverse=True)
    names = set(known)
    same_as: dict[str, str] = {}
    for text in texts:
        if not _ALIAS_WORD_RE.search(text):  # the pattern needs one of these words; most texts have none,
            continue  # and its name part is tried at every Han character otherwise
        for m in _FORMER_NAME_RE.finditer(text):
            owner = next((k for k in known if m.group("name").endswith(k)), None)
            alias = next((k for k in known if m.group("alias").startswith(k)), None)
            if owner and alias and alias != owner and alias in names:
                same_as.setdefault(alias, owner)
    return same_as


def _assign(names: Iterable[str], name_map: Mapping[str, str], texts: list[str],
            same_as: Mapping[str, str] | None = None) -> NameMap:
    """Give every new name surname+某[n], skipping placeholders in use (in the map or in the text).

    A former name (``same_as``: 曾用名) gets its owner's placeholder.
    """
    result = dict(name_map)
    used = set(result.values())
    title_aliases: dict[str, str] = {}
    same_as = same_as or {}
    for name in names:
        if name in result or same_as.get(name) in result:
            continue
        surname = _surname_of(name)
        # a scrambled title surname: same given name as a known person -> that person's placeholder
        alias = next(
            (k for k in result if len(name) >= 3 and k != name and k[len(_surname_of(k)) :] == name[1:]), None
        )
        if alias is not None and _surname_at(name, 0) is None:
            title_aliases[name] = result[alias]
            continue
        n = 0
        while True:
            placeholder = f"{surname}某{n if n else ''}"
            if placeholder not in used and not _taken(placeholder, texts):
                break
            n += 1
        result[name] = placeholder
        used.add(placeholder)
    result.update(title_aliases)
    for alias, owner in same_as.items():
        if owner in result:
            result.setdefault(alias, result[owner])
    return result


# ---------------------------------------------------------------------------------------------
# numbers, plates, addresses, birth dates

_NB = "(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"  # no alphanumeric before
_NA = "(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"  # no alphanumeric after
_ID18_RE = re.compile(
    _NB + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXxＸｘ]" + _NA
)
_ID15_RE = re.compile(
    r"(?P<label>(?:身份证|身份号码|证件号)[^0-9０-９]{0,8})" + _NB + r"[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}" + _NA
)
_ID_LABEL = re.compile(r"(?:身份证|身份号码|证件号)[号码]*[:：为是]?\s*$")
_CARD_RE = re.compile(_NB + r"(?:\d{4}(?: \d{4}){3}(?: \d{1,3})?|\d{16,19})" + _NA)
_CARD_CONTEXT = re.compile(r"(?:卡|账号|帐号|账户|帐户|银行)[^，。；]{0,8}$")
_CARD_LABEL = re.compile(r"(?:卡号|账号|帐号|账户|帐户)(?:码)?[:：为是]?\s*$")
_MOBILE_RE = re.compile(r"(?<![0-9０-９])1[3-9]\d{9}(?![0-9０-９])")  # wx18909791009 is a phone too
_LANDLINE_RE = re.compile(_NB + r"0\d{2,3}[-－]\d{7,8}" + _NA)
_PHONE_LABEL = re.compile(r"(?:手机|电话|号码|手机号|联系方式|热线|传真|微信号?)[:：为是]?\s*$")
_PLATE_RE = re.compile(
    r"(?<![A-Za-z0-9])(?P<head>[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z])"
    r"(?P<sep>[·•・.\s]?)(?P<tail>[A-Z0-9]{5,6})(?![A-Za-z0-9])"
)
_BIRTH_BEFORE_RE = re.compile(
    r"(?P<y>[12]\d{3}|[〇零一二三四五六七八九]{4})\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月"
    r"(?:\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日)?(?=\s*(?:出生|生于|生[，,。；;）)\s]))"
)
_BIRTH_AFTER_RE = re.compile(
    r"(?P<pre>(?:出生日期|出生年月日?|出生于|生于)[:：为是]?\s*)"
    r"(?P<y>[12]\d{3}|[〇零一二三四五六七八九]{4})\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月"
    r"(?:\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日)?"
)
_ADDRESS_RE = re.compile(
    r"(?P<trigger>户籍所在地|户籍地址|户籍地|户口所在地|现住址|现住地|现住|住址|暂住地|暂住|家住|居住地|经常居住地"
    r"|(?:(?<=[，,。；;\s（(])|^)住(?![所院宿处房])|(?<=[，,。；;\s（(])户籍)"
    r"(?P<sep>[:：在于]?)(?P<addr>[^，,。；;、（()）\s]{2,60})"
)
_ADMIN_PREFIX = re.compile(
    r"(?:[^省市县区]{2,8}?(?:省|自治区))?"
    r"(?:[^省市县区]{1,9}?(?:自治州|市|州(?!市)|盟|地区))?"
    r"(?:[^省市县区镇乡村路街号]{1,8}?(?:区|县|市|旗))?"
)
_ADDRESS_HINT = re.compile(r"[省市县区州旗镇乡村街路巷号组栋幢室×*＊\d]")
_MASK_ONLY = re.compile(r"^[×*＊xXｘＸ]+$")


def _label_before(text: str, start: int, label: re.Pattern[str]) -> bool:
    return label.search(text, max(0, start - 12), start) is not None


def _mask_numbers(text: str, counts: dict[str, int]) -> str:
    """IDs, bank cards, phones (in that order, so an 18-digit ID is never read as a card)."""

    def id18(m: re.Match[str]) -> str:
        counts["id_numbers"] += 1
        return "××××" if _label_before(m.string, m.start(), _ID_LABEL) else "身份证号码××××"

    def id15(m: re.Match[str]) -> str:
        counts["id_numbers"] += 1
        return m.group("label") + "××××"

    def card(m: re.Match[str]) -> str:
        s, e = m.start(), m.end()
        context = _CARD_CONTEXT.search(m.string, max(0, s - 12), s) is not None
        doc_number = m.string[s - 1 : s] == "第" or m.string[e : e + 1] == "号"
        if doc_number and not context:
            return m.group(0)
        counts["bank_cards"] += 1
        return "××××" if _label_before(m.string, s, _CARD_LABEL) else "银行卡号××××"

    def phone(m: re.Match[str]) -> str:
        counts["phones"] += 1
        return "××××" if _label_before(m.string, m.start(), _PHONE_LABEL) else "电话号码××××"

    if any(c.isdigit() for c in text):
        text = _ID18_RE.sub(id18, text)
        text = _ID15_RE.sub(id15, text)
        text = _CARD_RE.sub(card, text)
        text = _MOBILE_RE.sub(phone, text)
        text = _LANDLINE_RE.sub(phone, text)
    return text


def _mask_plates(text: str, counts: dict[str, int]) -> str:
    def plate(m: re.Match[str]) -> str:
        tail = m.group("tail")
        if not any(c.isdigit() for c in tail):
            return m.group(0)  # 晋XXXXXX, or a word in capitals: nothing to mask
        counts["plates"] += 1
        return m.group("head") + _PLATE_MASK * len(tail)

    return _PLATE_RE.sub(plate, text)


def _mask_birth_dates(text: str, counts: dict[str, int]) -> str:
    def before(m: re.Match[str]) -> str:
        counts["birth_dates"] += 1
        return m.group("y") + "年"

    def after(m: re.Match[str]) -> str:
        counts["birth_dates"] += 1
        return m.group("pre") + m.group("y") + "年"

    if "生" not in text:
        return text
    return _BIRTH_AFTER_RE.sub(after, _BIRTH_BEFORE_RE.sub(before, text))


def _mask_addresses(text: str, counts: dict[str, int]) -> str:
    def address(m: re.Match[str]) -> str:
        addr = m.group("addr")
        if not _ADDRESS_HINT.search(addr):
            return m.group(0)  # 现在住处候审, 现住院治疗: not an address
        keep = _ADMIN_PREFIX.match(addr)
        kept = keep.group(0) if keep else ""
        rest = addr[len(kept) :]
        if not rest or _MASK_ONLY.match(rest):
            return m.group(0)
        counts["addresses"] += 1
        return m.group("trigger") + m.group("sep") + kept + _MASK

    return _ADDRESS_RE.sub(address, text)


# ---------------------------------------------------------------------------------------------
# names


#: A name directly followed by one of these is a place (金华市, 杜康镇), not that person.
_PLACE_AFTER = frozenset("省市县区镇乡")


def _inside_word(text: str, start: int, end: int) -> bool:
    """True where a found name is the tail of a longer word or a place (黑龙江华鹏, 金华市, 杜康镇)."""
    if text[end : end + 1] in _PLACE_AFTER:
        # 金华市, 杜康镇 are places; 杜旭辉区委常委 is still the person
        name = text[start:end]
        return _freq(name) > 0 or name in _lexicon()[2] or not _freq(text[end : end + 2])
    return start >= 2 and text[start - 2 : start + 1] in _lexicon()[2]


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation of all names of a case, longest first, compiled once per case."""
    ordered = sorted(set(names), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


def _mask_names(text: str, pattern: re.Pattern[str] | None, name_map: Mapping[str, str], counts: dict[str, int],
                used: dict[str, None]) -> str:
    if pattern is None:
        return text

    def repl(m: re.Match[str]) -> str:
        if _inside_word(m.string, m.start(), m.end()):
            return m.group(0)
        counts["names"] += 1
        placeholder = name_map[m.group(0)]
        used.setdefault(placeholder, None)
        return placeholder

    return pattern.sub(repl, text)


def _mask_all(texts: Iterator[str | None], pattern: re.Pattern[str] | None, name_map: Mapping[str, str]
              ) -> tuple[list[str | None], MaskReport]:
    counts = {f.name: 0 for f in fields(MaskReport) if f.name != "placeholders"}
    used: dict[str, None] = {}
    out: list[str | None] = []
    for text in texts:
        if not text:
            out.append(text)
            continue
        text = _mask_numbers(text, counts)
        text = _mask_plates(text, counts)
        text = _mask_birth_dates(text, counts)
        text = _mask_addresses(text, counts)
        text = _mask_names(text, pattern, name_map, counts, used)
        out.append(text)
    return out, MaskReport(**counts, placeholders=tuple(used))


def _name_map_for(texts: list[str], head: str | None, names: Mapping[str, str] | None) -> NameMap:
    sources = [t for t in ([head] if head else []) + texts if t]
    found = find_names(sources)
    title_source = head or (texts[0] if texts else "")
    found += [p for p in _title_parties(title_source, found) if p not in found]
    return _assign(found, names or {}, sources, _former_names(sources, found))


# ---------------------------------------------------------------------------------------------
# public API


def anonymize_text(text: str, names: NameMap | None = None, head: str | None = None
                   ) -> tuple[str, NameMap, MaskReport]:
    """Mask one text (a query draft, or one field) and return it with the updated name map.

    ``names`` carries placeholders from earlier calls for the same case or session so a person
    keeps one placeholder; it is not modified. ``head`` is the judgment head (parties section) when
    there is one: names found there are masked in ``text`` too, the head itself is not returned.
    """
    name_map = _name_map_for([text], head, names)
    (masked,), report = _mask_all(iter([text]), _names_pattern(name_map), name_map)
    return masked or "", name_map, report


def anonymize(record: CaseRecord, head: str | None = None) -> tuple[CaseRecord, MaskReport]:
    """Return a copy of ``record`` with facts, reasoning and judgment masked, and what was masked.

    ``head`` (LeCaRDv2 'query', the parties section of a full judgment) is only read for names;
    it is never stored. One name map serves all fields, so a person has one placeholder per case.
    """
    values = [getattr(record, f) for f in _TEXT_FIELDS]
    name_map = _name_map_for([v for v in values if v], head, None)
    masked, report = _mask_all(iter(values), _names_pattern(name_map), name_map)
    update = {f: v for f, v, old in zip(_TEXT_FIELDS, masked, values, strict=True) if v != old}
    return (record.model_copy(update=update) if update else record), report

"""Charge names: normalization to the canonical list and extraction of "犯X罪" from judgments.

Judgments and datasets name the same charge in several ways: CAIL writes ``[走私、贩卖、运输、制造]毒品``
without 罪, judgments use the part of a selective charge (选择性罪名) that applies (``贩卖毒品罪``
for ``走私、贩卖、运输、制造毒品罪``), and older texts keep names renamed by later amendments
(``强制猥亵妇女罪``; the former names are data of the law table, indexing.law). Retrieval compares
charges across sources, so all of these are mapped onto one canonical list
(resources/criminal_charges.txt, 469 names ending in 罪).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_CHARGE_FILE = "criminal_charges.txt"

# Spellings that are not names of their own: CAIL2018's merged or shortened labels (checked against
# the articles CAIL cites for them) and typos in the sources. Keys are written with 罪 and without
# brackets. Names changed by amendments (强制猥亵妇女罪, 非法占用耕地罪 …) are not here: they are
# data of the law table (indexing/resources/law/former_names.json), with the amendment that renamed
# them, and normalize_charge reads them from there.
_ALIASES: dict[str, str] = {
    # CAIL merges 358/359: its cases cite 刑法第三百五十八条 (组织卖淫罪) almost always.
    "组织、强迫、引诱、容留、介绍卖淫罪": "组织卖淫罪",
    # CAIL's label cites 刑法第三百六十四条 (传播淫秽物品罪) in 74 of 108 cases.
    "制造、贩卖、传播淫秽物品罪": "传播淫秽物品罪",
    "虚开增值税专用发票罪": "虚开增值税专用发票、用于骗取出口退税、抵扣税款发票罪",
    # CAIL's bare 走私 cites 刑法第一百五十一条, which holds several charges: kept as 走私罪.
    "走私罪": "走私罪",
    "生产、销售不符合安全生产标准的食品罪": "生产、销售不符合安全标准的食品罪",
    "非法吸收公共存款罪": "非法吸收公众存款罪",  # a typo in CJRC case names
    "寻衅滋罪": "寻衅滋事罪",  # a typo in LeCaRDv2
    "容留吸毒罪": "容留他人吸毒罪",
    "故意毁坏公私财物罪": "故意毁坏财物罪",
    "非法占用林地罪": "非法占用农用地罪",  # 林地 is one kind of 农用地 in 刑法第三百四十二条
    "销售不符合安全标准食品罪": "生产、销售不符合安全标准的食品罪",
    # CAIL's spelling (no 的) of the former name 生产、销售不符合卫生标准的食品罪 (see the law table)
    "生产、销售不符合卫生标准食品罪": "生产、销售不符合安全标准的食品罪",
    "抽逃资金罪": "虚假出资、抽逃出资罪",
    "非法占用农地罪": "非法占用农用地罪",
}

_BRACKETS_RE = re.compile(r"[\[\]［］【】]")
_SPACE_RE = re.compile(r"\s+")
# Text that can follow 犯/构成 and end in 罪 but is not a charge name.
_NOT_CHARGE = {
    "数罪",
    "的罪",
    "前款罪",
    "前两款罪",
    "本罪",
    "此罪",
    "该罪",
    "重罪",
    "轻罪",
    "新罪",
    "前罪",
    "余罪",
    "何罪",
    "他罪",
    "同种罪",
    "一罪",
}
_NOT_CHARGE_WORDS_RE = re.compile(
    r"罪|犯|构成|被告|指控|判决|人民|法院|余|两个|全部|部分|渎职|财产|情节|行为|^[某]"
)
_NOT_CHARGE_RE = re.compile(r"^(?:罪|有|了|下|其|本|前|该|各|数|何|什么|新|多|此|的)|[的之款项条节]|[0-9]")


@cache
def charge_list() -> tuple[str, ...]:
    """The canonical charge names, in file order."""
    text = resources.files("indexing.resources").joinpath(_CHARGE_FILE).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@cache
def _charge_set() -> frozenset[str]:
    return frozenset(charge_list())


@cache
def _variant_index() -> dict[str, str]:
    """Spellings that only differ by 帐/账 or the （边） in 偷越国（边）境, to their list entry."""
    index: dict[str, str] = {}
    for name in charge_list():
        index[name] = name
        index[name.replace("账", "帐")] = name
        if "国（边）境" in name:
            index[name.replace("国（边）境", "国境")] = name
            index[name.replace("国（边）境", "边境")] = name
            index[name.replace("（边）", "(边)")] = name
    return index


def _align(name: str, entry: str) -> int | None:
    """Characters deleted to turn ``entry`` into ``name`` by dropping whole enumerated items.

    Every deleted run must begin or end with the enumeration comma 、 ("走私、", "、运输、制造"), so
    whole alternatives are dropped, never parts of a word, and the last character is kept (runs
    at the end are handled by :func:`_deletes_whole_items`).
    """
    n, m = len(name), len(entry)
    if not n or n > m:
        return None
    # States: 0 = last char kept; 1 = deleted run that began with 、 (may end anywhere);
    # 2 = run not begun with 、 whose last deleted char is 、 (may end); 3 = run that may not end yet.
    inf = 10**9
    best = [[[inf] * 4 for _ in range(m + 1)] for _ in range(n + 1)]
    best[0][0][0] = 0
    for i in range(n + 1):
        for j in range(m):
            for s in range(4):
                cost = best[i][j][s]
                if cost >= inf:
                    continue
                ch = entry[j]
                if i < n and name[i] == ch and s != 3 and cost < best[i + 1][j + 1][0]:
                    best[i + 1][j + 1][0] = cost
                if s == 0:
                    ns = 1 if ch == "、" else 3
                elif s == 1:
                    ns = 1
                else:
                    ns = 2 if ch == "、" else 3
                if cost + 1 < best[i][j + 1][ns]:
                    best[i][j + 1][ns] = cost + 1
    result = best[n][m][0]
    return None if result >= inf else result


def _deletes_whole_items(name: str, entry: str) -> int | None:
    """Characters deleted if ``name`` selects alternatives of the selective charge ``entry``.

    走私、贩卖、运输、制造毒品罪 is cited by the alternatives that apply (贩卖毒品罪, 贩卖、运输毒品罪).
    Dropping the trailing items (窝藏、包庇罪 → 窝藏罪, 盗窃、抢夺枪支、弹药…罪 → 盗窃枪支罪) is allowed
    only for short noun items, so the object is never dropped: 走私 ≠ 走私、贩卖、运输、制造毒品罪.
    """
    if not (name.endswith("罪") and entry.endswith("罪")) or len(name) >= len(entry):
        return None
    body, entry_body = name[:-1], entry[:-1]
    candidates = [_align(body, entry_body)]
    for k, ch in enumerate(entry_body):
        if ch != "、":
            continue
        run = entry_body[k:]
        short_items = all(0 < len(item) <= 6 for item in run[1:].split("、")) and "的" not in run
        if short_items and (len(body) >= 3 or entry.count("、") == 1):
            cost = _align(body, entry_body[:k])
            candidates.append(None if cost is None else cost + len(run))
    found = [c for c in candidates if c is not None]
    return min(found) if found else None


@cache
def _former_names() -> dict[str, str]:
    """Former charge name → canonical entry, from the law table (imported late: it imports this module)."""
    from indexing.law.names import former_name_index

    return {name: row.current for name, row in former_name_index().items()}


@cache
def _selective_match(name: str, former: bool = False) -> str | None:
    """The entry ``name`` selects alternatives from, preferring the fewest deleted characters.

    Entries are the canonical list, or with ``former`` the law table's former names (出售公民个人信息罪
    is an alternative of 出售、非法提供公民个人信息罪).
    """
    best: tuple[int, str] | None = None
    chars = set(name)
    for entry in _former_names() if former else charge_list():
        if "、" not in entry or len(entry) <= len(name) or not chars <= set(entry):
            continue
        cost = _deletes_whole_items(name, entry)
        if cost is not None and (best is None or cost < best[0]):
            best = (cost, entry)
    return best[1] if best else None


def _clean(name: str) -> str:
    name = _SPACE_RE.sub("", _BRACKETS_RE.sub("", name))
    name = name.replace("(", "（").replace(")", "）").strip("，,。；;：:、")
    return name.removeprefix("犯")


def clean_charge_name(name: str) -> str | None:
    """A name as written, without brackets, spaces, a leading 犯 and with 罪; None for no name."""
    if not isinstance(name, str):
        return None
    cleaned = _clean(name)
    if not cleaned or cleaned == "罪":
        return None
    return cleaned if cleaned.endswith("罪") else cleaned + "罪"


def resolve_charge(name: str) -> tuple[str | None, str | None]:
    """(canonical name or None, the former name it was reached through or None).

    Order: exact list entry → former names of the law table (renamed by amendments) → hand aliases
    (CAIL spellings, typos) → spelling variants → selective charge alternatives of the list
    (贩卖毒品罪 → 走私、贩卖、运输、制造毒品罪), then of former names (出售公民个人信息罪 → 侵犯公民
    个人信息罪). A plausible name found nowhere is kept as written plus 罪 (e.g. CAIL's bare ``走私``),
    so no information is lost.
    """
    cleaned = clean_charge_name(name)
    if cleaned is None:
        return None, None
    if cleaned in _charge_set():
        return cleaned, None
    former = _former_names()
    if cleaned in former:
        return former[cleaned], cleaned
    if cleaned in _ALIASES:
        return _ALIASES[cleaned], None
    variant = _variant_index().get(cleaned)
    if variant:
        return variant, None
    spelled = cleaned.replace("帐", "账")
    if spelled in _charge_set():
        return spelled, None
    selected = _selective_match(spelled)
    if not selected and len(spelled) >= 5 and not spelled.startswith("非法"):
        selected = _selective_match("非法" + spelled)  # 制造、运输爆炸物罪
    if selected:
        return selected, None
    old_name = _selective_match(spelled, former=True)
    if old_name:
        return former[old_name], old_name
    if not _plausible(cleaned):
        return None, None
    return cleaned, None


def normalize_charge(name: str) -> str | None:
    """Canonical charge name with 罪, or None for empty or non-charge input (see :func:`resolve_charge`)."""
    return resolve_charge(name)[0]


_LIST_SPLIT_RE = re.compile(r"(?<=罪)\s*[、，,；;和及]\s*")


def split_charge_names(text: str) -> list[str]:
    """'盗窃罪、抢夺罪' → ['盗窃罪', '抢夺罪']; a selective name (窝藏、包庇罪) stays whole."""
    return [part for part in _LIST_SPLIT_RE.split(text.strip()) if part]


def is_canonical(name: str) -> bool:
    """Whether ``name`` is on the canonical list (normalize_charge may keep unknown names)."""
    return name in _charge_set()


def _plausible(name: str) -> bool:
    """A charge-like name: Chinese text of sensible length that is not a legal phrase."""
    body = name[:-1]
    if name in _NOT_CHARGE or not 2 <= len(body) <= 30:
        return False
    if _NOT_CHARGE_RE.search(body) or _NOT_CHARGE_WORDS_RE.search(body):
        return False
    return all("\u4e00" <= ch <= "\u9fff" or ch in "、（）" for ch in body)


# "犯" or "构成" then the candidate text up to a sentence or clause break (a name contains 、).
# 犯 after 偶/初/累/主/从/胁/罪/侵 is part of another word (偶犯, 罪犯, 侵犯…罪).
_CHARGE_CUE_RE = re.compile(r"(?<!涉嫌)(?<!嫌疑)(?<![不未侵偶初累再主从胁罪惯要])(?:犯有|犯|构成)")
_SEGMENT_STOP_RE = re.compile(r"[，,。；;：:！？\s“”\"（(]")
_MORE_RE = re.compile(r"^(?:、|和|及|以及)")
_EARLIER_RE = re.compile(
    r"(?:之前|此前|以前|曾因?|原|前|已|另案|判决(?:书)?中对[^，,。；;]{1,8}|判处[^，,。；;]{0,8}的)$"
)
_MAX_SEGMENT = 60


def _canonical_names(candidate: str) -> list[str] | None:
    """Canonical names spelled by ``candidate``, splitting lists that share one 罪.

    '贪污、受贿罪' → ['贪污罪', '受贿罪']; '制造、贩卖毒品、非法种植毒品原植物罪' → two charges;
    a selective charge such as 窝藏、包庇罪 stays whole because the whole name is tried first.
    """
    normalized = normalize_charge(candidate)
    if normalized and is_canonical(normalized):
        return [normalized]
    for i, ch in enumerate(candidate):
        if ch != "、" or i == 0:
            continue
        left = normalize_charge(candidate[:i])
        if left and is_canonical(left):
            rest = _canonical_names(candidate[i + 1 :])
            if rest:
                return [left, *rest]
    return None


def _names_at(segment: str, *, canonical_only: bool) -> tuple[list[str], int] | None:
    """The charge name(s) at the start of ``segment`` and the length read (longest canonical)."""
    ends = [i + 1 for i, ch in enumerate(segment[:_MAX_SEGMENT]) if ch == "罪"]
    for end in reversed(ends):
        names = _canonical_names(segment[:end])
        if names:
            return names, end
    if canonical_only:
        return None
    for end in ends:
        normalized = normalize_charge(segment[:end])
        if normalized:
            return [normalized], end
    return None


def charges_in(text: str, *, allow_accusation: bool = False) -> list[str]:
    """All charges named after 犯/构成 in ``text``, canonical, deduplicated, in order.

    ``allow_accusation`` keeps "指控被告人X犯Y罪" (the prosecution's claim), which is evidence only
    when a text has no judgment of its own. Negated forms (不构成X罪) are skipped. A name not on the
    list is kept only when it looks like a charge (see :func:`normalize_charge`).
    """
    found: list[str] = []
    consumed = 0
    for cue in _CHARGE_CUE_RE.finditer(text):
        if cue.start() < consumed:
            continue  # a 犯 inside a name already read (掩饰、隐瞒犯罪所得…罪)
        before = text[max(0, cue.start() - 20) : cue.start()]
        if cue.group(0) == "构成" and re.search(r"(?:不|未|并非|是否)$", before):
            continue
        if not allow_accusation and re.search(r"指控[^。；]{0,20}$", before):
            continue
        if cue.group(0) != "构成" and _EARLIER_RE.search(before):
            continue  # an earlier conviction merged into this sentence (与之前犯X罪…并罚)
        pos = cue.end()
        chained = False
        while pos < len(text):
            stop = _SEGMENT_STOP_RE.search(text, pos)
            segment = text[pos : stop.start() if stop else len(text)]
            hit = _names_at(segment, canonical_only=chained)
            if not hit:
                break
            names, length = hit
            found.extend(n for n in names if n not in found)
            consumed = pos + length
            more = _MORE_RE.match(segment[length:])
            if not more:
                break
            pos += length + more.end()
            chained = True
    return found

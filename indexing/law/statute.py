"""The 刑法 as shipped data: ``resources/law/criminal_law.jsonl``, one article per line.

Why shipped rather than read from ../shared/data/statutes/laws.db: the product and its tests must
work on a fresh machine, and the text must not change under a built index. ``export_statute``
writes the file from laws.db; a test checks the two agree when laws.db is present.

Articles are keyed by their number as judgments cite it: ``"264"``, ``"133之一"``. A paragraph (款)
is a line of the text together with the numbered items (项, lines starting with （一）) under it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from indexing.law.numerals import cn_int

STATUTE_FILE = "criminal_law.jsonl"
_SUFFIXES = ["", "之一", "之二", "之三", "之四", "之五", "之六"]
_ITEM_RE = re.compile(r"^（[一二三四五六七八九十]+）")
_ARTICLE_NO_RE = re.compile(r"^第([零〇一二三四五六七八九十百千]+)条(之[一二三四五六])?$")
_KEY_RE = re.compile(r"^(\d+)(之[一二三四五六])?$")


class Article(BaseModel):
    """One article of the 刑法 in force (2020-12-26 text, with 修正案（十二） applied)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    article: str  # "133之一": the key judgments and CAIL cite
    number: int  # 133 (laws.db's article_no_arabic; not unique, 133之一 is 133 too)
    suffix: int  # 1 for 之一, 0 for none
    part: str  # 总则 / 分则 / 附则, because chapter names repeat across parts
    chapter: str
    section: str
    text: str
    amended_by: str | None = None  # an amendment applied on top of laws.db's 刑法 text
    replaced_text: str | None = None  # the text before that amendment, for judgments decided under it

    @property
    def label(self) -> str:
        """'第一百三十三条之一', as the statute and judgments write it."""
        return article_label(self.article)

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return split_paragraphs(self.text)


def split_paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs (款) of an article: each line, with the item lines （一）… joined to the one above."""
    out: list[str] = []
    for line in text.split("\n"):
        if out and _ITEM_RE.match(line):
            out[-1] += "\n" + line
        elif line:
            out.append(line)
    return tuple(out)


def article_key(number: int, suffix: int = 0) -> str:
    return f"{number}{_SUFFIXES[suffix]}"


def parse_article_no(article_no: str) -> tuple[int, int]:
    """'第一百三十三条之一' → (133, 1); ValueError for anything else."""
    match = _ARTICLE_NO_RE.match(article_no)
    if not match:
        raise ValueError(f"not an article number: {article_no!r}")
    suffix = _SUFFIXES.index(match.group(2)) if match.group(2) else 0
    return cn_int(match.group(1)), suffix


def parse_key(key: str) -> tuple[int, int]:
    """'133之一' → (133, 1); the inverse of :func:`article_key`."""
    match = _KEY_RE.match(key)
    if not match:
        raise ValueError(f"not an article key (like '264' or '133之一'): {key!r}")
    return int(match.group(1)), _SUFFIXES.index(match.group(2)) if match.group(2) else 0


_CN_DIGITS = "零一二三四五六七八九"


def cn_numeral(n: int) -> str:
    """303 → '三百零三', 110 → '一百一十', 15 → '十五': the statute's spelling of 1–999."""
    if not 0 < n < 1000:
        raise ValueError(f"article numbers run from 1 to 999, got {n}")
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    out = ""
    if hundreds:
        out += _CN_DIGITS[hundreds] + "百"
        if tens:
            out += _CN_DIGITS[tens] + "十"
        elif ones:
            out += "零"
    elif tens:
        out += ("" if tens == 1 else _CN_DIGITS[tens]) + "十"
    if ones:
        out += _CN_DIGITS[ones]
    return out


def article_label(key: str) -> str:
    number, suffix = parse_key(key)
    return f"第{cn_numeral(number)}条{_SUFFIXES[suffix]}"


def article_names(articles: Iterable[object]) -> str:
    """刑法 article keys (133, '133之一') as the statute spells them, joined with 、 (第一百三十三条之一);
    a key that is not an article's is shown as given."""
    names = []
    for article in articles:
        try:
            names.append(article_label(str(article)))
        except ValueError:
            names.append(str(article))
    return "、".join(names)


def paragraph_label(n: int) -> str:
    return f"第{cn_numeral(n)}款"


@cache
def statute() -> dict[str, Article]:
    """All 505 articles by key, in statute order."""
    text = resources.files("indexing.resources").joinpath("law", STATUTE_FILE).read_text(encoding="utf-8")
    articles = [Article.model_validate(json.loads(line)) for line in text.splitlines() if line.strip()]
    return {a.article: a for a in articles}


def article(key: str) -> Article:
    """The article with this key; KeyError names the key when the statute has no such article."""
    try:
        return statute()[key]
    except KeyError:
        raise KeyError(f"the 刑法 has no article {key!r}") from None


def paragraph(key: str, n: int) -> str:
    """Paragraph ``n`` (1-based) of article ``key``."""
    paras = article(key).paragraphs
    if not 1 <= n <= len(paras):
        raise KeyError(f"article {key} has {len(paras)} paragraphs, not {n}")
    return paras[n - 1]

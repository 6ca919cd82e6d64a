"""Which 刑法 paragraph defines each charge of the canonical list, read from the statute's words.

The SPC/SPP 罪名 determinations name a charge after the conduct its paragraph describes, so for many
charges the name's items (放火、决水…; 非法持有、私藏枪支、弹药) stand literally in the paragraph's
conduct text (the words before the first 处). Two rules, in order:

- :func:`exact_map`: exactly one paragraph of the 分则 holds every item of the name in its conduct
  text. A longer name claims its paragraph first, so 虐待罪 is not mapped to 248 (虐待被监管人罪).
- :func:`closest_map`: for the rest, the paragraph whose conduct text holds the largest share (at
  least half) of the name's two-character words, if no other paragraph ties it.

Both were checked charge by charge against the statute; where either gets it wrong, and for every
charge neither maps, ``resources/law/charge_articles.json`` holds the curated row, which wins.
:func:`key_word_share` is the check a test applies to every mapping.
"""

from __future__ import annotations

import re
from functools import cache

from indexing.law.penalties import parse_article
from indexing.law.statute import statute

_NOT_DISTINCTIVE = set("、的（）罪")


@cache
def _paragraphs() -> tuple[tuple[str, int, str, str, bool], ...]:
    """(article, paragraph, conduct text, whole text, unit) for every paragraph of the 分则."""
    out = []
    for art in statute().values():
        if art.part != "分则":
            continue
        for info, text in zip(parse_article(art.text), art.paragraphs, strict=True):
            if info.clauses:
                first = info.clauses[0]
                conduct = first.trigger + "；".join(first.conditions)
            else:
                conduct = re.split(r"依照|。", text)[0]
            out.append((art.article, info.paragraph, conduct, text, info.unit))
    return tuple(out)


def _items(name: str) -> list[str]:
    return name.removesuffix("罪").split("、")


def exact_map(names: list[str] | tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """Charges whose name's items all stand in exactly one paragraph's conduct text → (article, paragraph)."""
    found: dict[str, tuple[str, int]] = {}
    flat = {n: n.removesuffix("罪").replace("、", "") for n in names}
    for name in sorted(names, key=lambda n: (-len(n), n)):
        claimed = {found[o] for o in found if flat[name] in flat[o]}
        items = _items(name)
        hits = [
            (art, para)
            for art, para, conduct, _, unit in _paragraphs()
            if not unit and all(item in conduct for item in items) and (art, para) not in claimed
        ]
        if len(hits) == 1:
            found[name] = hits[0]
    return found


def distinctive_chars(name: str) -> set[str]:
    return set(name) - _NOT_DISTINCTIVE


def key_word_share(name: str, text: str) -> float:
    """Share of the charge name's distinctive characters that occur in ``text``."""
    chars = distinctive_chars(name)
    return sum(ch in text for ch in chars) / len(chars) if chars else 0.0


def name_bigrams(name: str) -> set[str]:
    """The two-character words of each item of the name (no word spans the 、 between items)."""
    return {item[i : i + 2] for item in _items(name) for i in range(len(item) - 1)}


def closest_map(names: list[str] | tuple[str, ...], skip: set[str]) -> dict[str, tuple[str, int]]:
    """Charges (not in ``skip``) whose words are best covered by one paragraph's conduct text."""
    found: dict[str, tuple[str, int]] = {}
    for name in names:
        words = name_bigrams(name)
        if name in skip or not words:
            continue
        scored = sorted(
            (
                (sum(w in conduct for w in words) / len(words), art, para)
                for art, para, conduct, _, unit in _paragraphs()
                if not unit
            ),
            key=lambda t: -t[0],
        )
        if scored[0][0] >= 0.5 and scored[0][0] > scored[1][0]:
            found[name] = (scored[0][1], scored[0][2])
    return found

"""What the charge model reads and compares: folded fact text, CAIL's masked charge names, label names.

Kept apart from :mod:`indexing.charge_model` so the text rules (which a reader checks against the
data) sit in one short module, and the vote baseline can be used without a fitted model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from indexing.anonymize import surnames
from indexing.charges import normalize_charge, split_charge_names
from indexing.extract import normalize_digits

#: Neighbour charge lists of one text: the charges of each similar case, most similar first.
NeighbourCharges = Sequence[Sequence[str]]
_MASK_RE = re.compile(r"[×xXｘＸ*＊○]+")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_STEMS = "甲乙丙丁戊己庚辛壬癸"


@cache
def _name_re() -> re.Pattern[str]:
    """A pseudonymized person: a known surname, then 某/×/x (repeated), then a stem or a number."""
    names = sorted(surnames(), key=len, reverse=True)  # compound surnames first
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?:{alternatives})(?:某+|[×xXｘＸ*＊]+)(?:[{_STEMS}]|[0-9０-９]+)?")


def charge_text(text: str) -> str:
    """The facts as the charge model reads them: lower case, names and numbers folded.

    张某/李某1/王×2 → 某 and every number → 0, and masks (XX村, ×××号) → x, because CAIL and the
    product's anonymizer write the same people and amounts in many ways and a surname or an amount's
    digits must not be a feature that decides a charge.
    """
    text = _name_re().sub("某", normalize_digits(text))
    return _NUMBER_RE.sub("0", _MASK_RE.sub("x", text)).lower()


# CAIL2018 facts hide their own charge's name, article numbers and penalty words behind "××"
# (构成××罪, 实施××三起, 刑法》××××之规定, 判处××). The second kind and the third sit after or before these.
_MASKED_RE = re.compile(r"(?<![×xXｘＸ*＊])××(?![×xXｘＸ*＊])")
_NOT_CHARGE_BEFORE = ("》", "条", "×、", "判处", "以下", "以上", "适用", "宣告", "并处", "民币", "个月", "撤销", "处以")
_NOT_CHARGE_AFTER = ("之规", "的规", "规定", "、×", "至", "元", "考验", "第（", "第(", "以上", "以下", "年", "个月")


def restore_masked_charge(text: str, charges: Sequence[str]) -> str:
    """``text`` with the "××" that stand for its charges' names written out.

    Why: CAIL2018 facts mask the case's own charge names, so a model trained on them never sees the
    word a real draft often uses (抢夺其手机, 构成盗窃罪); worse, the same word in other cases' facts
    (a prior 盗窃 conviction) teaches it the opposite. Restoring the names in part of the training
    facts (seeded, :attr:`ChargeModelConfig.restore_masked`) teaches both the masked and the plain
    form. With several charges the masks get the names in turn (构成××罪、××罪 → 构成盗窃罪、抢夺罪),
    a guess for the act words, but each name is written out. Masks of article numbers and penalties
    (刑法》××××, 判处××以下) are left as they are.
    """
    names = [c.removesuffix("罪") for c in charges]
    if not names:
        return text
    turn = 0

    def put_back(m: re.Match[str]) -> str:
        nonlocal turn
        before, after = text[max(0, m.start() - 2) : m.start()], text[m.end() : m.end() + 2]
        if before.endswith(_NOT_CHARGE_BEFORE) or after.startswith(_NOT_CHARGE_AFTER):
            return m.group(0)
        turn += 1
        return names[(turn - 1) % len(names)]

    return _MASKED_RE.sub(put_back, text)


def canonical_charges(names: Sequence[str]) -> list[str]:
    """Canonical charge names with 罪 (unique, order kept) for label names as a source writes them."""
    out: list[str] = []
    for name in names:
        for part in split_charge_names(name):
            charge = normalize_charge(part)
            if charge and charge not in out:
                out.append(charge)
    return out


def vote_charges(cases: NeighbourCharges) -> list[str]:
    """The similar cases' vote: the charge most of them carry, plus any other carried by at least half.

    Ties go to the charge of the more similar case. This is the vote-only baseline, and what a draft
    gets when no fitted model is at hand.
    """
    counts: dict[str, int] = {}
    for charges in cases:
        for charge in canonical_charges(list(charges)):
            counts[charge] = counts.get(charge, 0) + 1  # dict order: first seen = most similar
    ranked = sorted(counts, key=lambda c: -counts[c])  # stable: ties keep the similarity order
    return ranked[:1] + [c for c in ranked[1:] if 2 * counts[c] >= len(cases)]

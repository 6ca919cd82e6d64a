"""Why a case is similar to a draft: shared legal elements and highlighted shared key terms.

The SPC guidance on 类案检索 defines similarity by basic facts, disputed issues and law applied, so the
explanation lists what a judge checks: the same charges and articles, which circumstances both have
and which only one has, how the quantities that drive the sentence compare, and the distinctive
terms both texts use (ranked by IDF among the cases of the draft's own type, so that 原告 and 被告 are
not a civil case's "distinctive" words), with their positions in the case's excerpt. A civil draft of
a common cause (借贷, 离婚, 交通事故) is compared by that cause's legal elements instead
(:mod:`indexing.civil_elements`): the principal, the interest rate, the guarantee, what was repaid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from indexing.civil_elements import compare_elements, family_of, read_elements
from indexing.rows import IndexRow
from indexing.schema import CaseRecord, CaseType

MAX_TERMS = 10
#: BM25's IDF of a term found in half the documents, ln 2: a term more common than that among the
#: cases of the draft's type (原告 in civil, 被告人 in criminal judgments) is never a key term, even
#: when two cases share nothing more distinctive.
COMMON_IDF = math.log(2)
EXCERPT_CHARS = 300
_QUANTITIES = ("amount_yuan", "drug_grams", "blood_alcohol_mg_100ml")
#: A number written in digits or Chinese numerals, optionally a date or time part (2013, ２０, 3.5, 二〇一三, 五年).
_NUMBER = re.compile(r"[\d〇零一二三四五六七八九十百千万亿两.,:/%\-．，：]+[年月日号时分秒]?")
_HAN = re.compile(r"[\u3400-\u9fff]")


def _ratio(a: float, b: float) -> float | None:
    return round(b / a, 2) if a else None


def compare_quantities(query: dict, case: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for key in _QUANTITIES:
        q, c = query.get(key), case.get(key)
        if q is not None and c is not None:
            out[key] = {"draft": q, "case": c, "ratio": _ratio(q, c)}
    q_inj, c_inj = query.get("injuries") or {}, case.get("injuries") or {}
    for grade in ("deaths", "serious", "minor", "slight"):
        if q_inj.get(grade) or c_inj.get(grade):
            out[f"injuries.{grade}"] = {"draft": q_inj.get(grade, 0), "case": c_inj.get(grade, 0)}
    if query.get("drug_type") and case.get("drug_type"):
        out["drug_type"] = {"draft": query["drug_type"], "case": case["drug_type"], "same": query["drug_type"] == case["drug_type"]}
    return out


def is_number_like(term: str) -> bool:
    """Whether ``term`` is a number, a date part or a code rather than a word (2013, 20, 150mg, 9900-D3, 五年).

    Why: numbers are rare in the corpus, so IDF ranks them as the most distinctive terms, yet two
    cases sharing "20" or "2013" share nothing a judge would call similar facts.
    """
    return bool(_NUMBER.fullmatch(term)) or (any(ch.isdigit() for ch in term) and not _HAN.search(term))


def ranked_terms(tokens: list[str], idf: Callable[[str], float]) -> list[str]:
    """The draft's distinct word terms (not numbers, see :func:`is_number_like`), most distinctive
    (highest IDF) first: ranked once per draft."""
    return sorted({t for t in tokens if not is_number_like(t)}, key=lambda t: (-idf(t), t))


def shared_terms(ranked: list[str], text: str) -> list[str]:
    """The most distinctive of ``ranked`` (see :func:`ranked_terms`) that also occur in the case text.

    Scanning in rank order and stopping at MAX_TERMS gives the same terms as sorting every shared
    one, without a sort (or repeated tokens) per result.
    """
    found = []
    for tok in ranked:
        if tok in text:
            found.append(tok)
            if len(found) == MAX_TERMS:
                break
    return found


def excerpt_with_highlights(text: str, terms: list[str]) -> tuple[str, list[dict]]:
    """An excerpt around the first shared term, and the [start, end) spans of every shared term in it."""
    first = min((text.find(t) for t in terms if t in text), default=0)
    start = max(0, first - 60)
    excerpt = text[start : start + EXCERPT_CHARS]
    spans = []
    for term in terms:
        pos = excerpt.find(term)
        while pos >= 0:
            spans.append({"start": pos, "end": pos + len(term), "term": term})
            pos = excerpt.find(term, pos + len(term))
    spans.sort(key=lambda s: s["start"])
    return ("…" if start else "") + excerpt + ("…" if start + EXCERPT_CHARS < len(text) else ""), [
        {**s, "start": s["start"] + (1 if start else 0), "end": s["end"] + (1 if start else 0)} for s in spans
    ]


class Explainer:
    """The ``why`` of each result for one draft; what depends on the draft alone is computed once."""

    def __init__(self, draft: CaseRecord, tokens: list[str], idf: Callable[[str], float]) -> None:
        """``idf``: how distinctive a term is, best among the cases of the draft's type
        (:meth:`indexing.search_index.SearchIndex.term_weights`)."""
        self.family = family_of(draft.cause, draft.facts or "") if draft.case_type == CaseType.CIVIL else None
        self.elements = read_elements(self.family, draft.facts or "") if self.family else {}
        self.charges = draft.charges
        self.articles = set(draft.articles)
        self.circumstances = {c.value for c in draft.circumstances}
        self.quantities = draft.quantities.model_dump(mode="json")
        self.terms = [t for t in ranked_terms(tokens, idf) if idf(t) > COMMON_IDF]

    def why(self, case: IndexRow) -> dict:
        """``case`` is a stored display row (see indexing.rows.display_row)."""
        case_circ = set(case.get("circumstances") or [])
        case_charges = case.get("charges", [])
        return {
            "shared_charges": [c for c in self.charges if c in case_charges],
            "shared_articles": sorted(self.articles & set(case.get("articles") or [])),
            "shared_circumstances": sorted(self.circumstances & case_circ),
            "circumstances_only_in_draft": sorted(self.circumstances - case_circ),
            "circumstances_only_in_case": sorted(case_circ - self.circumstances),
            "quantities": compare_quantities(self.quantities, case.get("quantities") or {}),
            "key_terms": shared_terms(self.terms, case.get("facts") or ""),
            "elements": self._elements(case),
        }

    def _elements(self, case: IndexRow) -> list[dict]:
        """The civil elements of the draft's cause family, compared with a civil case of the same family."""
        if self.family is None or case.get("case_type") != CaseType.CIVIL.value:
            return []
        if family_of(case.get("cause"), case.get("facts") or "") is not self.family:
            return []
        return compare_elements(self.family, self.elements, read_elements(self.family, case.get("facts") or ""))

"""Build ``resources/law/derived.json``: each charge's article, paragraph and statutory brackets.

    python -m indexing.law.derive

Inputs are the shipped statute (criminal_law.jsonl), the canonical charge list and the curated
``charge_articles.json``. The output is committed, so loading the law table costs one JSON read;
a test re-derives it and fails when the committed file is stale.

A charge's brackets are the clauses of its defining paragraph, the paragraphs after it that add
brackets (犯前款罪，致人重伤的…), the curated extra paragraphs (放火罪's 115(1)), and, for a paragraph
that says "依照前款/第X款/本法第X条的规定处罚", the clauses it refers to. 单位犯罪 paragraphs are not
individual brackets and are skipped, except for charges only a unit commits (单位受贿罪), where the
brackets are those of the unit's responsible persons. Brackets are ordered by severity: 0 is the
basic one; 情节较轻 brackets get -1, -2 below it.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

from indexing.charges import charge_list
from indexing.law.charge_map import closest_map, exact_map
from indexing.law.data import read_resource
from indexing.law.models import Bracket, Clause
from indexing.law.penalties import ParagraphPenalties, parse_article
from indexing.law.statute import article, article_label, paragraph_label
from indexing.schema import OutcomeType

CURATED_FILE = "charge_articles.json"
DERIVED_FILE = "derived.json"
TARGET = Path(__file__).resolve().parents[1] / "resources" / "law" / DERIVED_FILE
_LIFE_RANK, _DEATH_RANK = 1000, 2000


@cache
def _parsed(key: str) -> tuple[ParagraphPenalties, ...]:
    return tuple(parse_article(article(key).text))


def _continuations(key: str, para: int) -> list[int]:
    """Paragraphs after ``para`` that add brackets to its charge, up to the next charge's paragraph."""
    out: list[int] = []
    for info in _parsed(key)[para:]:
        if info.unit or not info.clauses:
            continue
        if not info.continues:
            break
        out.append(info.paragraph)
    return out


def _penalty_paragraphs(
    key: str, para: int | None, *, allow_unit: bool, depth: int = 0
) -> list[tuple[str, int]]:
    """(article, paragraph) pairs whose clauses are the brackets, following 依照…的规定处罚 references."""
    if depth > 4:
        raise ValueError(f"reference chain too long at article {key}")
    paras = _parsed(key)
    if para is None:  # 依照本法第X条的规定处罚: the article's first paragraph with penalties
        for info in paras:
            if (info.clauses and not info.unit) or info.refers_to:
                return _penalty_paragraphs(key, info.paragraph, allow_unit=False, depth=depth + 1)
        return []
    info = paras[para - 1]
    if info.clauses and (allow_unit or not info.unit):
        return [(key, para)] + [(key, p) for p in _continuations(key, para)]
    if info.refers_to:
        target, targets = info.refers_to
        target = target or key
        out: list[tuple[str, int]] = []
        for p in targets or (None,):
            # an explicit reference may point at a unit-crime paragraph (185之一(2) → (1)): the persons
            # it punishes are the referring paragraph's responsible persons
            out += _penalty_paragraphs(target, p, allow_unit=p is not None, depth=depth + 1)
        return out
    return []


def _rank(c: Clause) -> tuple[int, int, int]:
    """Severity: the lowest punishment, then the highest, then text order."""
    if c.min_months is not None:
        floor = c.min_months
    else:
        floor = _LIFE_RANK if OutcomeType.LIFE in c.penalties else _DEATH_RANK
    if OutcomeType.DEATH in c.penalties:
        ceiling = _DEATH_RANK
    elif OutcomeType.LIFE in c.penalties:
        ceiling = _LIFE_RANK
    else:
        ceiling = c.max_months or 0
    return floor, ceiling, c.order


def order_brackets(clauses: list[tuple[str, Clause]]) -> list[Bracket]:
    """Index clauses by severity: basic 0, heavier 1, 2 …; 情节较轻 ones −1, −2 … below the basic one."""
    regular = sorted((pair for pair in clauses if not pair[1].lighter), key=lambda p: (_rank(p[1]), p[0]))
    lighter = sorted(
        (pair for pair in clauses if pair[1].lighter), key=lambda p: (_rank(p[1]), p[0]), reverse=True
    )
    out = [Bracket(index=i, article=art, **c.model_dump()) for i, (art, c) in enumerate(regular)]
    out += [Bracket(index=-1 - i, article=art, **c.model_dump()) for i, (art, c) in enumerate(lighter)]
    return sorted(out, key=lambda b: b.index)


def _split(ref: str) -> tuple[str, int]:
    key, para = ref.split(":")
    return key, int(para)


def derive_charge(name: str, key: str, para: int, row: dict, mapping: str) -> dict:
    """One charge's derived row: mapping, brackets (as dicts), where the penalties are, the source."""
    if "penalty" in row:
        pen_key, pen_para = row["penalty"]
        where = _penalty_paragraphs(pen_key, pen_para, allow_unit=False)
    else:
        where = _penalty_paragraphs(key, para, allow_unit=True)
    for extra in row.get("extra", []):
        where += _penalty_paragraphs(*_split(extra), allow_unit=False)
    clauses: list[tuple[str, Clause]] = []
    for art, p in where:
        picked = _parsed(art)[p - 1].clauses
        if (art, p) == (key, para) and "clauses" in row:
            picked = [c for c in picked if c.order in row["clauses"]]
        clauses += [(art, c) for c in picked]
    if not clauses:
        raise ValueError(f"{name}: no penalty clause found from {key}({para}); curate 'penalty' or 'extra'")
    brackets = order_brackets(clauses)
    unit_only = any(_parsed(art)[p - 1].unit for art, p in where)
    cited = f"刑法{article_label(key)}{paragraph_label(para)}"
    return {
        "name": name,
        "article": key,
        "paragraph": para,
        "penalty_article": where[0][0],
        "unit_only": unit_only,
        "mapping": mapping,
        "source": cited,
        "brackets": [b.model_dump(mode="json", exclude_defaults=True) for b in brackets],
    }


def derive() -> dict:
    """The whole derived table (what ``python -m indexing.law.derive`` writes)."""
    curated = read_resource(CURATED_FILE)
    rows = {r["charge"]: r for r in curated["rows"]}
    names = charge_list()
    unknown = sorted(set(rows) - set(names))
    if unknown:
        raise ValueError(f"{CURATED_FILE} names charges not on the canonical list: {unknown}")
    exact = exact_map(names)
    closest = closest_map(names, skip=set(exact))
    charges, unmapped = [], []
    for name in names:
        row = rows.get(name, {})
        if "unmapped" in row:
            unmapped.append({"charge": name, "reason": row["unmapped"]})
            continue
        if "article" in row:
            key, para, mapping = row["article"], row["paragraph"], "curated"
        elif name in exact:
            (key, para), mapping = exact[name], "auto_exact"
        elif name in closest:
            (key, para), mapping = closest[name], "auto_closest"
        else:
            raise ValueError(f"{name}: no paragraph found from the statute's words and no curated row")
        charges.append(derive_charge(name, key, para, row, mapping))
    counts: dict[str, int] = {}
    for c in charges:
        counts[c["mapping"]] = counts.get(c["mapping"], 0) + 1
    counts["unmapped"] = len(unmapped)
    counts["brackets"] = sum(len(c["brackets"]) for c in charges)
    return {
        "about": "Generated by python -m indexing.law.derive from criminal_law.jsonl, the charge list and "
        f"{CURATED_FILE}; do not edit by hand.",
        "counts": counts,
        "names_source": curated["source"],
        "charges": charges,
        "unmapped": unmapped,
    }


def to_json(table: dict) -> str:
    """One charge a line, so a change to the statute or the curated rows shows as a readable diff."""
    lines = ["{"]
    for key, value in table.items():
        if isinstance(value, list):
            rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in value)
            lines.append(f' "{key}": [\n{rows}\n ],')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


def main() -> int:
    table = derive()
    TARGET.write_text(to_json(table), encoding="utf-8")
    print(f"wrote {TARGET}: {table['counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

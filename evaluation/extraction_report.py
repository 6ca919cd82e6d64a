"""How well extraction reads real judgments: outcome, articles and charges on the 501 JuDGE texts.

Figures (all on ``judge_fulltext/judgments.json``, full judgments with ``la`` article labels):

1. outcome: share of judgments where :func:`parse_outcome` finds a sentence, and its type mix;
   articles: micro precision / recall of :func:`extract_articles` (reasoning + judgment) against
   ``la`` (note ``la`` itself misses some articles the 依照 clause cites, so precision is a floor);
   charges: share with ≥ 1 charge, share of names on the canonical list, and agreement of the
   extracted set with (a) a simple independent reading of "犯X罪" in 判决如下, (b) the
   prosecution's accusation in the head (指控…犯X罪; courts sometimes change the charge) and
   (c) the document title where one names the charge ("陈国轮贩卖毒品罪一审刑事判决书").
2. gold: agreement of :func:`parse_outcome` with 50 hand-labelled outcomes
   (tests/indexing/outcome_gold_50.json, sampled with ``random.Random(2024).sample(range(501), 50)``
   and labelled by reading each 判决如下 section).

Run: ``python -m evaluation.extraction_report [DATA_DIR]`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from evaluation.output import emit_json
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.charges import charges_in, is_canonical, normalize_charge, split_charge_names
from indexing.errors import SourceError
from indexing.extract import extract_articles, extract_charges, parse_outcome, split_sections
from indexing.schema import Outcome

GOLD_PATH = Path(__file__).resolve().parents[1] / "tests" / "indexing" / "outcome_gold_50.json"
JUDGE_FILE = Path("judge_fulltext") / "judgments.json"

_SIMPLE_CONVICTION_RE = re.compile(r"犯([^，,。；;：:\s]{2,40}?罪)[，,；;。]")
_ACCUSATION_RE = re.compile(r"指控(?:原审)?被告人[^，。；]{1,30}?犯([^，。；]{2,80}罪)")
_TITLE_RE = re.compile(
    r"^(?:文书内容\s*)?(\S{2,60}?)(?:罪)?(?:案的)?(?:一审|二审)?刑事(?:附带民事)?判决书\s*\S+法院"
)


def load_judgments(data_dir: Path | str) -> list[dict[str, Any]]:
    """The JuDGE full judgments; raises SourceError naming the missing path."""
    path = Path(data_dir) / JUDGE_FILE
    if not path.is_file():
        raise SourceError(
            f"JuDGE judgments not found: {path}. The extraction report needs the shared data folder "
            f"(../shared/data with {JUDGE_FILE}); pass its location as the first argument."
        )
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _names(raw: str) -> set[str]:
    """Canonical names in '盗窃罪、诈骗罪' or '职务侵占、诈骗罪' (a list sharing one 罪)."""
    out: set[str] = set()
    for part in split_charge_names(raw):
        name = normalize_charge(part)
        if name and not is_canonical(name) and "、" in part:
            out.update(charges_in("犯" + part, allow_accusation=True) or [name])
        elif name:
            out.add(name)
    return out


def _outcome_matches(got: Outcome | None, gold: dict[str, Any]) -> dict[str, bool]:
    def same(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)

    if got is None:
        return {"type": False, "months": False, "probation_months": False, "fine_yuan": False, "all": False}
    fields = {
        "type": got.type.value == gold["type"],
        "months": same(got.months, gold["months"]),
        "probation_months": same(got.probation_months, gold["probation_months"]),
        "fine_yuan": same(got.fine_yuan, gold["fine_yuan"]),
        "confiscation": got.confiscation == bool(gold.get("confiscation", False)),
    }
    fields["all"] = all(fields.values())
    return fields


def gold_agreement(rows: list[dict[str, Any]], gold_path: Path = GOLD_PATH) -> dict[str, Any]:
    """Per-field and exact agreement of parse_outcome with the hand-labelled gold outcomes."""
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    by_id = {r["text_id"]: r for r in rows}
    counts: Counter[str] = Counter()
    mismatches: list[str] = []
    for record in gold:
        row = by_id.get(record["text_id"])
        got = parse_outcome(split_sections(row["fd"]).judgment) if row else None
        result = _outcome_matches(got, record)
        counts.update(k for k, v in result.items() if v)
        if not result["all"]:
            mismatches.append(record["text_id"])
    return {
        "n": len(gold),
        "exact": counts["all"],
        "per_field": {
            k: counts[k] for k in ("type", "months", "probation_months", "fine_yuan", "confiscation")
        },
        "mismatches": mismatches,
    }


def extraction_figures(
    data_dir: Path | str = DEFAULT_BENCHMARK_DATA, gold_path: Path = GOLD_PATH
) -> dict[str, Any]:
    """Figures 1 and 2 of the module docstring, as a JSON-ready dict."""
    rows = load_judgments(data_dir)
    outcome_types: Counter[str] = Counter()
    tp = fp = fn = 0
    with_charge = canonical = total_names = 0
    agree_simple = agree_accusation = n_accusation = agree_title = n_title = 0
    for row in rows:
        full = row["fd"]
        sections = split_sections(full)
        outcome = parse_outcome(sections.judgment)
        outcome_types[outcome.type.value if outcome else "none"] += 1

        cited = set(extract_articles("\n".join(p for p in (sections.reasoning, sections.judgment) if p)))
        labelled = set(row.get("la") or [])
        tp += len(cited & labelled)
        fp += len(cited - labelled)
        fn += len(labelled - cited)

        charges = extract_charges(full)
        extracted = set(charges)
        with_charge += bool(charges)
        canonical += sum(is_canonical(c) for c in charges)
        total_names += len(charges)

        simple: set[str] = set()
        for m in _SIMPLE_CONVICTION_RE.finditer(sections.judgment or ""):
            simple |= _names(m.group(1))
        agree_simple += simple == extracted
        accused: set[str] = set()
        for m in _ACCUSATION_RE.finditer(sections.head or ""):
            accused |= _names(m.group(1))
        if accused:
            n_accusation += 1
            agree_accusation += accused == extracted
        title = _TITLE_RE.match(full)
        if title:  # "陈国轮贩卖毒品罪一审刑事判决书": the charge is a suffix after the name
            n_title += 1
            text = title.group(1)
            agree_title += any(normalize_charge(text[i:]) in extracted for i in range(len(text) - 1))
    n = len(rows)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "judgments": n,
        "outcome": {
            "parsed": n - outcome_types["none"],
            "parsed_share": round((n - outcome_types["none"]) / n, 4),
            "types": dict(outcome_types.most_common()),
        },
        "articles_vs_la": {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        },
        "charges": {
            "with_charge": with_charge,
            "with_charge_share": round(with_charge / n, 4),
            "names": total_names,
            "canonical_names": canonical,
            "agree_with_simple_judgment_reading": agree_simple,
            "heads_with_accusation": n_accusation,
            "agree_with_accusation": agree_accusation,
            "titles": n_title,
            "title_charge_extracted": agree_title,
        },
        "outcome_gold": gold_agreement(rows, gold_path),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_BENCHMARK_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, help="also write the JSON report here (with commit, date, machine, command)")
    args = parser.parse_args(argv)
    try:
        figures = extraction_figures(args.data_dir)
    except SourceError as exc:
        print(f"extraction_report: {exc}", file=sys.stderr)
        return 2
    emit_json(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

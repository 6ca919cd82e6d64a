"""Precision and recall of name masking on the hand-labelled JuDGE spans (issue 19, part 3).

The gold set (``tests/indexing/data/name_spans_gold.jsonl``, drawn by ``evaluation.name_spans_sample``)
holds spans of the JuDGE full texts that look like names, each labelled by a reader: is it a natural
person's name? Each judgment is anonymized as one text (``anonymize_text``), and a span counts as
masked where one of the case's found names is replaced over it, found with the same pattern and the
same place/word guard (``_inside_word``) the masking uses, on the original text (the masking itself
runs after numbers and addresses are masked, which never touches these spans). Then:

* a name is a true positive only when the whole span is masked; a name masked only in part
  (王俊 of 王俊荣) still leaks and is counted as ``partial`` (a miss, not a hit);
* a non-name is a false positive when any of its characters is masked.

Both splits are reported (the finder was tuned on DEV only). ``--split DEV`` scores one split, so
tuning never shows TEST figures. Run
``python -m evaluation.name_spans_report [--data DIR] [--split DEV|TEST] [--out FILE]``; with ``--out`` the
JSON is written with its provenance (``docs/benchmarks/name_spans.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from evaluation.name_spans_sample import GOLD, JUDGMENTS
from evaluation.output import emit_json
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.anonymize import _inside_word, _names_pattern, anonymize_text

SPLITS = ("DEV", "TEST")


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The labelled spans (rows still unlabelled are left out)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("is_person_name") is not None]


@lru_cache(maxsize=1)
def _judgments(data_dir: Path) -> tuple[str, ...]:
    with (data_dir / JUDGMENTS).open(encoding="utf-8") as fh:
        return tuple(json.loads(line)["fd"] for line in fh if line.strip())


def masked_intervals(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every place where anonymizing ``text`` replaces a person's name."""
    _, name_map, _ = anonymize_text(text)
    pattern = _names_pattern(name_map)
    if pattern is None:
        return []
    return [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(text)
            if not _inside_word(text, m.start(), m.end())]


def _covered(intervals: Iterable[tuple[int, int, str]], start: int, end: int) -> tuple[bool, bool, str]:
    """(whole span masked, any character masked, the masked names overlapping it)."""
    chars = set()
    names = []
    for s, e, name in intervals:
        if s < end and e > start:
            chars |= set(range(max(s, start), min(e, end)))
            names.append(name)
    return len(chars) == end - start, bool(chars), "、".join(names)


def _scores(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    tp = sum(o["label"] and o["whole"] for o in outcomes)
    partial = sum(o["label"] and o["any"] and not o["whole"] for o in outcomes)
    fn = sum(o["label"] and not o["whole"] for o in outcomes)
    fp = sum(not o["label"] and o["any"] for o in outcomes)
    names = sum(o["label"] for o in outcomes)
    return {"spans": len(outcomes), "names": names, "tp": tp, "fp": fp, "fn": fn, "partial": partial,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / names, 3) if names else None}


def score(gold: list[dict[str, Any]], data_dir: Path = DEFAULT_BENCHMARK_DATA) -> dict[str, Any]:
    """Precision/recall per split and per stratum, and the spans scored wrong, for ``gold`` rows."""
    texts = _judgments(Path(data_dir))
    anonymize_text("预热")  # the lexicon loads outside the timing
    intervals: dict[int, list[tuple[int, int, str]]] = {}
    start = time.perf_counter()
    for doc in sorted({r["doc"] for r in gold}):
        intervals[doc] = masked_intervals(texts[doc])
    seconds = time.perf_counter() - start
    outcomes = []
    for r in gold:
        text = texts[r["doc"]]
        end = r["offset"] + len(r["span"])
        if text[r["offset"] : end] != r["span"]:
            raise ValueError(f"gold span {r['span']!r} is not at doc {r['doc']} offset {r['offset']}: "
                             "the data differs from the one the gold set was drawn from")
        whole, anything, names = _covered(intervals[r["doc"]], r["offset"], end)
        outcomes.append({**r, "label": bool(r["is_person_name"]), "whole": whole, "any": anything,
                         "masked_as": names})
    result: dict[str, Any] = {"splits": {}, "by_stratum": {}, "wrong": {}}
    for split in SPLITS:
        rows = [o for o in outcomes if o["split"] == split]
        if not rows:
            continue
        result["splits"][split] = _scores(rows)
        result["by_stratum"][split] = {s: _scores([o for o in rows if o["stratum"] == s])
                                       for s in sorted({o["stratum"] for o in rows})}
        result["wrong"][split] = [
            {k: o[k] for k in ("doc", "offset", "span", "stratum", "masked_as", "context")}
            | {"error": "missed" if o["label"] and not o["any"] else "partial" if o["label"] else "false positive"}
            for o in rows if (o["label"] and not o["whole"]) or (not o["label"] and o["any"])
        ]
    result["documents"] = len(intervals)
    result["seconds"] = round(seconds, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--split", choices=SPLITS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not (args.data / JUDGMENTS).is_file():
        print(json.dumps({"error": f"{args.data / JUDGMENTS} not found"}))
        return 2
    gold = [r for r in load_gold(args.gold) if args.split in (None, r["split"])]
    result = {"gold": str(args.gold.relative_to(GOLD.parents[3])) if args.gold == GOLD else str(args.gold),
              **score(gold, args.data)}
    emit_json(result, args.out, command="python -m evaluation.name_spans_report"
              + (f" --split {args.split}" if args.split else "") + (f" --out {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

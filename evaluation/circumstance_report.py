"""How well ``extract_circumstances`` reads 量刑情节 from plain facts, against the hand-labelled gold set.

The gold set is ``tests/indexing/circumstances_gold/{dev,test}.jsonl`` (372 real CAIL/JuDGE texts
labelled by reading; how they were drawn and the labelling rules are in that folder's README). For
each split and each of the 16 circumstances the report counts true positives, false positives and
false negatives over texts and gives precision, recall and F1 (None where undefined: no predictions
or no gold positives), plus micro averages over all circumstances and over the ten that the
sentencing guideline adjusts most (:data:`NAMED`). A ``minor_fresh`` section measures 未成年 alone on
``minor_fresh.jsonl``, a set drawn later, held out until its first measurement (see the gold README).

``--extract-file`` measures another copy of ``indexing/extract.py`` (e.g. the one before a change:
``git show <commit>:indexing/extract.py > /tmp/old_extract.py``), so a before/after pair is measured
by the same code on the same texts. ``--errors dev`` prints the dev errors for tuning; the test
errors are for the final report only.

Run: ``python -m evaluation.circumstance_report --out docs/benchmarks/circumstances.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.output import emit_json, provenance
from indexing.schema import Circumstance

REPO = Path(__file__).resolve().parents[1]
GOLD_DIR = REPO / "tests" / "indexing" / "circumstances_gold"
SPLITS = ("dev", "test")
#: A held-out set for 未成年 alone, drawn after the gold set by ``evaluation.minor_fresh_sample``.
MINOR_FRESH = GOLD_DIR / "minor_fresh.jsonl"
#: The circumstances the gold test must hold at precision and recall >= 0.9.
NAMED: tuple[Circumstance, ...] = (
    Circumstance.SURRENDER,
    Circumstance.CONFESSION,
    Circumstance.PLEA_LENIENCY,
    Circumstance.RECIDIVISM,
    Circumstance.FORGIVENESS,
    Circumstance.COMPENSATION,
    Circumstance.RESTITUTION,
    Circumstance.ATTEMPT,
    Circumstance.ACCESSORY,
    Circumstance.MINOR,
)

Extractor = Callable[[str | None], list[Circumstance]]


@dataclass(frozen=True)
class GoldText:
    """One labelled text of the gold set."""

    draw: int
    source: str
    source_id: str
    split: str
    text: str
    labels: frozenset[Circumstance]
    evidence: dict[str, str]


@dataclass(frozen=True)
class Counts:
    """Text-level confusion counts of one circumstance."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None

    def as_dict(self) -> dict[str, Any]:
        def rnd(x: float | None) -> float | None:
            return round(x, 4) if x is not None else None

        return {
            "gold": self.tp + self.fn,
            "predicted": self.tp + self.fp,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": rnd(self.precision),
            "recall": rnd(self.recall),
            "f1": rnd(self.f1),
        }


def load_gold(split: str, gold_dir: Path = GOLD_DIR) -> list[GoldText]:
    """The labelled texts of one split; raises FileNotFoundError naming the missing file."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {SPLITS}")
    path = gold_dir / f"{split}.jsonl"
    out: list[GoldText] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            out.append(
                GoldText(
                    draw=r["draw"],
                    source=r["source"],
                    source_id=r["source_id"],
                    split=r["split"],
                    text=r["text"],
                    labels=frozenset(Circumstance(c) for c in r["labels"]),
                    evidence=r["evidence"],
                )
            )
    return out


def load_minor_fresh(path: Path = MINOR_FRESH) -> list[GoldText]:
    """The fresh 未成年 held-out set: texts labelled for 未成年 only (every other label is unknown)."""
    out: list[GoldText] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out.append(
                    GoldText(
                        draw=r["draw"],
                        source=r["source"],
                        source_id=r["source_id"],
                        split="minor_fresh",
                        text=r["text"],
                        labels=frozenset(Circumstance(c) for c in r["labels"]),
                        evidence=r["evidence"],
                    )
                )
    return out


def minor_fresh_counts(extractor: Extractor, path: Path = MINOR_FRESH) -> Counts:
    """未成年 on the fresh held-out set (measured only, never tuned on)."""
    fresh = load_minor_fresh(path)
    return score(fresh, predict(extractor, fresh))[Circumstance.MINOR]


def load_extractor(extract_file: Path | None) -> Extractor:
    """``extract_circumstances`` of the package, or of another copy of extract.py (for a 'before')."""
    if extract_file is None:
        from indexing.extract import extract_circumstances

        return extract_circumstances
    spec = importlib.util.spec_from_file_location("_extract_under_test", extract_file)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load {extract_file} as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.extract_circumstances


def predict(extractor: Extractor, gold: Iterable[GoldText]) -> list[frozenset[Circumstance]]:
    """The extractor's circumstances for each text, in order."""
    return [frozenset(extractor(g.text)) for g in gold]


def score(gold: list[GoldText], predicted: list[frozenset[Circumstance]]) -> dict[Circumstance, Counts]:
    """Per-circumstance text-level counts."""
    out: dict[Circumstance, Counts] = {}
    for c in Circumstance:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if c in g.labels and c in p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if c not in g.labels and c in p)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if c in g.labels and c not in p)
        out[c] = Counts(tp, fp, fn)
    return out


def _micro(counts: dict[Circumstance, Counts], which: Iterable[Circumstance]) -> dict[str, Any]:
    total = Counts(*(sum(getattr(counts[c], k) for c in which) for k in ("tp", "fp", "fn")))
    return total.as_dict()


def errors(gold: list[GoldText], predicted: list[frozenset[Circumstance]]) -> list[dict[str, Any]]:
    """Texts where the extractor and the gold labels differ: what was missed and what was added."""
    out = []
    for g, p in zip(gold, predicted, strict=True):
        missed = [c.value for c in Circumstance if c in g.labels - p]
        added = [c.value for c in Circumstance if c in p - g.labels]
        if missed or added:
            out.append({"draw": g.draw, "source_id": g.source_id, "missed": missed, "added": added,
                        "evidence": {c: g.evidence[c] for c in missed}})
    return out


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run(extractor: Extractor, gold_dir: Path = GOLD_DIR) -> dict[str, Any]:
    """Per split: per-circumstance counts and P/R/F1, micro averages, and the named ten's minima."""
    result: dict[str, Any] = {}
    for split in SPLITS:
        gold = load_gold(split, gold_dir)
        counts = score(gold, predict(extractor, gold))
        named_p = [counts[c].precision for c in NAMED]
        named_r = [counts[c].recall for c in NAMED]
        result[split] = {
            "texts": len(gold),
            "per_circumstance": {c.value: counts[c].as_dict() for c in Circumstance},
            "micro_all": _micro(counts, Circumstance),
            "micro_named": _micro(counts, NAMED),
            "named_min_precision": min((p for p in named_p if p is not None), default=None),
            "named_min_recall": min((r for r in named_r if r is not None), default=None),
        }
    if MINOR_FRESH.exists() and gold_dir == GOLD_DIR:
        result["minor_fresh"] = {
            "what": "未成年 only, minor_fresh.jsonl: measured once untuned (P 1/2, R 1/3), then its three errors were fixed, so it is no longer held out (gold README)",
            "texts": len(load_minor_fresh()),
            "未成年": minor_fresh_counts(extractor).as_dict(),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure, print JSON, write it to ``--out``; ``--errors SPLIT`` prints that split's errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    parser.add_argument("--extract-file", type=Path, help="measure this copy of indexing/extract.py")
    parser.add_argument("--label", default=None, help="name of the measured extractor in the report")
    parser.add_argument("--errors", choices=SPLITS, help="print this split's errors instead of the report")
    args = parser.parse_args(argv)
    extractor = load_extractor(args.extract_file)
    if args.errors:
        gold = load_gold(args.errors)
        for e in errors(gold, predict(extractor, gold)):
            print(json.dumps(e, ensure_ascii=False))
        return 0
    report = {
        "what": "circumstance extraction vs the hand-labelled gold set (tests/indexing/circumstances_gold)",
        "extractor": args.label or (str(args.extract_file) if args.extract_file else "indexing.extract"),
        "about": provenance("python -m evaluation.circumstance_report " + " ".join(argv if argv is not None else sys.argv[1:])),
        "named": [c.value for c in NAMED],
        **run(extractor),
    }
    emit_json(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Draw the fresh 未成年 held-out set (tests/indexing/circumstances_gold/minor_fresh.jsonl) reproducibly.

Why a second, separate set: the gold set has 9 texts whose first defendant was a minor (3 DEV, 6 TEST)
and the one TEST error of 未成年 suggested the last pattern change, so its TEST figure says little. This
draw takes texts nothing was tuned on: every text of the shared data that is not in the gold files
(compared by source id and by text) and holds a minor cue, plus random texts. It is labelled by
reading, before the extractor is run on it, and only measured (never tuned on).

Pools (file order; a text seen before, in this draw or in the gold files, is skipped):

- ``lecardv2``: the LeCaRDv2 queries, the ``query`` after its head (``split_sections``: facts +
  reasoning, i.e. the prosecution's charge, the defence's and the court's findings up to the
  verdict), plus the ``fact`` when the query does not hold it (second-instance findings);
  ``source_id`` ``<file stem>:<id>``, first file of :data:`LECARDV2_FILES` that has the text;
- ``lecard_v1``: LeCaRD ``q`` (``source_id`` = ``ridx``);
- ``judge``: JuDGE ``fd`` as ``extract`` reads it (facts + 本院认为, ``source_id`` = ``text_id``);
- ``cjrc``: CAIL2019 reading-comprehension passages of the ``criminal`` domain (``<file>:<caseid>``);
- ``cail2018``: the CAIL facts the gold draw did not take (``<file>:<line>``).

Strata (seed :data:`SEED`):

1. ``cue``: every text of every pool holding a cue of :data:`CUES` (minors as defendants, victims,
   co-offenders, witnesses, schools: the hard negatives come with the positives);
2. ``random``: :data:`RANDOM_PER_SOURCE` texts per pool, ``random.Random(f"{SEED}:{source}")``
   ``.sample`` of the texts not drawn in 1.

Texts are cut at :data:`MAX_CHARS` at the last 。 before it (a few LeCaRDv2 queries run to 20,000+
characters). The labels are the question "does the text state that the first-named defendant was
under 18 at the time of the crime?" (the gold README's rule for 未成年).

Run ``python -m evaluation.minor_fresh_sample [--out FILE]`` to write the unlabelled draw;
``--check`` compares it with minor_fresh.jsonl.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluation.circumstance_sample import (
    DEFAULT_BENCHMARK_DATA,
    GOLD_DIR,
    LECARDV2_FILES,
    cail_pool,
    judge_pool,
)
from indexing.sections import split_sections

SEED = 20261205
MAX_CHARS = 6000
RANDOM_PER_SOURCE = 5
FRESH_FILE = GOLD_DIR / "minor_fresh.jsonl"
SOURCES = ("lecardv2", "lecard_v1", "judge", "cjrc", "cail2018")

#: The minor cues: the words of the brief, and ages 14–17 / 18 and 法定代理人 written otherwise.
CUES = (
    r"未成年|未满十八|不满十八|已满十四|已满十六|周岁|少年|学生|幼女|儿童"
    r"|(?<!\d)1[4-7]周?岁|(?<![一二三四五六七八九])十[四五六七]周?岁|(?:未满|不满|已满|年满)18|法定代理人"
)


@dataclass(frozen=True)
class Drawn:
    """One drawn text and why it was drawn."""

    draw: int
    source: str
    source_id: str
    stratum: str  # "cue" or "random"
    text: str


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """The text, or its first ``limit`` characters up to the last sentence end."""
    text = text.strip()
    if len(text) <= limit:
        return text
    end = text.rfind("。", 0, limit)
    return text[: end + 1] if end > limit // 2 else text[:limit]


def lecardv2_query_pool(data_dir: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in LECARDV2_FILES:
        with (data_dir / "lecard_queries" / name).open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                query, fact = rec.get("query") or "", (rec.get("fact") or "").strip()
                s = split_sections(query)
                body = "\n".join(p for p in (s.facts, s.reasoning) if p).strip() or fact
                if fact and _norm(fact)[:40] not in _norm(query):
                    body = f"{body}\n{fact}"
                out.append((f"{name.split('_query')[0]}:{rec['id']}", body))
    return out


def lecard_v1_pool(data_dir: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    with (data_dir / "lecard_queries" / "lecard_v1_query.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                out.append((str(rec["ridx"]), rec["q"].strip()))
    return out


def cjrc_pool(data_dir: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in ("dev", "test"):
        with (data_dir / "cjrc_passages" / f"{name}_ground_truth.json").open(encoding="utf-8") as f:
            for case in json.load(f)["data"]:
                if case.get("domain") == "criminal":
                    for p in case["paragraphs"]:
                        out.append((f"{name}:{case['caseid']}", p["context"].strip()))
    return out


def _gold() -> tuple[set[tuple[str, str]], list[str]]:
    ids: set[tuple[str, str]] = set()
    texts: list[str] = []
    for split in ("dev", "test"):
        with (GOLD_DIR / f"{split}.jsonl").open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    ids.add((r["source"], r["source_id"]))
                    texts.append(_norm(r["text"]))
    return ids, texts


def pools(data_dir: Path = DEFAULT_BENCHMARK_DATA) -> dict[str, list[tuple[str, str]]]:
    """Per source, the (id, text) not in the gold files and not seen before in this draw."""
    gold_ids, gold_texts = _gold()
    heads = [g[:80] for g in gold_texts]
    seen: list[str] = []
    loaders = {
        "lecardv2": lecardv2_query_pool,
        "lecard_v1": lecard_v1_pool,
        "judge": judge_pool,
        "cjrc": cjrc_pool,
        "cail2018": cail_pool,
    }
    out: dict[str, list[tuple[str, str]]] = {}
    for source in SOURCES:
        kept: list[tuple[str, str]] = []
        for sid, text in loaders[source](data_dir):
            text = cut(text)
            n = _norm(text)
            if not n or (source, sid) in gold_ids:
                continue
            if any(h in n for h in heads) or any(n[:80] in g for g in gold_texts):
                continue  # the same text as a gold one (another file, another source)
            if any(n[:80] in s or s[:80] in n for s in seen):
                continue
            seen.append(n)
            kept.append((sid, text))
        out[source] = kept
    return out


def draw(data_dir: Path = DEFAULT_BENCHMARK_DATA) -> list[Drawn]:
    """The fresh sample in draw order: the cue stratum per source, then the random one."""
    cue = re.compile(CUES)
    by_source = pools(data_dir)
    picks: list[tuple[str, str, str, str]] = []
    for source in SOURCES:
        picks += [(source, sid, "cue", t) for sid, t in by_source[source] if cue.search(t)]
    for source in SOURCES:
        rest = [(sid, t) for sid, t in by_source[source] if not cue.search(t)]
        rng = random.Random(f"{SEED}:{source}")
        picks += [
            (source, sid, "random", t) for sid, t in rng.sample(rest, min(RANDOM_PER_SOURCE, len(rest)))
        ]
    return [Drawn(i, s, sid, st, t) for i, (s, sid, st, t) in enumerate(picks)]


def main(argv: list[str] | None = None) -> int:
    """Write the drawn texts (``--out``) or check them against minor_fresh.jsonl (``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--check", action="store_true", help="compare with minor_fresh.jsonl")
    args = parser.parse_args(argv)
    drawn = draw(args.data)
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for d in drawn:
                f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
    if args.check:
        with FRESH_FILE.open(encoding="utf-8") as f:
            have = [json.loads(line) for line in f if line.strip()]
        got = [(r["draw"], r["source"], r["source_id"], r["stratum"], r["text"]) for r in have]
        want = [(d.draw, d.source, d.source_id, d.stratum, d.text) for d in drawn]
        if got != want:
            print(
                f"{FRESH_FILE.name} differs from the draw: {len(set(got) ^ set(want))} rows differ",
                file=sys.stderr,
            )
            return 1
        print(f"{FRESH_FILE.name} matches the draw: {len(want)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Draw name-like spans from the JuDGE full judgments for a hand-labelled gold set (issue 19, part 3).

Why: names with no role word before them (王俊荣的证言, 从王艳玲处) are what the running-text finder
(``indexing.names_in_text``) is for, and its precision and recall can only be measured on spans a
reader has labelled. A span is 2-4 Han characters starting with a surname character, in the body of a
judgment (the appended law articles are cut off), not right after a role word (被告人X, 证人X: the
older finder's job) and not a publisher's pseudonym (张某, 李某1, 王×). Three strata, so both real
names and look-alike words are represented:

* ``cue``: a simple context cue around the span (X的证言, 从X处, 与X一起, 向X购买, 将X打伤, X等人 ...),
  written here independently of the finder; mostly names, some words (公安机关的证言).
* ``list``: an item between 、 and punctuation (证人甲、乙、丙的证言): names without a cue of their own.
* ``prep``: the jieba token right after 与/和/从/向/将/对/伙同 ...: names and the words that
  follow these prepositions (与其, 从事, 向前 are words that start with a surname character too).
* ``random``: any other jieba token of 2-4 characters starting with a surname: mostly ordinary
  words (公安局, 高速, 和解), some names.

Each span is printed with 30 characters of context and written to
``tests/indexing/data/name_spans_gold.jsonl`` with ``is_person_name`` empty; the reader fills it in
(and ``note``; a span whose drawn length was wrong is moved to the whole name, saying so in ``note``).
Running the sampler again keeps the labels of spans already in the file, keyed by (doc, drawn offset).
Spans are split DEV/TEST by document (seeded, about half each, so one case never feeds both): tune on
DEV only.

Run ``python -m evaluation.name_spans_sample [--data DIR] [--out FILE] [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any

from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.anonymize import surnames

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "indexing" / "data" / "name_spans_gold.jsonl"
JUDGMENTS = Path("judge_fulltext") / "judgments.json"
QUOTAS = {"cue": 80, "prep": 30, "list": 30, "random": 60}
PER_DOC = 3  # spans per document, so a few long judgments do not dominate
CONTEXT = 30
SEED = 19

_H = "[\u4e00-\u9fff]"
_OPEN = r"(?<=[，,、。；;：:（(\s及和与])"
#: Context cues, each with the span as group ``s`` (independent of indexing.names_in_text).
CUE_PATTERNS = (
    re.compile(_OPEN + f"(?P<s>{_H}{{2,4}}?)"
               r"(?:的(?:证言|证词|陈述|供述|辩解|笔录)|证实|证明|[（(](?:另案|已判|在逃|已死亡|另行)"
               r"|等(?:人|[一二三四五六七八九十\d]+人))"),
    re.compile(f"从(?P<s>{_H}{{2,4}}?)(?:处|手中|手里|家)"),
    re.compile(f"(?:与|和|同|跟)(?P<s>{_H}{{2,4}}?)(?:一起|一同|共同)"),
    re.compile(f"向(?P<s>{_H}{{2,4}}?)(?:购买|购得|借|索要|出售|贩卖|支付|转账|收取)"),
    re.compile(f"将(?P<s>{_H}{{2,4}}?)(?:打伤|打倒|打死|捅伤|砍伤|刺伤|撞倒|撞伤|撞死|杀害|推倒|带至|拉至|约至)"),
    re.compile(f"(?:对|致)(?P<s>{_H}{{2,4}}?)(?:进行|实施|拳打|死亡|受伤|轻伤|重伤|轻微伤)"),
    re.compile(f"(?:伙同|纠集|雇佣|指使|唆使|联系|找到|找来|通过)(?P<s>{_H}{{2,3}}?)(?=[，,、。；;等的])"),
)
#: Words after which a name often stands (与X, 从X, 向X): the span is the jieba token that follows.
PREPOSITIONS = frozenset("与 和 同 跟 从 向 将 对 致 给 让 叫 伙同 纠集 联系 找到 通过".split())
LIST_PATTERNS = (
    re.compile(f"(?<=、)(?P<s>{_H}{{2,3}})(?=[、，,。；;])"),
    re.compile(f"(?<=[，,：:；;。\\s])(?P<s>{_H}{{2,3}})(?=、)"),
)
#: Role words after which the older finder reads names; spans right after them are not drawn.
ROLE_WORDS = (
    "被告人", "上诉人", "犯罪嫌疑人", "嫌疑人", "罪犯", "同案犯", "同案人", "被害人", "受害人", "证人", "鉴定人",
    "辩护人", "代理人", "曾用名", "又名", "化名", "别名", "绰号", "审判长", "审判员", "陪审员", "书记员", "法官助理",
    "执行员", "检察员", "检察官", "公诉人", "民警", "辅警", "侦查员", "法医",
)
_LAW_TAIL = re.compile(r"附[件页]?[：:\s]*[^。，]{0,12}法律")
_PSEUDO = re.compile(r"[某×xXｘＸ*＊○0-9０-９]")


def body(text: str) -> str:
    """The judgment without its appended law articles (no names there, only statute text)."""
    m = _LAW_TAIL.search(text)
    return text[: m.start()] if m else text


def _eligible(text: str, start: int, span: str) -> bool:
    if not 2 <= len(span) <= 4 or span[0] not in surnames() and span[:2] not in surnames():
        return False
    if not all("\u4e00" <= c <= "\u9fff" for c in span) or _PSEUDO.search(text[start : start + len(span) + 1]):
        return False
    return not text[max(0, start - 6) : start].endswith(ROLE_WORDS)


def _context(text: str, start: int, span: str) -> str:
    before = text[max(0, start - CONTEXT) : start]
    after = text[start + len(span) : start + len(span) + CONTEXT]
    return f"{before}【{span}】{after}".replace("\n", " ")


def _tokens(text: str) -> list[tuple[int, str]]:
    """jieba tokens with their offsets (HMM on, so an unknown name is usually one token)."""
    import jieba

    out, pos = [], 0
    for tok in jieba.lcut(text, HMM=True):
        out.append((pos, tok))
        pos += len(tok)
    return out


def _candidates(texts: list[str]) -> dict[str, list[tuple[int, int, str]]]:
    """Every eligible span of each stratum, as (doc, offset, span)."""
    found: dict[str, list[tuple[int, int, str]]] = {"cue": [], "prep": [], "list": [], "random": []}
    for doc, text in enumerate(texts):
        for key, patterns in (("cue", CUE_PATTERNS), ("list", LIST_PATTERNS)):
            found[key] += [(doc, m.start("s"), m.group("s")) for p in patterns for m in p.finditer(text)
                           if _eligible(text, m.start("s"), m.group("s"))]
        tokens = _tokens(text)
        for (_, prev), (start, tok) in zip([(0, "")] + tokens, tokens, strict=False):
            if _eligible(text, start, tok):
                found["prep" if prev in PREPOSITIONS else "random"].append((doc, start, tok))
    return found


def _draw(found: list[tuple[int, int, str]], rng: random.Random, quota: int,
          taken: set[tuple[int, str]], per_doc: dict[int, int]) -> list[tuple[int, int, str]]:
    """``quota`` spans at random, one per (document, span text), ``PER_DOC`` per document."""
    pool = sorted(set(found))
    rng.shuffle(pool)
    out = []
    for doc, offset, span in pool:
        if len(out) >= quota:
            break
        if (doc, span) in taken or per_doc.get(doc, 0) >= PER_DOC:
            continue
        out.append((doc, offset, span))
        taken.add((doc, span))
        per_doc[doc] = per_doc.get(doc, 0) + 1
    return out


def _split(docs: list[int], rng: random.Random, counts: dict[int, int]) -> dict[int, str]:
    """DEV or TEST per document (so one case never feeds both), about half of the spans each."""
    order = sorted(set(docs))
    rng.shuffle(order)
    size = {"DEV": 0, "TEST": 0}
    split = {}
    for doc in order:
        side = "DEV" if size["DEV"] <= size["TEST"] else "TEST"
        split[doc] = side
        size[side] += counts[doc]
    return split


def sample(data_dir: Path, seed: int = SEED) -> list[dict[str, Any]]:
    """The spans in a fixed order (stratum, then draw order), each with its DEV/TEST split."""
    with (data_dir / JUDGMENTS).open(encoding="utf-8") as fh:
        texts = [body(json.loads(line)["fd"]) for line in fh if line.strip()]
    rng = random.Random(seed)
    found = _candidates(texts)
    taken: set[tuple[int, str]] = set()
    per_doc: dict[int, int] = {}
    drawn = {k: _draw(found[k], rng, quota, taken, per_doc) for k, quota in QUOTAS.items()}
    split = _split([d for spans in drawn.values() for d, _, _ in spans], rng, per_doc)
    return [{"doc": doc, "offset": offset, "drawn": span, "span": span,
             "context": _context(texts[doc], offset, span), "stratum": stratum, "split": split[doc],
             "is_person_name": None, "note": ""}
            for stratum, spans in drawn.items() for doc, offset, span in spans]


def merge_labels(rows: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Keep the reader's labels (and span corrections) of spans already in ``path``."""
    if not path.is_file():
        return rows
    old = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            old[(r["doc"], r.get("drawn_offset", r["offset"]))] = r
    merged = []
    for row in rows:
        prev = old.get((row["doc"], row["offset"]))
        if prev is not None and prev.get("is_person_name") is not None:
            keep = ("offset", "drawn_offset", "span", "context", "is_person_name", "note")
            row = {**row, **{k: prev[k] for k in keep if k in prev}}
        merged.append(row)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--out", type=Path, default=GOLD)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    rows = merge_labels(sample(args.data, args.seed), args.out)
    for i, row in enumerate(rows):
        label = "?" if row["is_person_name"] is None else ("Y" if row["is_person_name"] else "n")
        print(f"{i:3d} {label} {row['split']:4s} {row['stratum']:6s} d{row['doc']}@{row['offset']} "
              f"{row['span']}  {row['context']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

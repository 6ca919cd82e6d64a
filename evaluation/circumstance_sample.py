"""Draw the texts of the circumstance gold set (tests/indexing/circumstances_gold/) reproducibly.

Why a sampler in code: the gold set is only a measurement if anyone can redraw the same texts and
see that none were picked because the extractor reads them well. The texts are what
:func:`indexing.extract.extract` hands to ``extract_circumstances``: a CAIL2018 ``fact`` as it is,
a JuDGE judgment's facts + 本院认为 reasoning (``split_sections(fd)``, joined by a newline).

The draw (seed :data:`SEED`, one ``random.Random`` for the whole draw, pools in file order,
CAIL deduplicated by text):

1. random half: 80 CAIL facts and 80 JuDGE texts, ``rng.sample`` of each pool;
2. cue half: 160 draws round-robin over the :data:`CUE_GROUPS` (one group per draw, CAIL and JuDGE
   alternating per round); each draw takes at random a text not yet drawn that contains a cue of
   its group. The cues are broad and plain-worded (投案, 通知到案, 如实交代, 原谅, 发还, 意志以外,
   望风, 周岁 …) so that recall is measured on plain wording and hard negatives (经传唤到案,
   被害人未满十四周岁, 赃物已追回) are drawn too;
3. split: within each (half, source, group) the drawn texts are shuffled and dealt alternately to
   DEV and TEST (a global alternation, so the halves differ by at most one text per stratum);
4. top-up (:data:`TOPUP`): labelling the 320 left 认罪认罚, 未遂, 从犯 and 未成年 under 10 test
   positives, so more texts were drawn for each from texts holding one of its strong cues
   (:data:`TOPUP_CUES`), with ``random.Random(f"{SEED}:{group}")``, CAIL and JuDGE alternating (the
   other source when one runs out). They all go to TEST: they exist to give the test half enough
   positives, and DEV keeps the plain draw's mix.

5. extra DEV (:data:`EXTRA_DEV`): the first TEST measurement left 从犯 and 未成年 precision under
   0.9 with no DEV error left to learn from, so more DEV texts were drawn the top-up way (strong
   cues, ``random.Random(f"{SEED}:extra:{group}")``) to tune on, without looking at TEST errors.
   未成年 had no CAIL/JuDGE text left, so its extra draw also takes LeCaRDv2 query facts (``fact``,
   as ``extract`` reads them), where minors are almost always victims: hard negatives.

Run ``python -m evaluation.circumstance_sample [--out FILE]`` to write the drawn, unlabelled texts
as JSON lines; ``--check`` compares them with the gold files' texts.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.sections import split_sections

SEED = 20261203
GOLD_DIR = Path(__file__).resolve().parents[1] / "tests" / "indexing" / "circumstances_gold"
RANDOM_PER_SOURCE = 80
CUE_DRAWS = 160

#: Broad cue lists, one per group: a text holding any cue of a group may be drawn for it.
CUE_GROUPS: dict[str, str] = {
    "自首": r"自首|投案|通知到案|电话通知|传唤到案|主动到|主动归案|在现场等候|等候处理|报警|报案",
    "坦白": r"坦白|如实|供认|交代|交待|承认",
    "认罪认罚": r"认罪|认罚|具结",
    "累犯": r"累犯|刑满释放|释放后|五年以内|再犯",
    "谅解": r"谅解|原谅|和解|调解|不再追究|撤回",
    "赔偿": r"赔偿|赔付|补偿|赔礼|医疗费|垫付",
    "退赃退赔": r"退赃|退赔|退还|退缴|退回|返还|发还|归还|追回|退出|上缴",
    "未遂": r"未遂|未得逞|意志以外|未能|当场抓获|被抓获|被发现|未果",
    "从犯": r"从犯|主犯|次要|辅助|帮助|望风|共同犯罪",
    "未成年": r"未成年|未满十八|不满十八|已满十四|已满十六|未满十六|不满十六|周岁|学生",
    "其他": r"当庭|中止|胁从|初犯|偶犯|立功|检举|揭发|前科|曾因|曾于|判处",
}
#: Strong cues for the top-up draws of a circumstance short of test positives.
TOPUP_CUES: dict[str, str] = {
    "累犯": r"累犯",
    "退赃退赔": r"退赃|退赔|退还[^，。；]{0,6}(?:赃|款|被害|所)|退缴|退出[^，。；]{0,4}(?:赃|违法)",
    "未遂": r"未遂|未得逞|意志以外",
    "从犯": r"从犯|次要作用|辅助作用",
    "未成年": r"未成年|(?:未满|不满)十八周岁|已满十[四六]周岁|(?:时年|年仅)(?:1[4-7]|十[四五六七])周?岁",
    "认罪认罚": r"认罪认罚|具结",
    "自首": r"自首|投案",
    "谅解": r"谅解",
    "赔偿": r"赔偿",
    # a second 未成年 pass once the first ran dry: the same ages written in Arabic numerals
    "未成年+": r"(?:未满|不满)18周岁|已满1[46]周岁",
}
#: Top-up draws per circumstance, set after labelling the first 320 (test positives then:
#: 认罪认罚 9, 未遂 6, 从犯 6, 未成年 1); 未成年 takes every remaining text with a cue, in two
#: passes (the second, "未成年+", added when the first left the test half at 5 positives).
TOPUP: dict[str, int] = {"认罪认罚": 4, "未遂": 8, "从犯": 12, "未成年": 40, "未成年+": 40}


#: Extra DEV draws per circumstance, made after the first TEST measurement (see step 5).
EXTRA_DEV: dict[str, int] = {"从犯": 20, "未成年": 12}
LECARDV2_FILES = ("lecardv2_test_query.jsonl", "lecardv2_controversial_query.jsonl", "lecardv2_procedural_query.jsonl")


@dataclass(frozen=True)
class Drawn:
    """One drawn text and why it was drawn."""

    source: str  # "cail2018", "judge" or "lecardv2"
    source_id: str  # CAIL: "<file>:<line>" (1-based); JuDGE: text_id; LeCaRDv2: "<file stem>:<id>"
    text: str
    stratum: str  # "random", "cue:<group>" or "topup:<group>"
    split: str  # "dev" or "test"


def cail_pool(data_dir: Path) -> list[tuple[str, str]]:
    """(source_id, fact) of the CAIL sample, train then test, first copy of a repeated fact only."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name in ("train", "test"):
        with (data_dir / "cail2018_sample" / f"{name}.jsonl").open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fact = json.loads(line)["fact"].strip()
                if fact and fact not in seen:
                    seen.add(fact)
                    out.append((f"{name}:{lineno}", fact))
    return out


def judge_pool(data_dir: Path) -> list[tuple[str, str]]:
    """(text_id, facts + reasoning) of the JuDGE judgments, as ``extract`` joins them."""
    out: list[tuple[str, str]] = []
    with (data_dir / "judge_fulltext" / "judgments.json").open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            s = split_sections(rec["fd"])
            text = "\n".join(p for p in (s.facts, s.reasoning) if p) or rec.get("text", "")
            if text.strip():
                out.append((rec["text_id"], text.strip()))
    return out


def lecardv2_pool(data_dir: Path) -> list[tuple[str, str]]:
    """(file stem:id, fact) of the LeCaRDv2 queries, first copy of a repeated fact only."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name in LECARDV2_FILES:
        with (data_dir / "lecard_queries" / name).open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                fact = (rec.get("fact") or "").strip()
                if fact and fact not in seen:
                    seen.add(fact)
                    out.append((f"{name.split('_query')[0]}:{rec['id']}", fact))
    return out


def draw(data_dir: Path = DEFAULT_BENCHMARK_DATA) -> list[Drawn]:
    """The whole gold sample in draw order (see the module docstring)."""
    pools = {"cail2018": cail_pool(data_dir), "judge": judge_pool(data_dir)}
    rng = random.Random(SEED)
    taken: set[tuple[str, str]] = set()
    picks: list[tuple[str, str, str, str]] = []  # source, id, text, stratum
    for source in ("cail2018", "judge"):
        for sid, text in rng.sample(pools[source], RANDOM_PER_SOURCE):
            taken.add((source, sid))
            picks.append((source, sid, text, "random"))
    groups = list(CUE_GROUPS)
    compiled = {g: re.compile(p) for g, p in CUE_GROUPS.items()}
    for i in range(CUE_DRAWS):
        group = groups[i % len(groups)]
        source = ("cail2018", "judge")[(i // len(groups)) % 2]
        cands = [(s, t) for s, t in pools[source] if (source, s) not in taken and compiled[group].search(t)]
        sid, text = rng.choice(cands)
        taken.add((source, sid))
        picks.append((source, sid, text, f"cue:{group}"))
    strata: dict[tuple[str, str, str], list[int]] = {}
    for n, (source, _, _, stratum) in enumerate(picks):
        half = "random" if stratum == "random" else "cue"
        strata.setdefault((half, source, stratum), []).append(n)
    split = [""] * len(picks)
    toggle = 0
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        for n in members:
            split[n] = ("dev", "test")[toggle]
            toggle ^= 1
    out = [Drawn(s, sid, t, st, split[n]) for n, (s, sid, t, st) in enumerate(picks)]
    out.extend(_topup(pools, taken))
    pools["lecardv2"] = lecardv2_pool(data_dir)
    out.extend(_extra_dev(pools, taken))
    return out


def _extra_dev(pools: dict[str, list[tuple[str, str]]], taken: set[tuple[str, str]]) -> Iterator[Drawn]:
    for group, count in EXTRA_DEV.items():
        rng = random.Random(f"{SEED}:extra:{group}")
        cue = re.compile(TOPUP_CUES[group] + ("|" + TOPUP_CUES["未成年+"] if group == "未成年" else ""))
        sources = ("cail2018", "judge", "lecardv2") if group == "未成年" else ("cail2018", "judge")
        for i in range(count):
            order = sources[i % len(sources) :] + sources[: i % len(sources)]
            for source in order:
                cands = [(s, t) for s, t in pools[source] if (source, s) not in taken and cue.search(t)]
                if cands:
                    break
            else:
                break
            sid, text = rng.choice(cands)
            taken.add((source, sid))
            yield Drawn(source, sid, text, f"extra:{group}", "dev")


def _topup(pools: dict[str, list[tuple[str, str]]], taken: set[tuple[str, str]]) -> Iterator[Drawn]:
    for group, count in TOPUP.items():
        rng = random.Random(f"{SEED}:{group}")
        cue = re.compile(TOPUP_CUES[group])
        for i in range(count):
            order = ("cail2018", "judge") if i % 2 == 0 else ("judge", "cail2018")
            for source in order:
                cands = [(s, t) for s, t in pools[source] if (source, s) not in taken and cue.search(t)]
                if cands:
                    break
            else:
                break
            sid, text = rng.choice(cands)
            taken.add((source, sid))
            yield Drawn(source, sid, text, f"topup:{group}", "test")


def main(argv: list[str] | None = None) -> int:
    """Write the drawn texts (``--out``) or check them against the gold files (``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark-data", dest="data", type=Path, default=DEFAULT_BENCHMARK_DATA)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--check", action="store_true", help="compare with the gold files' texts")
    args = parser.parse_args(argv)
    drawn = draw(args.data)
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for d in drawn:
                f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
    if args.check:
        gold = {}
        for split in ("dev", "test"):
            with (GOLD_DIR / f"{split}.jsonl").open(encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    gold[(r["source"], r["source_id"])] = (r["text"], split)
        want = {(d.source, d.source_id): (d.text, d.split) for d in drawn}
        if gold != want:
            print(f"gold differs from the draw: {len(set(gold) ^ set(want))} ids differ", file=sys.stderr)
            return 1
        print(f"gold matches the draw: {len(want)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())

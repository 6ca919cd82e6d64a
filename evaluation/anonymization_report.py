"""How many real names survive anonymization, measured on the 360 LeCaRDv2 judgment heads.

Why these heads: LeCaRDv2 publishes the judgment head (``query``: title, parties, procedure, often
the whole reasoning) with the defendants' REAL names, so it is the one shared source where leaks can
be counted. The checks use patterns that are independent of the anonymizer's own name finder:

* defendants: ``被告人X，男/女`` in the head (X = 2-4 Han characters, the pattern the ingest test
  uses). Target: none of them left in the anonymized head + facts.
* other people named after a role word (辩护人, 被害人, 证人, 审判员, 检察员 ...) and closed by
  punctuation: a stricter, simpler pattern than the anonymizer's. A few of its matches are legal
  terms, not people (被害人陈述、); those listed in ``NOT_PERSONS`` were checked by hand and are
  reported apart, never silently dropped.
* other people named in running text, with no role word before them (issue 19): ``X的证言``,
  ``从X处``, ``与X一起``, ``伙同X，``, ``向X购买/借款``, ``将X打伤``, ``X（另案处理）``, ``X等人``, where X is
  2-3 Han characters starting with a surname and the cue pins both ends of X (or a punctuation mark
  or 及/和/与 stands before it). Witnesses, third parties and accomplices tried elsewhere are natural
  persons too. Matches that are not people (高利贷, 车窗, 施工方 ...) are in ``NOT_PERSONS_RUNNING``,
  checked by hand on these heads and reported apart.

Run ``python -m evaluation.anonymization_report [DATA_DIR] [--out FILE]`` (default ``../shared/data``);
it prints JSON (and writes it with its provenance to FILE) and exits with status 2 when the data
directory is absent.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from evaluation.output import emit_json
from evaluation.paths import DEFAULT_BENCHMARK_DATA
from indexing.anonymize import MaskReport, anonymize_text, surnames
from indexing.errors import SourceError

#: ``../shared/data`` seen from the repository root.
LECARDV2_FILES = (
    "lecardv2_test_query.jsonl",
    "lecardv2_controversial_query.jsonl",
    "lecardv2_procedural_query.jsonl",
)
DEFENDANT = re.compile(r"被告人([\u4e00-\u9fff]{2,4})[，,]\s*(?:男|女)")
_OTHER_ROLES = (
    "辩护人", "被害人", "证人", "审判长", "审判员", "人民陪审员", "书记员", "法官助理", "代理检察员",
    "检察员", "诉讼代理人", "委托代理人", "代理人", "法定代表人", "原告", "被上诉人", "上诉人", "申请人", "曾用名",
)
ROLE_NAME = re.compile(
    "(?P<role>" + "|".join(sorted(_OTHER_ROLES, key=len, reverse=True)) + r")[:：]?"
    r"(?P<name>[\u4e00-\u9fff]{2,3})(?=[，,、。；;：:（(\s])"
)
#: Publisher pseudonyms: 张某, 李×1, 王x3, 张3, 王甲 (not real names, not counted).
_PSEUDONYM = re.compile(r"[某×xXｘＸ*＊0-9０-９]|^.[甲乙丙丁戊己庚辛壬癸]$")
#: Matches of ``ROLE_NAME`` that are legal terms, not people (checked by hand on these heads).
NOT_PERSONS = frozenset({"陈述", "原则", "钱款", "信息", "证言", "家属", "亲属", "单位"})
_H = "[\u4e00-\u9fff]"
_X = f"(?P<name>{_H}{{2,3}})"
_OPEN = r"(?<=[，,、。；;：:（(\s及和与])"
#: Running-text cues, each pinning a name with no role word before it (independent of the anonymizer's finder).
RUNNING_CUES = {
    "X的证言": re.compile(_OPEN + _X + "的(?:证言|证词|陈述|供述|辩解)"),
    "从X处": re.compile("从" + _X + "(?:处|手中|手里)"),
    "与X一起": re.compile("(?:与|和|同|跟)" + _X + "(?:一起|一同)"),
    "伙同X": re.compile("伙同" + _X + "(?=[，,、。；;等])"),
    "向X购买": re.compile("向" + _X + "(?:购买|购得|借款|借钱|借了|索要)"),
    "将X打伤": re.compile("将" + _X + "(?:打伤|打倒|捅伤|砍伤|刺伤|撞倒|撞伤|杀害|打死)"),
    "X（另案处理）": re.compile(_OPEN + _X + "[（(](?:另案|已判决|已判刑|在逃)"),
    "X等人": re.compile(_OPEN + _X + "等人"),
}
#: Matches of ``RUNNING_CUES`` that are not a person's name (checked by hand on these heads): words,
#: a job (施工方), a title (易总 'boss Yi'), an authority (国资委).
NOT_PERSONS_RUNNING = frozenset({"相应", "高利贷", "严惩", "车窗", "车行", "那男子", "国资委", "施工方", "来没有", "易总"})
SAMPLE_SIZE = 5
_EXCERPT = 160


def _lecard_dir(data_dir: Path) -> Path:
    """Accept the shared data root or its ``lecard_queries`` folder."""
    for candidate in (data_dir / "lecard_queries", data_dir):
        if all((candidate / f).is_file() for f in LECARDV2_FILES):
            return candidate
    raise SourceError(
        f"LeCaRDv2 heads not found: expected {', '.join(LECARDV2_FILES)} in {data_dir / 'lecard_queries'} "
        f"or {data_dir} (data dir {'absent' if not data_dir.exists() else 'present but incomplete'})"
    )


def _load(data_dir: Path) -> list[dict[str, Any]]:
    folder = _lecard_dir(data_dir)
    rows: list[dict[str, Any]] = []
    for name in LECARDV2_FILES:
        with (folder / name).open(encoding="utf-8") as fh:
            rows += [{**json.loads(line), "_file": name} for line in fh if line.strip()]
    return rows


def anonymization_figures(data_dir: Path = DEFAULT_BENCHMARK_DATA) -> dict[str, Any]:
    """Run ``anonymize_text`` on every LeCaRDv2 head and facts and count the names left over.

    Raises:
        SourceError: If the LeCaRDv2 files are not under ``data_dir`` (or ``data_dir/lecard_queries``).
    """
    rows = _load(Path(data_dir))
    known_surnames = surnames()
    anonymize_text("预热")  # load the lexicon outside the timed loop
    total = MaskReport()
    persons = 0
    chars = 0
    seconds = 0.0
    defendants = pseudonymized = 0
    defendants_left: list[dict[str, Any]] = []
    role_names = 0
    role_left: list[dict[str, str]] = []
    not_person_left: Counter[str] = Counter()
    running_names = 0
    running_left: list[dict[str, Any]] = []
    running_not_person_left: Counter[str] = Counter()
    not_idempotent = 0
    sample: list[dict[str, Any]] = []
    for row in rows:
        query, fact = row["query"], row.get("fact") or ""
        start = time.perf_counter()
        masked_query, names, report_q = anonymize_text(query)
        masked_fact, names, report_f = anonymize_text(fact, names=names, head=query)
        seconds += time.perf_counter() - start
        chars += len(query) + len(fact)
        total = total + report_q + report_f
        persons += len((report_q + report_f).placeholders)
        output = masked_query + "\n" + masked_fact
        again_query = anonymize_text(masked_query)[0]
        if again_query != masked_query or anonymize_text(masked_fact, head=masked_query)[0] != masked_fact:
            not_idempotent += 1

        for name in sorted(set(DEFENDANT.findall(query))):
            if _PSEUDONYM.search(name):
                pseudonymized += 1
                continue
            defendants += 1
            if name in output:
                defendants_left.append({"id": row["id"], "file": row["_file"], "name": name})
        seen: set[str] = set()
        for m in ROLE_NAME.finditer(query):
            name = m.group("name")
            if name in seen or name[0] not in known_surnames or _PSEUDONYM.search(name):
                continue
            seen.add(name)
            if name in NOT_PERSONS:
                not_person_left[name] += name in output
                continue
            role_names += 1
            if name in output:
                context = query[max(0, m.start() - 6) : m.end() + 6]
                role_left.append({"id": row["id"], "role": m.group("role"), "name": name, "context": context})

        seen_running: set[str] = set()
        for cue, pattern in RUNNING_CUES.items():
            for m in pattern.finditer(query):
                name = m.group("name")
                if name in seen_running or name[0] not in known_surnames or _PSEUDONYM.search(name):
                    continue
                seen_running.add(name)
                if name in NOT_PERSONS_RUNNING:
                    running_not_person_left[name] += name in output
                    continue
                running_names += 1
                if name in output:
                    context = query[max(0, m.start() - 8) : m.end() + 8]
                    running_left.append({"id": row["id"], "cue": cue, "name": name, "context": context})

        first = DEFENDANT.search(query)
        if first and len(sample) < SAMPLE_SIZE and not _PSEUDONYM.search(first.group(1)):
            before = query[first.start() : first.start() + _EXCERPT]
            after = anonymize_text(before, names=names)[0]
            sample.append({"id": row["id"], "file": row["_file"], "before": before, "after": after})

    by_role = Counter(item["role"] for item in role_left)
    return {
        "data_dir": str(_lecard_dir(Path(data_dir))),
        "records": len(rows),
        "defendants": {
            "pattern": DEFENDANT.pattern,
            "real_names": defendants,
            "already_pseudonymized": pseudonymized,
            "left_in_output": len(defendants_left),
            "left": defendants_left,
        },
        "other_role_names": {
            "pattern": ROLE_NAME.pattern,
            "names": role_names,
            "left_in_output": len(role_left),
            "left_by_role": dict(by_role.most_common()),
            "left": role_left,
            "not_persons_excluded": dict(not_person_left),
        },
        "running_text_names": {
            "patterns": {cue: pattern.pattern for cue, pattern in RUNNING_CUES.items()},
            "names": running_names,
            "left_in_output": len(running_left),
            "left_by_cue": dict(Counter(item["cue"] for item in running_left).most_common()),
            "left": running_left,
            "not_persons_excluded": dict(running_not_person_left),
        },
        "masked": total.counts(),
        "placeholders_per_record": round(persons / len(rows), 2) if rows else 0,
        "not_idempotent_records": not_idempotent,
        "chars": chars,
        "seconds": round(seconds, 3),
        "chars_per_second": round(chars / seconds) if seconds else None,
        "sample": sample,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = None
    if "--out" in args:
        i = args.index("--out")
        if i + 1 >= len(args):
            print("usage: python -m evaluation.anonymization_report [DATA_DIR] [--out FILE]", file=sys.stderr)
            return 2
        out, args = Path(args[i + 1]), args[:i] + args[i + 2 :]
    data_dir = Path(args[0]) if args else DEFAULT_BENCHMARK_DATA
    try:
        figures = anonymization_figures(data_dir)
    except SourceError as exc:
        print(json.dumps({"error": "data dir absent or incomplete", "detail": str(exc)}, ensure_ascii=False, indent=2))
        print(f"anonymization report: {exc}", file=sys.stderr)
        return 2
    if out is None:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        emit_json(figures, out, command=" ".join(["python -m evaluation.anonymization_report", *(argv or sys.argv[1:])]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

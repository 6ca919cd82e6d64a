"""Civil similar-case suites built from the CJRC civil passages (CAIL2019, 经审理查明 sections).

Everything here is derived at run time from the published data with fixed seeds; only the
human-judged triplets (``evaluation/data/civil_triplets_read.jsonl``) are stored, as ids and labels.

**Passages.** Every record with ``domain == "civil"`` of the given CJRC files (in the shared data:
``dev_ground_truth.json`` then ``test_ground_truth.json``, 500 civil passages each, 188 causes). Its id is
the one `leian ingest` gives it (``<file stem>:<caseid>:<paragraph>``), so index rows map back to it.
A passage whose text repeats an earlier one exactly is dropped (3 in the shared data: dev 102 = test 113,
dev 337 = dev 338, test 332 = test 334). Passages whose character 5-gram sets have a Jaccard overlap of
at least :data:`NEAR_DUPLICATE` are *near duplicates* of each other (the same judgment excerpted twice,
or serial suits of one plaintiff written from one template): they are never judged against each other,
so no figure rewards finding a copy.

**Families** (:data:`FAMILIES`, :func:`family`): a cause's family is the first rule of the ordered table
whose keywords occur in the cause name. The rules follow the final category word of the name (…合同纠纷,
…责任纠纷, …权纠纷, …关系纠纷), split where one word covers unrelated law (…权纠纷 holds intellectual
property, personality rights and creditors' rights) and grouped as the parts of the 民事案件案由规定 do.
A cause no rule matches has no family: only its own cause is relevant to it.

**Retrieval qrels** (:func:`retrieval_qrels`): each passage whose cause has another passage that is not
its near duplicate is a query over all passages; grade 2 = same cause, grade 1 = another cause of the
same family, 0 otherwise; the query itself and its near duplicates are excluded from the ranking.

**Cause triplets** (:func:`cause_triplets`): anchors are drawn (seeded, without repeats) from the
passages that have a same-cause passage other than a near duplicate; the positive is a random such
passage; the negative is a passage of another cause, a hard one where possible: a cause of the
anchor's family, drawn among the family causes whose names share the most character bigrams with the
anchor's, generic ones like 合同 aside (:func:`hard_negative_causes`: 保证合同纠纷 gets 保证保险合同纠纷;
a name sharing none with its family's draws from the whole family); when the family has no other cause
(or the cause has no family), any other civil cause. Neither a nor b is a near duplicate of the anchor; the positive's slot
(a or b) is a coin flip. The label is the cause: the positive counts as more similar.

**Read triplets** (:func:`read_candidates`, :func:`load_read_triplets`): candidates are cause triplets
restricted to the contract/loan causes (:func:`is_contract_or_loan`: 借款, 借贷, 合同 or 保证 in the name)
for anchor, positive and negative, loan and guarantee anchors first, at most 12 per anchor cause; the label stored in the jsonl file is the reader's judgement of which
of a and b is more similar to the anchor in facts and disputed issues, not the cause. How they were
read (by the engineer who wrote this module, one sitting): the 70 first candidates of
``read_candidates`` were printed as anchor, A and B texts only, with no cause name and no cause label,
and each was judged on who sues whom, the legal relation (loan, guarantee, guarantee insurance,
custody, …) and what is claimed; 6 with no defensible answer were left out (64 kept), 14 kept ones
are marked ``weak``. The reader's choice agrees with the cause label in 54 of the 64. Passages were read
whole, except the last ~150 characters of three long ones (#36–#38 of the candidates).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: CJRC files of the shared data holding the civil passages, in the order passages are numbered.
CJRC_FILES = ("dev_ground_truth.json", "test_ground_truth.json")
#: Character 5-gram Jaccard overlap from which two passages count as near duplicates.
NEAR_DUPLICATE = 0.5
#: Words that many of a family's names share, so they say nothing about closeness (hard_negative_causes).
GENERIC_WORDS = ("合同", "责任", "侵害", "关系", "确认")
SEED = 20240618

#: Ordered family rules: (family, keywords); the first rule with a keyword in the cause name wins.
#: Labour comes before contracts (劳动合同, 劳务派遣合同 belong to labour law), inheritance before
#: family, IP and personality rights before the creditors' …权 rule.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("labour", ("劳动", "劳务派遣", "经济补偿金", "竞业限制", "待遇")),
    ("inheritance", ("继承",)),
    ("family", ("抚养", "扶养", "赡养", "离婚", "婚姻", "婚约", "收养", "探望", "同居", "分家析产")),
    ("intellectual_property", ("著作", "专利", "商标", "录音录像", "作品", "计算机软件")),
    ("personality_rights", ("人格权", "名誉权", "肖像权", "生命权", "隐私权")),
    ("contract", ("合同", "协议", "借贷", "信用卡", "借记卡", "银行卡", "典当")),
    ("tort_liability", ("责任纠纷",)),
    ("creditor_rights", ("追偿权", "代位权", "代位求偿权", "别除权", "追索权", "债权确认", "债权追偿")),
    ("property", ("物权", "所有权", "返还原物", "排除妨害", "恢复原状", "共有", "相邻", "不动产登记",
                  "土地承包经营权纠纷", "承包地", "集体经济组织成员")),
    ("company", ("公司", "股东", "股权")),
)
CONTRACT_OR_LOAN = ("借款", "借贷", "合同", "保证")
LOAN_OR_GUARANTEE = ("借款", "借贷", "保证")
#: At most this many read triplets share an anchor cause (保证 causes alone would fill the suite).
READ_PER_CAUSE = 12


@dataclass(frozen=True)
class Passage:
    pid: str  # the ingest's source id: <file stem>:<caseid>:<paragraph>
    cause: str
    text: str


@dataclass(frozen=True)
class Triplet:
    anchor: str
    a: str
    b: str
    label: str  # "a" or "b": the one more similar to the anchor
    negative: str  # "same_family" or "other_family": how the other one was drawn
    reason: str = ""  # read triplets: the reader's one-line reason


def family(cause: str) -> str | None:
    """The cause's family under :data:`FAMILIES`, or None when no rule matches."""
    for name, keywords in FAMILIES:
        if any(k in cause for k in keywords):
            return name
    return None


def is_contract_or_loan(cause: str) -> bool:
    """A contract, loan or guarantee cause: the hardest group for lexical similarity (read suite)."""
    return any(k in cause for k in CONTRACT_OR_LOAN)


def load_civil_passages(paths: Iterable[Path]) -> tuple[list[Passage], list[dict]]:
    """Civil passages of CJRC files, exact repeats dropped; and the dropped ones with what they repeat."""
    passages: list[Passage] = []
    first: dict[str, str] = {}
    dropped: list[dict] = []
    for path in paths:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        for i, item in enumerate(doc.get("data", [])):
            for j, para in enumerate(item.get("paragraphs", [])):
                if (item.get("domain") or para.get("domain")) != "civil" or not para.get("context"):
                    continue
                pid = f"{Path(path).stem}:{item.get('caseid', i)}:{j}"
                text = para["context"]
                if text in first:
                    dropped.append({"pid": pid, "repeats": first[text]})
                    continue
                first[text] = pid
                passages.append(Passage(pid=pid, cause=para.get("casename") or "", text=text))
    return passages, dropped


def civil_files_subset(paths: Iterable[Path], out_dir: Path, keep: set[str]) -> list[Path]:
    """Copies of CJRC files holding only the passages in ``keep`` (same file names, so the same ids)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        data = [item for i, item in enumerate(doc.get("data", []))
                if any(f"{Path(path).stem}:{item.get('caseid', i)}:{j}" in keep for j in range(len(item.get("paragraphs", []))))]
        target = out_dir / Path(path).name
        target.write_text(json.dumps({**doc, "data": data}, ensure_ascii=False), encoding="utf-8")
        written.append(target)
    return written


def near_duplicates(passages: Sequence[Passage], threshold: float = NEAR_DUPLICATE) -> dict[str, set[str]]:
    """For each passage id, the other passages whose character 5-gram Jaccard overlap is ≥ ``threshold``."""
    from sklearn.feature_extraction.text import CountVectorizer

    x = CountVectorizer(analyzer="char", ngram_range=(5, 5), binary=True).fit_transform([p.text for p in passages])
    sizes = np.asarray(x.sum(axis=1)).ravel()
    inter = (x @ x.T).tocoo()
    out: dict[str, set[str]] = {p.pid: set() for p in passages}
    for i, j, n in zip(inter.row, inter.col, inter.data, strict=True):
        if i != j and n / (sizes[i] + sizes[j] - n) >= threshold:
            out[passages[i].pid].add(passages[j].pid)
    return out


def grade(query_cause: str, doc_cause: str | None) -> int:
    """2 = same cause, 1 = another cause of the same family, 0 otherwise (criminal background: None)."""
    if doc_cause is None:
        return 0
    if doc_cause == query_cause:
        return 2
    fam = family(query_cause)
    return 1 if fam is not None and family(doc_cause) == fam else 0


def retrieval_qrels(passages: Sequence[Passage], near: dict[str, set[str]]) -> tuple[dict[str, dict[str, int]], dict[str, set[str]]]:
    """Graded qrels per query passage, and per query the ids left out of its ranking (itself, near duplicates)."""
    qrels: dict[str, dict[str, int]] = {}
    excluded: dict[str, set[str]] = {}
    for q in passages:
        skip = {q.pid} | near[q.pid]
        judged = {p.pid: g for p in passages if p.pid not in skip and (g := grade(q.cause, p.cause)) > 0}
        if 2 in judged.values():
            qrels[q.pid] = judged
            excluded[q.pid] = skip
    return qrels, excluded


def _bigrams(cause: str) -> set[str]:
    """Character bigrams of the name without 纠纷, within the pieces left between generic words."""
    pieces = [cause.removesuffix("纠纷")]
    for word in GENERIC_WORDS:
        pieces = [part for piece in pieces for part in piece.split(word)]
    return {piece[i:i + 2] for piece in pieces for i in range(len(piece) - 1)}


def hard_negative_causes(cause: str, causes: Iterable[str]) -> list[str]:
    """The other causes of the anchor's family whose names share the most character bigrams with its
    name (:data:`GENERIC_WORDS` aside); all of the family's other causes when none shares one."""
    fam = family(cause)
    if fam is None:
        return []
    mine = _bigrams(cause)
    same = sorted(c for c in set(causes) if c != cause and family(c) == fam)
    best = max((len(mine & _bigrams(c)) for c in same), default=0)
    return [c for c in same if len(mine & _bigrams(c)) == best]


def cause_triplets(passages: Sequence[Passage], near: dict[str, set[str]], n: int = 500, seed: int = SEED,
                   restrict: str | None = None) -> list[Triplet]:
    """Seeded triplets labelled by cause (see the module docstring); ``restrict="contract_or_loan"``
    keeps anchor, positive and negative within :func:`is_contract_or_loan` causes."""
    pool = [p for p in passages if restrict is None or is_contract_or_loan(p.cause)]
    by_cause: dict[str, list[Passage]] = defaultdict(list)
    for p in pool:
        by_cause[p.cause].append(p)
    rng = random.Random(seed)
    anchors = [p for p in pool if any(o.pid != p.pid and o.pid not in near[p.pid] for o in by_cause[p.cause])]
    rng.shuffle(anchors)
    triplets: list[Triplet] = []
    for anchor in anchors[:n]:
        positives = [o for o in by_cause[anchor.cause] if o.pid != anchor.pid and o.pid not in near[anchor.pid]]
        positive = rng.choice(positives)
        hard = hard_negative_causes(anchor.cause, by_cause)
        kind = "same_family" if hard else "other_family"
        neg_causes = hard or sorted(c for c in by_cause if c != anchor.cause)
        negatives = [o for o in by_cause[rng.choice(neg_causes)] if o.pid not in near[anchor.pid]]
        if not negatives:
            continue
        negative = rng.choice(negatives)
        if rng.random() < 0.5:
            triplets.append(Triplet(anchor.pid, positive.pid, negative.pid, "a", kind))
        else:
            triplets.append(Triplet(anchor.pid, negative.pid, positive.pid, "b", kind))
    return triplets


def read_candidates(passages: Sequence[Passage], near: dict[str, set[str]], n: int = 70, seed: int = SEED + 1) -> list[Triplet]:
    """The contract/loan triplets offered for reading: every loan or guarantee anchor first
    (:data:`LOAN_OR_GUARANTEE`, the kind of the held-out check), then other contract anchors, in the
    seeded order of :func:`cause_triplets`, at most :data:`READ_PER_CAUSE` per anchor cause. Their cause label is only a hint to the reader."""
    cause = {p.pid: p.cause for p in passages}
    every = cause_triplets(passages, near, n=len(passages), seed=seed, restrict="contract_or_loan")
    loan = [t for t in every if any(k in cause[t.anchor] for k in LOAN_OR_GUARANTEE)]
    taken: list[Triplet] = []
    per_cause: dict[str, int] = defaultdict(int)
    for t in loan + [t for t in every if t not in loan]:
        if per_cause[cause[t.anchor]] < READ_PER_CAUSE and len(taken) < n:
            per_cause[cause[t.anchor]] += 1
            taken.append(t)
    return taken


def load_read_triplets(path: Path, known: set[str]) -> list[Triplet]:
    """The human-judged triplets of ``path`` (JSON lines); a line naming an unknown passage is an error.

    Each line: ``anchor``, ``a``, ``b`` (passage ids), ``label`` (the reader's choice), ``cause_side`` (the
    side that has the anchor's cause), ``weak`` (the reader found the choice close) and ``reason``. The
    triplet's ``negative`` field becomes ``read_clear`` or ``read_weak``.
    """
    out = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [row[k] for k in ("anchor", "a", "b") if row[k] not in known]
        if missing or row["label"] not in ("a", "b"):
            raise ValueError(f"{path}:{lineno}: unknown passage {missing} or label {row['label']!r} (expected a or b)")
        out.append(Triplet(row["anchor"], row["a"], row["b"], row["label"], "read_weak" if row.get("weak") else "read_clear",
                           row.get("reason", "")))
    return out


def triplet_row(t: Triplet) -> dict:
    return asdict(t)

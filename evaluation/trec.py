"""TREC-style relevance judgments and runs, scored with ranx (a maintained IR evaluation library).

Formats read (LeCaRD publishes its labels as the JSON form, LeCaRDv2 as TREC lines):

- **JSON qrels**: ``{"qid": {"docid": grade, ...}, ...}`` with integer grades ≥ 0.
- **TREC qrels**: one judgment per line, ``qid iteration docid grade`` (whitespace-separated; the
  iteration column is ignored); blank lines and lines starting with ``#`` are skipped.
- **queries**: JSON lines, one query per line, with an id (``id``, ``qid`` or ``ridx``), a text
  (``fact``, ``q``, ``query`` or ``text``) and optional charges (``charges`` or ``crime``).

Runs are written as TREC run lines ``qid Q0 docid rank score tag``. A malformed file raises
:class:`TrecFormatError` naming the file, the line and what is wrong with it.

Metrics (:data:`METRICS`): NDCG@10 and @30 with exponential gain ``2**grade - 1`` (ranx
``ndcg_burges``, the same gain and discount as evaluation/metrics.py), P@10, MAP@100, MRR@100 and
recall@100; a judgment with grade ≥ 1 counts as relevant for the binary ones. A query of the run
that has no relevant judgment scores 0 on every metric (it is kept in the mean, as in metrics.py).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

#: ranx metric name -> report name.
METRICS = {"ndcg_burges@10": "ndcg@10", "ndcg_burges@30": "ndcg@30", "precision@10": "p@10",
           "map@100": "map@100", "mrr@100": "mrr@100", "recall@100": "recall@100"}
RUN_DEPTH = 100

Qrels = dict[str, dict[str, int]]
RunRows = dict[str, list[tuple[str, float]]]


class TrecFormatError(ValueError):
    """A qrels, queries or run file that cannot be read; the message names file and line."""


def _grade(value: object, where: str) -> int:
    try:
        grade = int(str(value))
    except ValueError:
        raise TrecFormatError(f"{where}: relevance grade {value!r} is not an integer") from None
    if grade < 0:
        raise TrecFormatError(f"{where}: relevance grade {grade} is negative")
    return grade


def read_qrels(path: Path) -> Qrels:
    """Judgments from a JSON or TREC qrels file (detected from the first non-blank character)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TrecFormatError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if not stripped:
        raise TrecFormatError(f"{path}: empty qrels file")
    qrels = _json_qrels(path, text) if stripped[0] == "{" else _trec_qrels(path, text)
    if not qrels:
        raise TrecFormatError(f"{path}: no judgments")
    return qrels


def _json_qrels(path: Path, text: str) -> Qrels:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrecFormatError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    qrels: Qrels = {}
    for qid, docs in data.items():
        if not isinstance(docs, dict):
            raise TrecFormatError(f"{path}: query {qid!r}: expected an object {{docid: grade}}, got {type(docs).__name__}")
        qrels[str(qid)] = {str(d): _grade(g, f"{path}: query {qid!r}, doc {d!r}") for d, g in docs.items()}
    return qrels


def _trec_qrels(path: Path, text: str) -> Qrels:
    qrels: Qrels = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 4:
            raise TrecFormatError(f"{path}:{lineno}: expected 4 columns 'qid iteration docid grade', got {len(parts)}: {line.strip()[:80]!r}")
        qid, _iteration, docid, grade = parts
        docs = qrels.setdefault(qid, {})
        if docid in docs:
            raise TrecFormatError(f"{path}:{lineno}: query {qid!r} judges doc {docid!r} twice")
        docs[docid] = _grade(grade, f"{path}:{lineno}")
    return qrels


def read_queries(path: Path) -> list[dict]:
    """``[{"qid", "text", "charges"}]`` from a JSON-lines file (LeCaRD and LeCaRDv2 field names accepted)."""
    out, seen = [], set()
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrecFormatError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise TrecFormatError(f"{path}:{lineno}: expected a JSON object")
            qid = next((obj[k] for k in ("id", "qid", "ridx") if obj.get(k) not in (None, "")), None)
            text = next((obj[k] for k in ("fact", "q", "query", "text") if isinstance(obj.get(k), str) and obj[k].strip()), None)
            if qid is None:
                raise TrecFormatError(f"{path}:{lineno}: field 'id' (or 'qid', 'ridx') is missing")
            if text is None:
                raise TrecFormatError(f"{path}:{lineno}: field 'fact' (or 'q', 'query', 'text') is missing or empty")
            if str(qid) in seen:
                raise TrecFormatError(f"{path}:{lineno}: query id {qid!r} appears twice")
            seen.add(str(qid))
            charges = obj.get("charges", obj.get("crime")) or None
            out.append({"qid": str(qid), "text": text, "charges": list(charges) if charges else None})
    if not out:
        raise TrecFormatError(f"{path}: no queries")
    return out


def write_run(path: Path, run: RunRows, tag: str) -> None:
    """TREC run file: ``qid Q0 docid rank score tag``, best first."""
    with path.open("w", encoding="utf-8") as fh:
        for qid, docs in run.items():
            for rank, (docid, score) in enumerate(docs, 1):
                fh.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def read_run(path: Path) -> RunRows:
    """A TREC run file back into ``{qid: [(docid, score)]}`` in rank order."""
    run: RunRows = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            raise TrecFormatError(f"{path}:{lineno}: expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}")
        try:
            run.setdefault(parts[0], []).append((parts[2], float(parts[4])))
        except ValueError:
            raise TrecFormatError(f"{path}:{lineno}: score {parts[4]!r} is not a number") from None
    return run


def ranx_scores(qrels: Qrels, run: RunRows) -> dict:
    """Mean :data:`METRICS` of ``run`` over all its queries, with ranx; plus how many had judgments.

    ranx needs every query in both objects and at least one relevant judgment per query, so queries
    without one are scored 0 here and averaged in (as evaluation/metrics.py does for NDCG).
    """
    from ranx import Qrels as RQrels
    from ranx import Run as RRun
    from ranx import evaluate

    judged = [q for q in run if any(g > 0 for g in qrels.get(q, {}).values())]
    out = {"queries": len(run), "queries_with_relevant": len(judged)}
    if not judged:
        return out | dict.fromkeys(METRICS.values(), 0.0)
    # ranx ranks by score; ties are broken by doc id, so scores are made strictly decreasing by rank
    run_dict = {q: {d: float(len(run[q]) - i) for i, (d, _s) in enumerate(run[q])} for q in judged}
    for q in judged:
        if not run_dict[q]:
            run_dict[q] = {"__none__": 0.0}
    qrels_dict = {q: {d: g for d, g in qrels[q].items() if g > 0} for q in judged}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 cast notice inside ranx
        scores = evaluate(RQrels(qrels_dict), RRun(run_dict), list(METRICS), return_mean=False, make_comparable=True)
    for metric, name in METRICS.items():
        out[name] = round(float(sum(scores[metric])) / len(run), 4)
    return out


def write_qrels(path: Path, qrels: Qrels) -> None:
    """TREC qrels file: ``qid 0 docid grade``."""
    with path.open("w", encoding="utf-8") as fh:
        for qid, docs in qrels.items():
            for docid, grade in docs.items():
                fh.write(f"{qid} 0 {docid} {grade}\n")

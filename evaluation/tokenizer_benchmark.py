"""Benchmark: Chinese segmenters for BM25 on the pooled CAIL split (speed, retrieval quality, agreement).

Run ``.venv/bin/python -m evaluation.tokenizer_benchmark [--cail-dir DIR] [--only NAME ...]``. Every
segmenter goes through the same filter as ``indexing.segment.tokenize`` (stopwords, single characters and
punctuation dropped) and, where it can, the same legal user dictionary. For each one the report gives

- docs/s: CAIL facts segmented per second over all 5,072 pooled records (one pass, after a warm-up;
  dictionary loading is not counted),
- P@10 / NDCG@10: same-charge precision and graded NDCG of BM25-only retrieval (bm25s, see
  ``indexing.bm25``) over the 80 % corpus part for the 20 % queries (``evaluation.metrics``),
- Jaccard: mean per-document Jaccard similarity of the token *sets* with the reference (Python jieba),
- legal: whether 容留他人吸毒, 认罪认罚 and 血液中乙醇含量 come out as single tokens.

Segmenters: Python jieba (the reference), jieba's own ``enable_parallel(2)`` on one batch, jieba without
the HMM for unknown words, rjieba (jieba-rs, Rust) with and without the legal dictionary or the HMM, and
rjieba in a 2-process pool. Timings depend on the machine's load: compare rows of one run only.

Exits with status 2 and a message when the shared data folder is missing.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.datasets import DEFAULT_CAIL_DIR, cail_label, cail_split, load_cail_pooled
from evaluation.metrics import encode_labels, retrieval_scores
from indexing.bm25 import BM25Index
from indexing.errors import SourceError
from indexing.segment import content_tokens, jieba_cutter, rjieba_cutter

logger = logging.getLogger(__name__)

K = 10
REFERENCE = "jieba"
#: Terms of the legal dictionary that the default dictionaries split; a good segmenter keeps them whole.
LEGAL_PROBE = "被告人又能认罪认罚，在家中容留他人吸毒，经鉴定李某血液中乙醇含量为248.4mg/100ml。"
LEGAL_WORDS = ("认罪认罚", "容留他人吸毒", "血液中乙醇含量")

#: A batch segmenter: all texts in, one token list per text out (filtered with ``content_tokens``).
BatchTokenizer = Callable[[Sequence[str]], list[list[str]]]


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    name: str
    docs_per_s: float
    p_at_10: float
    ndcg_at_10: float
    jaccard: float
    tokens_per_doc: float
    legal_whole: bool
    note: str = ""


# --- segmenters ---------------------------------------------------------------------------------


def _serial(cut: Callable[[str], list[str]]) -> BatchTokenizer:
    return lambda texts: [content_tokens(cut(t or "")) for t in texts]


def _jieba_parallel(processes: int) -> BatchTokenizer:
    """jieba.enable_parallel: it forks a pool at that call and cuts a text line by line in the workers.

    The legal words are added *before* the fork, so the workers inherit them; documents are joined with
    newlines (their own newlines replaced by spaces) and the output is split back at the newline tokens.
    """
    import jieba

    cut = jieba_cutter()  # loads the dictionary into jieba's default tokenizer before the fork
    del cut

    def run(texts: Sequence[str]) -> list[list[str]]:
        jieba.enable_parallel(processes)
        try:
            raw = jieba.lcut("\n".join((t or "").replace("\r", " ").replace("\n", " ") for t in texts))
        finally:
            jieba.disable_parallel()
        docs: list[list[str]] = [[]]
        for tok in raw:
            if tok == "\n":
                docs.append([])
            else:
                docs[-1].append(tok)
        if len(docs) != len(texts):
            raise RuntimeError(f"jieba parallel returned {len(docs)} documents for {len(texts)}")
        return [content_tokens(d) for d in docs]

    return run


def _jieba_no_hmm() -> BatchTokenizer:
    import jieba

    jieba_cutter()
    return _serial(lambda t: jieba.lcut(t, HMM=False))


def _rjieba_no_hmm() -> BatchTokenizer:
    cut = rjieba_cutter()
    return _serial(lambda t: cut(t, False))


def _rjieba_plain() -> BatchTokenizer:
    import rjieba

    return _serial(rjieba.Jieba().cut)


_POOL_CUT: Callable[[str], list[str]] | None = None


def _pool_init() -> None:
    global _POOL_CUT
    _POOL_CUT = rjieba_cutter()


def _pool_tokenize(text: str) -> list[str]:
    assert _POOL_CUT is not None
    return content_tokens(_POOL_CUT(text or ""))


def _rjieba_pool(processes: int) -> BatchTokenizer:
    def run(texts: Sequence[str]) -> list[list[str]]:
        with multiprocessing.get_context().Pool(processes, initializer=_pool_init) as pool:
            return pool.map(_pool_tokenize, texts, chunksize=64)

    return run


#: name -> (factory, note). The factory loads the dictionary; its time is not counted.
SEGMENTERS: dict[str, tuple[Callable[[], BatchTokenizer], str]] = {
    REFERENCE: (
        lambda: _serial(jieba_cutter()),
        "Python jieba + legal dictionary (the old indexing.segment)",
    ),
    "jieba parallel(2)": (lambda: _jieba_parallel(2), "jieba.enable_parallel(2), one newline-joined batch"),
    "jieba HMM off": (_jieba_no_hmm, "Python jieba + legal dictionary, no HMM for unknown words"),
    "rjieba": (lambda: _serial(rjieba_cutter()), "jieba-rs + legal dictionary (rjieba add_word)"),
    "rjieba HMM off": (_rjieba_no_hmm, "jieba-rs + legal dictionary, no HMM for unknown words"),
    "rjieba no dict": (_rjieba_plain, "jieba-rs, default dictionary only"),
    "rjieba pool(2)": (lambda: _rjieba_pool(2), "jieba-rs + legal dictionary, 2-process Pool.map"),
}


# --- measurement ---------------------------------------------------------------------------------


def _jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    union = sa | sb
    return 1.0 if not union else len(sa & sb) / len(union)


def _bm25_top_k(corpus_tokens: list[list[str]], query_tokens: list[list[str]], k: int) -> np.ndarray:
    index = BM25Index.build(corpus_tokens)
    out = np.empty((len(query_tokens), k), dtype=np.int64)
    for i, toks in enumerate(query_tokens):
        scores = index.scores(toks)
        out[i] = np.argsort(-scores, kind="stable")[:k]
    return out


def run(data_dir: Path, only: Sequence[str] | None = None) -> list[Row]:
    """Segment the pooled CAIL facts with each segmenter and score BM25 retrieval (see the module doc)."""
    corpus, queries = cail_split(load_cail_pooled(data_dir))
    c_text = [r["fact"] for r in corpus]
    q_text = [r["fact"] for r in queries]
    texts = c_text + q_text
    c_lab, q_lab = encode_labels([cail_label(r) for r in corpus], [cail_label(r) for r in queries])
    names = list(only) if only else list(SEGMENTERS)
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    rows: list[Row] = []
    reference: list[list[str]] | None = None
    for name in names:
        factory, note = SEGMENTERS[name]
        try:
            segment = factory()
        except ImportError as exc:
            logger.warning("%s: skipped (%s)", name, exc)
            continue
        probe = segment([LEGAL_PROBE])[0]
        legal_whole = all(w in probe for w in LEGAL_WORDS)
        segment(texts[:50])  # warm-up (lazy tables, pool start-up paths)
        start = time.perf_counter()
        tokens = segment(texts)
        elapsed = time.perf_counter() - start
        if reference is None:
            reference = tokens
        neighbours = _bm25_top_k(tokens[: len(c_text)], tokens[len(c_text) :], K)
        scores = retrieval_scores(q_lab, c_lab, neighbours, K)
        row = Row(
            name=name,
            docs_per_s=len(texts) / elapsed,
            p_at_10=scores.p_at_k,
            ndcg_at_10=scores.ndcg_at_k,
            jaccard=float(np.mean([_jaccard(a, b) for a, b in zip(tokens, reference, strict=True)])),
            tokens_per_doc=float(np.mean([len(t) for t in tokens])),
            legal_whole=legal_whole,
            note=note,
        )
        logger.info(
            "%s: %.0f docs/s, P@10 %.4f, NDCG@10 %.4f", name, row.docs_per_s, row.p_at_10, row.ndcg_at_10
        )
        rows.append(row)
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table of the rows, with P@10/NDCG@10 differences to the reference."""
    ref = next((r for r in rows if r.name == REFERENCE), rows[0])
    lines = [
        "| segmenter | docs/s | P@10 | ΔP@10 | NDCG@10 | ΔNDCG@10 | Jaccard vs jieba | tokens/doc | legal words whole | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.docs_per_s:,.0f} | {r.p_at_10:.4f} | {r.p_at_10 - ref.p_at_10:+.4f} | "
            f"{r.ndcg_at_10:.4f} | {r.ndcg_at_10 - ref.ndcg_at_10:+.4f} | {r.jaccard:.4f} | "
            f"{r.tokens_per_doc:.1f} | {'yes' if r.legal_whole else 'no'} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point; prints the table (exit status 2 when the data is missing)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cail-dir", dest="data_dir", type=Path, default=DEFAULT_CAIL_DIR)
    parser.add_argument(
        "--only", nargs="+", choices=list(SEGMENTERS), help="segmenters to run (jieba always runs)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    if not args.data_dir.is_dir():
        print(  # noqa: T201 - the message is the output
            f"CAIL2018 sample not found at {args.data_dir}: this benchmark needs the shared data folder "
            "(../shared/data/cail2018_sample with train.jsonl and test.jsonl); pass --cail-dir.",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        rows = run(args.data_dir, args.only)
    except SourceError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        sys.exit(2)
    print(format_table(rows))  # noqa: T201 - the report is the output


if __name__ == "__main__":
    main()

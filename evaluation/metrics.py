"""Pure retrieval metrics for similar-case search: same-charge P@k, graded NDCG@k, neighbour MAE.

Why these three: a judge wants neighbours that (1) carry the same charges, (2) within that charge are
alike in the law applied and the punishment, and (3) together give a sentence range close to the
case's own. P@k measures (1) only; a label-supervised embedder can max it out while ranking neighbours
within a charge at random. NDCG@k with graded relevance and the neighbour-median sentence error
measure (2) and (3), so an embedder has to be good at both to win.

Definitions (per query, over its top-k corpus neighbours; k = 10 in every report):

- **same-charge P@k**: share of the k neighbours whose charge *set* equals the query's.
- **graded relevance** of a corpus case to a query: 3 = same charges AND same articles AND a similar
  sentence (fixed terms within ±25 % of the query's months; death/life: the same type), 2 = same
  charges and articles, 1 = same charges, 0 otherwise.
- **NDCG@k**: DCG with gain ``2**grade - 1`` and discount ``log2(rank + 1)`` (rank from 1), divided by
  the ideal DCG of the best k grades the *whole corpus* holds for that query (0 when the corpus holds no
  relevant case). The exponential gain makes a grade-3 neighbour worth 7 grade-1 ones, so within-charge
  ordering counts, not only the charge.
- **neighbour MAE**: ``|median months of the fixed-term neighbours - query months|``, averaged over
  queries with a fixed-term sentence; death/life neighbours are left out of the median, and a query
  whose k neighbours are all death/life is skipped (counted in ``n_mae``).

Functions take plain arrays and return numbers; nothing here reads files or models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: Relative band around the query's months that counts as "similar sentence" (grade 3).
SENTENCE_TOLERANCE = 0.25
_KIND_CODES = {"term": 0, "life": 1, "death": 2}


@dataclass(frozen=True)
class CaseLabel:
    """The labels a retrieval judgement compares: charge set, article set, sentence type and months."""

    charges: frozenset[str]
    articles: frozenset[int]
    kind: str  # "term", "life" or "death"
    months: float | None  # None unless kind == "term"


@dataclass(frozen=True)
class LabelArrays:
    """Case labels as parallel integer/float arrays so relevance against a corpus is vectorized.

    ``charge_ids``/``article_ids`` index a vocabulary of charge sets/article sets shared by the queries
    and the corpus (see :func:`encode_labels`); ``months`` is NaN for death and life.
    """

    charge_ids: np.ndarray
    article_ids: np.ndarray
    kinds: np.ndarray
    months: np.ndarray

    def __len__(self) -> int:
        return len(self.charge_ids)


@dataclass(frozen=True)
class RetrievalScores:
    """Mean metrics over the queries, and how many queries each mean is taken over."""

    p_at_k: float
    ndcg_at_k: float
    mae: float
    n_queries: int
    n_mae: int
    k: int


def encode_labels(*groups: Sequence[CaseLabel]) -> tuple[LabelArrays, ...]:
    """Encode several label lists (e.g. queries, corpus) with one shared charge/article-set vocabulary."""
    charge_vocab: dict[frozenset[str], int] = {}
    article_vocab: dict[frozenset[int], int] = {}
    out = []
    for labels in groups:
        out.append(
            LabelArrays(
                charge_ids=np.array([charge_vocab.setdefault(x.charges, len(charge_vocab)) for x in labels]),
                article_ids=np.array(
                    [article_vocab.setdefault(x.articles, len(article_vocab)) for x in labels]
                ),
                kinds=np.array([_KIND_CODES[x.kind] for x in labels]),
                months=np.array([np.nan if x.months is None else float(x.months) for x in labels]),
            )
        )
    return tuple(out)


def p_at_k(hits: Sequence[bool] | np.ndarray, k: int) -> float:
    """Share of the first ``k`` retrieved items that are hits (missing ranks count as misses)."""
    return float(np.sum(np.asarray(hits[:k], dtype=bool))) / k


def dcg_at_k(grades: Sequence[int] | np.ndarray, k: int) -> float:
    """DCG with exponential gain ``2**g - 1`` and discount ``log2(rank + 1)``."""
    g = np.asarray(grades[:k], dtype=float)
    return float(np.sum((2.0**g - 1.0) / np.log2(np.arange(2, len(g) + 2))))


def ndcg_at_k(grades: Sequence[int] | np.ndarray, pool_grades: Iterable[int] | np.ndarray, k: int) -> float:
    """NDCG@k of retrieved ``grades`` against the ideal ranking of ``pool_grades`` (the whole corpus).

    Returns 0.0 when the pool holds no relevant item, so such queries pull the mean down equally for
    every method instead of being silently dropped.
    """
    ideal = np.sort(np.asarray(list(pool_grades), dtype=float))[::-1][:k]
    idcg = dcg_at_k(ideal, k)
    return dcg_at_k(grades, k) / idcg if idcg > 0 else 0.0


def graded_relevance(
    query_charge: int, query_article: int, query_kind: int, query_months: float, docs: LabelArrays
) -> np.ndarray:
    """Grades 0–3 of every case in ``docs`` for one query (see the module docstring)."""
    same_charge = docs.charge_ids == query_charge
    same_articles = same_charge & (docs.article_ids == query_article)
    if query_kind == _KIND_CODES["term"]:
        with np.errstate(invalid="ignore"):
            close = (docs.kinds == query_kind) & (
                np.abs(docs.months - query_months) <= SENTENCE_TOLERANCE * query_months
            )
    else:
        close = docs.kinds == query_kind
    return same_charge.astype(int) + same_articles.astype(int) + (same_articles & close).astype(int)


def neighbour_median_error(query_months: float | None, neighbour_months: np.ndarray) -> float | None:
    """``|median fixed-term months of the neighbours - query months|``; None when it is undefined.

    Undefined when the query has no fixed term (death/life) or no neighbour has one (NaN entries are
    death/life neighbours and are left out of the median).
    """
    if query_months is None or math.isnan(query_months):
        return None
    fixed = neighbour_months[~np.isnan(neighbour_months)]
    if fixed.size == 0:
        return None
    return abs(float(np.median(fixed)) - query_months)


def per_query_scores(
    queries: LabelArrays, corpus: LabelArrays, neighbours: np.ndarray, k: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-query P@k, NDCG@k and neighbour error (NaN where undefined), for paired comparisons.

    Args:
        queries: Labels of the queries.
        corpus: Labels of the corpus cases the neighbour indices point into.
        neighbours: ``(n_queries, >= k)`` corpus indices, best first; -1 marks a missing rank.
        k: Cut-off.
    """
    if neighbours.ndim != 2 or neighbours.shape[0] != len(queries) or neighbours.shape[1] < k:
        raise ValueError(f"neighbours must have shape ({len(queries)}, >= {k}); got {neighbours.shape}")
    p = np.zeros(len(queries))
    ndcg = np.zeros(len(queries))
    err = np.full(len(queries), np.nan)
    for i in range(len(queries)):
        row = neighbours[i, :k]
        row = row[row >= 0]
        grades = graded_relevance(
            int(queries.charge_ids[i]),
            int(queries.article_ids[i]),
            int(queries.kinds[i]),
            float(queries.months[i]),
            corpus,
        )
        p[i] = p_at_k(corpus.charge_ids[row] == queries.charge_ids[i], k)
        ndcg[i] = ndcg_at_k(grades[row], grades, k)
        e = neighbour_median_error(float(queries.months[i]), corpus.months[row])
        if e is not None:
            err[i] = e
    return p, ndcg, err


def retrieval_scores(
    queries: LabelArrays, corpus: LabelArrays, neighbours: np.ndarray, k: int = 10
) -> RetrievalScores:
    """Mean same-charge P@k, NDCG@k and neighbour MAE of a retrieval run (see :func:`per_query_scores`)."""
    p, ndcg, err = per_query_scores(queries, corpus, neighbours, k)
    defined = ~np.isnan(err)
    return RetrievalScores(
        p_at_k=float(p.mean()),
        ndcg_at_k=float(ndcg.mean()),
        mae=float(err[defined].mean()) if defined.any() else float("nan"),
        n_queries=len(p),
        n_mae=int(defined.sum()),
        k=k,
    )


def latency_percentiles(ms: Sequence[float], digits: int = 2) -> dict[str, float]:
    """p50/p95/p99 of latencies in milliseconds, as the speed reports print them."""
    arr = np.asarray(ms, dtype=float)
    return {f"p{q}_ms": round(float(np.percentile(arr, q)), digits) for q in (50, 95, 99)}

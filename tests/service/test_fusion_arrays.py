"""The array form of the fused ranking gives exactly the per-candidate definition's hits and scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexing.dense import search
from indexing.fusion import BM25_ONLY, DENSE_ONLY, HYBRID, Draft, Fusion, Hit, element_similarity, retrieve
from indexing.search_index import Filters, SearchIndex
from service.deps import IndexHolder
from service.retrieve import prepare_draft
from tests.conftest import SAMPLES
from tests.service.conftest import Built


def reference_retrieve(draft: Draft, index: SearchIndex, k: int, filters: Filters | None = None,
                       fusion: Fusion = HYBRID) -> list[Hit]:
    """The ranking written one candidate at a time, as it was before it was vectorized (with the fusion fix of
    issue 18: a dense-only candidate keeps its BM25 score)."""
    mask = index.mask(filters or Filters())
    dense = index.dense_candidates(draft.vector, 200, mask)
    lexical = index.bm25_candidates(draft.tokens, 200, mask)
    if (draft.charges_given and fusion.given_charge) or (draft.charges_source == "predicted" and fusion.predicted_charge):
        same = index.mask(Filters(charges=list(draft.record.charges)))
        if mask is not None and same is not None:
            same &= mask
        dense.update(index.dense_candidates(draft.vector, 200, same))
    candidates = set(dense) | set(lexical)
    if not candidates:
        return []
    missing = [r for r in candidates if r not in dense]
    if missing:
        dense.update(zip(missing, (np.asarray(index.embeddings[missing]) @ draft.vector).tolist(), strict=True))

    def scaled(values: dict[int, float]) -> dict[int, float]:
        lo, hi = min(values.values()), max(values.values())
        return {r: (v - lo) / ((hi - lo) or 1.0) for r, v in values.items()}

    # every candidate's real BM25 score, also for those only the dense search found
    bm25_all = index.bm25.scores(draft.tokens)
    dense_s, bm25_s = scaled(dense), scaled({r: float(bm25_all[r]) for r in candidates})
    q = set(draft.record.charges)
    hits = []
    for r in candidates:
        c = set(index.rows[r]["charges"])
        overlap = len(q & c) / len(q | c) if q else 0.0
        w = (fusion.given_charge if draft.charges_given
             else fusion.predicted_charge if draft.charges_source == "predicted" else fusion.charge)
        score = fusion.dense * dense_s[r] + fusion.bm25 * bm25_s[r] + w * overlap
        if fusion.elements:
            score += fusion.elements * element_similarity(draft.record, index.rows[r])
        hits.append(Hit(row=r, score=score, dense=dense[r], bm25=float(bm25_all[r]), charge_overlap=overlap))
    hits.sort(key=lambda h: (-h.score, h.row))
    return hits[:k]


def _drafts() -> list[tuple[str, list[str] | None]]:
    out: list[tuple[str, list[str] | None]] = []
    for line in (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:60:3]:
        rec = json.loads(line)
        out.append((rec["fact"], None))
        out.append((rec["fact"], rec["meta"]["accusation"]))
    for line in (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[:10]:
        out.append((json.loads(line)["q"], None))
    return out


@pytest.mark.parametrize("fusion", [HYBRID, DENSE_ONLY, BM25_ONLY], ids=["hybrid", "dense", "bm25"])
def test_array_ranking_equals_the_per_candidate_definition(built: Built, fusion: Fusion) -> None:
    index = IndexHolder(built.data_dir).get()
    for text, charges in _drafts():
        draft = prepare_draft(text, index, charges)
        for filters in (None, Filters(exclude_flagged=True), Filters(year_from=2015)):
            assert retrieve(draft, index, 41, filters, fusion) == reference_retrieve(draft, index, 41, filters, fusion)


def test_bm25_scores_are_bm25s_own(built: Built) -> None:
    """indexing.bm25 sums bm25s's precomputed postings in one bincount; the scores are bm25s's."""
    index = IndexHolder(built.data_dir).get()
    model = index.bm25.model
    for text, _charges in _drafts():
        tokens = prepare_draft(text, index).tokens
        for query in (tokens, tokens + tokens[:5]):  # a repeated token counts again, as in bm25s
            known = [t for t in query if t in model.vocab_dict]
            np.testing.assert_allclose(index.bm25.scores(query), model.get_scores(known), rtol=1e-5, atol=1e-6)
    assert not index.bm25.scores(["§§ no such token §§"]).any()


def test_exhaustive_dense_candidates_are_the_faiss_index_own(built: Built) -> None:
    """A Flat index's top rows come from numpy on the same vectors: the same rows and scores as faiss."""
    index = IndexHolder(built.data_dir).get()
    assert index.dense.exhaustive
    for text, _charges in _drafts():
        vector = prepare_draft(text, index).vector
        for n in (1, 10, 200, len(index.rows) + 5):
            got = index.dense_candidates(vector, n, None)
            rows, scores = search(index.dense.faiss, vector, min(n, len(index.rows)))
            expected = dict(zip(rows.tolist(), scores.tolist(), strict=True))
            # equal scores at the n-th place may be broken either way: compare the scores, then the rows above them
            np.testing.assert_allclose(sorted(got.values()), sorted(expected.values()), rtol=0, atol=1e-5)
            cut = min(expected.values())
            assert {r for r, s in got.items() if s > cut + 1e-5} == {r for r, s in expected.items() if s > cut + 1e-5}


def test_a_candidate_found_only_by_dense_search_keeps_its_bm25_score(built: Built) -> None:
    """Issue 18: a dense-only candidate was fused with BM25 = 0 although its BM25 score had been computed."""
    index = IndexHolder(built.data_dir).get()
    dense_only = 0
    for text, charges in _drafts():
        draft = prepare_draft(text, index, charges)
        bm25_all = index.bm25.scores(draft.tokens)
        lexical = index.bm25_candidates(draft.tokens, 200, None)
        for hit in retrieve(draft, index, len(index.rows), None, HYBRID):
            assert hit.bm25 == pytest.approx(float(bm25_all[hit.row]), rel=1e-6, abs=1e-9)
            dense_only += hit.row not in lexical and bm25_all[hit.row] > 0
    assert dense_only > 0, "the drafts must reach candidates beyond BM25's top 200 for this test to mean anything"

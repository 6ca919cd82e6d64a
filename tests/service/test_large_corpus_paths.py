"""The paths a large corpus takes, run on the real sample build: a quantized IVF index with exact
re-scoring and filtered search, BM25 candidates chosen within a postings budget, and the row columns
written by the build. Each is checked against the exact path it replaces at scale."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexing import bm25 as bm25_module
from indexing import dense as dense_module
from indexing.columns import RowColumns
from indexing.dense import DenseIndex, build_faiss, default_faiss_spec, save_faiss
from indexing.fusion import retrieve
from indexing.rows import Filters, RowsOnDisk, RowStore
from indexing.search_index import SearchIndex
from service.retrieve import prepare_draft
from tests.conftest import SAMPLES, copy_data_dir
from tests.service.conftest import Built


def _version(data_dir: Path) -> Path:
    indexes = data_dir / "indexes"
    return indexes / (indexes / "CURRENT").read_text(encoding="utf-8").strip()


def _texts() -> list[str]:
    lines = (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:90:3]
    lecard = (SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[:10]
    return [json.loads(x)["fact"] for x in lines] + [json.loads(x)["q"] for x in lecard]


@pytest.fixture(scope="module")
def ivf_copy(built: Built, tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchIndex, SearchIndex]:
    """The sample build as served (Flat), and a copy of it whose vectors are served by IVF32,SQ8."""
    exact = SearchIndex(_version(built.data_dir), with_sentencing=False)
    copy = copy_data_dir(built.data_dir, tmp_path_factory.mktemp("ivf") / "d")
    version = _version(copy)
    (version / "dense.faiss").unlink()  # hard-linked to the original: replace, never write through
    save_faiss(build_faiss(np.asarray(exact.embeddings), "IVF32,SQ8"), version / "dense.faiss")
    return exact, SearchIndex(version, with_sentencing=False)


def test_the_served_index_is_chosen_by_size() -> None:
    assert default_faiss_spec(49_999) == "Flat"
    assert default_faiss_spec(50_000) == "IVF1024,SQ8"
    assert default_faiss_spec(1_000_000) == "IVF4096,SQ8"


def test_ivf_candidates_carry_exact_scores_and_find_the_exact_top_rows(ivf_copy: tuple[SearchIndex, SearchIndex],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    exact, ivf = ivf_copy
    assert exact.dense.exhaustive and not ivf.dense.exhaustive
    cols = exact.store.columns
    common = max(cols.charge_names, key=lambda c: len(cols.rows_of_charge(c)))
    theft = exact.mask(Filters(charges=[common]))
    assert theft is not None and 100 < theft.sum() < len(exact) / 2
    agreement = []
    for restricted in (False, True):  # restricted: the filtered search inside the IVF index, not an exact scan
        monkeypatch.setattr(dense_module, "EXACT_FILTERED_UP_TO", 0 if restricted else 10_000)
        for text in _texts():
            vector = prepare_draft(text, exact).vector
            for mask in (None, theft):
                want = exact.dense_candidates(vector, 10, mask)
                got = ivf.dense_candidates(vector, 10, mask)
                assert len(got) == 10
                for row, score in got.items():  # every score is the row's exact cosine
                    assert score == pytest.approx(float(exact.embeddings[row] @ vector), abs=1e-5)
                    assert mask is None or mask[row]
                agreement.append(len(set(got) & set(want)) / 10)
    assert np.mean(agreement) >= 0.95


def test_fused_results_on_ivf_agree_with_the_exact_index(ivf_copy: tuple[SearchIndex, SearchIndex]) -> None:
    exact, ivf = ivf_copy
    agreement = []
    for text in _texts():
        draft = prepare_draft(text, exact)
        for filters in (None, Filters(exclude_flagged=True)):
            want = {h.row for h in retrieve(draft, exact, 10, filters)}
            agreement.append(len({h.row for h in retrieve(draft, ivf, 10, filters)} & want) / 10)
    assert np.mean(agreement) >= 0.95


def test_bm25_within_a_postings_budget_gives_exact_scores_to_its_candidates(built: Built) -> None:
    index = SearchIndex(_version(built.data_dir), with_sentencing=False)
    bm25 = index.bm25
    for token_id in range(0, len(bm25._indptr) - 1, 97):  # postings ascend by document (binary search needs it)
        docs, _ = bm25.postings(token_id)
        assert (np.diff(docs) > 0).all()
    pruned_some = overlap = 0
    texts = _texts()
    for text in texts:
        tokens = prepare_draft(text, index).tokens
        full = bm25.query(tokens, exact=True)
        assert full.exact
        exact_scores = full.all_scores()
        # twice the default budget's share of a million cases (1 posting per case), as if this corpus were that large
        budget = bm25.query(tokens, budget=2 * len(index))
        pruned_some += not budget.exact
        top = budget.top(200, None)  # as many as fusion asks for
        rows = np.fromiter(top, dtype=np.int64)
        np.testing.assert_allclose([top[r] for r in rows.tolist()], exact_scores[rows], rtol=1e-5)
        sample = np.arange(0, len(index), 7)
        np.testing.assert_allclose(budget.scores_of(sample), exact_scores[sample], rtol=1e-5, atol=1e-6)
        want = set(np.argsort(-exact_scores, kind="stable")[:50].tolist())
        overlap += len(want & set(top)) / 50  # the exact top 50 among the candidates
        # under the budget nothing changes: the default budget is far above this corpus's postings
        assert bm25.query(tokens).exact
        np.testing.assert_array_equal(bm25.query(tokens).all_scores(), exact_scores)
    assert pruned_some == len(texts)
    assert overlap / len(texts) >= 0.9  # 0.967 on the sample build
    assert bm25_module.POSTINGS_BUDGET == 1_000_000


def test_the_build_writes_row_columns_that_equal_the_rows_own(built: Built) -> None:
    version = _version(built.data_dir)
    written = RowColumns.load(version / "columns")
    from_rows = RowColumns.from_rows(RowsOnDisk(version / "cases.jsonl"))
    assert written.meta == from_rows.meta
    for name, array in from_rows.arrays.items():
        np.testing.assert_array_equal(written.arrays[name], array, err_msg=name)
    scanned = RowsOnDisk(version / "cases.jsonl")
    stored = RowsOnDisk(version / "cases.jsonl", written.arrays["row_starts"])
    np.testing.assert_array_equal(stored._starts, scanned._starts)
    assert stored[len(stored) - 1] == scanned[len(scanned) - 1]


def test_a_version_without_columns_is_served_from_its_rows(built: Built, tmp_path: Path) -> None:
    """Versions built before columns were written: the columns come from the rows at load, the same."""
    version = _version(built.data_dir)
    shutil.copy(version / "cases.jsonl", tmp_path / "cases.jsonl")
    old, new = RowStore.load(tmp_path / "cases.jsonl"), RowStore.load(version / "cases.jsonl")
    assert not (tmp_path / "columns").exists()
    some = next(r for r in new if r["charges"] and r["province"])
    for f in (Filters(charges=some["charges"]), Filters(province=some["province"], exclude_flagged=True)):
        np.testing.assert_array_equal(old.mask(f), new.mask(f))
    assert all(old.row_of[r["case_id"]] == new.row_of[r["case_id"]] for r in list(new)[:200])


def test_stored_offsets_that_do_not_match_the_file_are_refused(built: Built, tmp_path: Path) -> None:
    version = _version(built.data_dir)
    shutil.copy(version / "cases.jsonl", tmp_path / "cases.jsonl")
    with (tmp_path / "cases.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("{}\n")
    with pytest.raises(ValueError, match="offsets"):
        RowsOnDisk(tmp_path / "cases.jsonl", RowColumns.load(version / "columns").arrays["row_starts"])


def test_dense_index_alone(tmp_path: Path) -> None:
    """An IVF-SQ8 index over a few clustered vectors answers filtered and unfiltered queries exactly scored."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    vectors = centres[rng.integers(0, 40, 6000)] + 0.3 * rng.normal(size=(6000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    np.save(tmp_path / "embeddings.npy", vectors)
    save_faiss(build_faiss(vectors, "IVF64,SQ8"), tmp_path / "dense.faiss")
    index = DenseIndex(tmp_path)
    mask = rng.random(6000) < 0.2
    assert index.candidates(vectors[0], 5, np.zeros(6000, dtype=bool)) == {}
    for rows in (np.array([5999, 0, 17, 17]), np.arange(6000)[::-1]):  # read by pread, then through a map of its own
        np.testing.assert_array_equal(index.vectors(rows), vectors[rows])
    for q in vectors[:20]:
        got = index.candidates(q, 10, None)
        assert set(got) == set(np.argsort(-(vectors @ q))[:10].tolist())
        scores = np.where(mask, vectors @ q, -np.inf)
        assert set(index.candidates(q, 10, mask)) == set(np.argsort(-scores)[:10].tolist())

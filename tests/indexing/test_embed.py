"""The in-domain embedder trained on real CAIL facts: save/load, vectors, determinism, and that it
actually groups cases by charge. Uses ``data_samples/cail_sample.jsonl`` (1,200 real lines copied
verbatim from the CAIL2018 sample), so it runs without ../shared/data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexing.embed import Embedder
from indexing.embed_modules import CharNgramCaseEmbedding, build_vocab, case_tokens, char_ngrams
from indexing.errors import ArtifactError
from indexing.train_embedder import RECIPE_FILE, train_embedder

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "cail_sample.jsonl"
N_TRAIN = 300
DIM = 32


def _charges(record: dict[str, Any]) -> str:
    return "|".join(sorted(record["meta"]["accusation"]))


def _months(record: dict[str, Any]) -> float | None:
    term = record["meta"]["term_of_imprisonment"]
    return None if term["death_penalty"] or term["life_imprisonment"] else float(term["imprisonment"])


@pytest.fixture(scope="module")
def split() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    order = np.random.default_rng(7).permutation(len(records))
    return [records[i] for i in order[:N_TRAIN]], [records[i] for i in order[N_TRAIN:]]


def _train(records: list[dict[str, Any]], out_dir: Path) -> Path:
    return train_embedder(
        [r["fact"] for r in records],
        [r["meta"]["accusation"] for r in records],
        [r["meta"]["relevant_articles"] for r in records],
        [_months(r) for r in records],
        out_dir,
        dim=DIM,
        epochs=1,
        seed=3,
    )


@pytest.fixture(scope="module")
def model_dir(split: tuple[list[dict[str, Any]], list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(split[0], tmp_path_factory.mktemp("embedder") / "model")


def test_saved_directory_is_a_sentence_transformers_model(model_dir: Path) -> None:
    for name in ("modules.json", "config.json", "vocab.json", "model.safetensors", "README.md", RECIPE_FILE):
        assert (model_dir / name).is_file(), name
    recipe = json.loads((model_dir / RECIPE_FILE).read_text(encoding="utf-8"))
    assert recipe["n_texts"] == N_TRAIN and recipe["settings"]["dim"] == DIM


def test_encode_shape_normalization_and_reload(
    model_dir: Path, split: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    texts = [r["fact"] for r in split[1][:50]]
    embedder = Embedder.load(model_dir)
    vectors = embedder.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (50, embedder.dim)
    assert embedder.dim > DIM  # lexical block plus the charge and severity blocks
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Another batch size changes BLAS blocking, so only the last float bits may differ.
    np.testing.assert_allclose(vectors, embedder.encode(texts, batch_size=7), atol=1e-6)
    np.testing.assert_array_equal(vectors, Embedder.load(str(model_dir)).encode(texts))
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_one_text_goes_through_the_modules_directly_with_the_same_numbers(
    model_dir: Path, split: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    embedder = Embedder.load(model_dir)
    assert embedder._direct  # LeiAn's own module stack: a served draft skips encode()'s plumbing
    assert embedder._one_text is not None  # and torch itself: the module's numpy view
    view, embedder._one_text = embedder._one_text, None
    texts = [r["fact"] for r in split[1][:20]] + ["", "无", "abc 123"]
    through_torch = [embedder.encode([text]) for text in texts]
    embedder._one_text = view
    for text, torch_direct in zip(texts, through_torch, strict=True):
        expected = embedder.model.encode([text], convert_to_numpy=True, normalize_embeddings=True)
        np.testing.assert_array_equal(torch_direct, expected)
        # numpy sums in another order than torch: only the last float bits may differ
        np.testing.assert_allclose(embedder.encode([text]), expected, atol=2e-6)
        assert embedder.encode([text]).dtype == np.float32
    # the view shares the module's weights: it follows them when they change (further training)
    import torch

    module = embedder.model[0]
    with torch.no_grad():
        module.severity_bias += 0.3
        module.embedding.weight[:, :8] *= 2.0
    try:
        expected = embedder.model.encode(texts[:3], convert_to_numpy=True, normalize_embeddings=True, batch_size=1)
        np.testing.assert_allclose(np.concatenate([embedder.encode([t]) for t in texts[:3]]), expected, atol=2e-6)
    finally:
        with torch.no_grad():
            module.severity_bias -= 0.3
            module.embedding.weight[:, :8] /= 2.0


EDGE_TEXTS = ["", "   ", "无", "ABC abc\t\n123", "被告人\u3000张某  盗窃", "\ud800孤立代理项\udfff", "表情😀符号😀", "盗窃现金5,000元、毒品3.5克"]


def _by_definition(module: CharNgramCaseEmbedding, text: str) -> list[int]:
    tokens = case_tokens(text, module.ngram_range, module.magnitudes)
    return sorted(module.token_to_id[t] for t in tokens if t in module.token_to_id)


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 2), (1, 3)])
def test_token_ids_are_the_case_tokens_in_the_vocabulary(
    ngram_range: tuple[int, int], split: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    """The code-point lookup (one- and two-character n-grams) gives exactly the ids of the token sets."""
    texts = [r["fact"] for r in split[0][:150]]
    vocab, _df = build_vocab(texts, ngram_range, min_df=2)
    vocab += ["😀", "表情😀", "\ud800孤", "⟨克1⟩"]  # astral, a surrogate, a magnitude token
    module = CharNgramCaseEmbedding(vocab, embedding_dim=4, ngram_range=ngram_range)
    for text in texts[:60] + [r["fact"] for r in split[1][:60]] + EDGE_TEXTS:
        assert module.token_ids(text) == _by_definition(module, text), text[:40]
        assert module.token_id_array(text).dtype == np.int64


def test_the_trained_module_reads_the_same_ids_as_its_token_sets(model_dir: Path,
                                                                split: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    module = Embedder.load(model_dir).model[0]
    for text in [r["fact"] for r in split[1][:100]] + EDGE_TEXTS:
        assert module.token_ids(text) == _by_definition(module, text), text[:40]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 3), (1, 4)])
def test_char_ngrams_are_every_slice_of_each_length(ngram_range: tuple[int, int]) -> None:
    text = "被告人  张某于2019年盗窃  现金5000元。ABC"
    s = " ".join(text.lower().split())
    lo, hi = ngram_range
    expected = {s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1)}
    assert char_ngrams(text, ngram_range) == expected
    assert char_ngrams("", ngram_range) == set()


def test_training_is_deterministic(
    model_dir: Path, split: tuple[list[dict[str, Any]], list[dict[str, Any]]], tmp_path: Path
) -> None:
    texts = [r["fact"] for r in split[1][:20]]
    again = _train(split[0], tmp_path / "again")
    np.testing.assert_array_equal(Embedder.load(model_dir).encode(texts), Embedder.load(again).encode(texts))


def test_fresh_process_loads_with_plain_sentence_transformers(
    model_dir: Path, split: tuple[list[dict[str, Any]], list[dict[str, Any]]], tmp_path: Path
) -> None:
    texts = [r["fact"] for r in split[1][:5]]
    script = (
        "import json, sys, numpy as np\n"
        "from sentence_transformers import SentenceTransformer\n"
        "m = SentenceTransformer(sys.argv[1], trust_remote_code=True, device='cpu')\n"
        "np.save(sys.argv[3], m.encode(json.load(open(sys.argv[2], encoding='utf-8')), normalize_embeddings=True))\n"
    )
    (tmp_path / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", script, str(model_dir), str(tmp_path / "texts.json"), str(tmp_path / "v.npy")],
        check=True, cwd=ROOT, capture_output=True, timeout=120,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), Embedder.load(model_dir).encode(texts))


def test_nearest_distinct_charge_case_shares_the_query_charge(
    model_dir: Path, split: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    train, held_out = split
    # One training case per charge set: the nearest of them can match the query's charges by chance
    # with probability 1 / len(pool).
    pool: dict[str, str] = {}
    for r in train:
        pool.setdefault(_charges(r), r["fact"])
    queries = [r for r in held_out if _charges(r) in pool][:200]
    assert len(pool) >= 10 and len(queries) >= 100
    embedder = Embedder.load(model_dir)
    names = list(pool)
    pool_vectors = embedder.encode([pool[n] for n in names])
    nearest = (embedder.encode([r["fact"] for r in queries]) @ pool_vectors.T).argmax(axis=1)
    hit_rate = float(np.mean([names[j] == _charges(r) for j, r in zip(nearest, queries, strict=True)]))
    chance = 1 / len(names)
    assert hit_rate > max(0.3, 5 * chance), (hit_rate, chance)


def test_charge_probabilities_come_from_the_model(
    model_dir: Path, split: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    result = Embedder.load(model_dir).charge_probabilities([r["fact"] for r in split[1][:4]])
    assert result is not None
    classes, probs = result
    assert probs.shape == (4, len(classes))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_missing_directory_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        Embedder.load(tmp_path / "no-such-model")


def test_uncached_hub_model_fails_fast_offline() -> None:
    start = time.perf_counter()
    with pytest.raises(ArtifactError, match="no network is used"):
        Embedder.load("leian-tests/this-model-is-not-in-any-cache")
    assert time.perf_counter() - start < 30


def _severity(vectors: np.ndarray, centers: list[float]) -> np.ndarray:
    """The log1p(months) a vector's severity block encodes: the centre its Gaussian bumps peak at."""
    return np.asarray(centers)[np.argmax(vectors[:, -len(centers):], axis=1)]


def test_held_out_query_vectors_remove_the_in_sample_severity_leak(
    split: tuple[list[dict[str, Any]], list[dict[str, Any]]], model_dir: Path
) -> None:
    """In sample the severity block nearly restates each case's own sentence; out of fold it must not."""
    from indexing.train_embedder import held_out_query_vectors

    train, _ = split
    emb = Embedder.load(model_dir)
    texts = [r["fact"] for r in train]
    months = [_months(r) for r in train]
    vectors = emb.encode(texts)
    held = held_out_query_vectors(emb.model, texts, months, vectors, seed=1)
    centers = emb.model[0].severity_centers
    width = len(centers)
    assert held.shape == vectors.shape
    np.testing.assert_array_equal(held[:, :-width], vectors[:, :-width])  # lexical and charge blocks untouched
    np.testing.assert_allclose(np.linalg.norm(held, axis=1), 1.0, atol=1e-5)
    truth = np.log1p(np.array([np.nan if m is None else m for m in months]))
    known = ~np.isnan(truth)
    in_sample = np.corrcoef(_severity(vectors, centers)[known], truth[known])[0, 1]
    out_of_fold = np.corrcoef(_severity(held, centers)[known], truth[known])[0, 1]
    assert in_sample > 0.9  # the leak: the ridge restates the training sentences
    assert out_of_fold < in_sample - 0.1
    # the same inputs give the same vectors (the folds are seeded)
    np.testing.assert_array_equal(held, held_out_query_vectors(emb.model, texts, months, vectors, seed=1))

"""The fast views of the sentencing model's estimators (indexing/fast_predict.py) give scikit-learn's numbers.

On the model fitted from real CAIL records (tests/indexing/conftest.py): every booster and the text
model, on the features of real cases, with unseen categories and missing values mixed in, agree with
scikit-learn's own predict to float rounding, and a case gives bit-identical outputs alone or in a batch
(the service batches concurrent assessments, and an answer must not depend on who else was asking).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor, VotingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from indexing.fast_predict import FlatBooster, FlatForest, TextRidge, fast_view
from indexing.sentencing import SentencingModel, _limit_threads


def _features(cail: dict) -> np.ndarray:
    model: SentencingModel = cail["model"]
    return model._features(cail["train"] + cail["held"], cail["train_nb"] + cail["held_nb"])


def _boosters(model: SentencingModel) -> dict:
    found = {name: getattr(model, name) for name in ("regressor", "scale_model", "type_classifier", "probation_classifier")}
    return {name: est for name, est in found.items() if est is not None}


def _sklearn(est, x: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    with _limit_threads(1):
        return est.predict_proba(x) if hasattr(est, "predict_proba") else est.predict(x)


def _flat(view: FlatBooster, x: np.ndarray) -> np.ndarray:
    return view.predict_proba(x) if hasattr(view.estimator, "predict_proba") else view.predict(x)


def test_boosters_match_scikit_learn_on_real_cases_and_odd_inputs(cail: dict) -> None:
    x = _features(cail)
    odd = x.copy()
    odd[:40, 0] = 9999.0  # a charge code the booster never saw: the missing-value branch
    odd[40:80, 0] = np.nan
    odd[80:90, 0] = -1.0
    odd[90:140, 1:6] = np.nan
    boosters = _boosters(cail["model"])
    assert {"regressor", "scale_model", "type_classifier"} <= set(boosters)
    for name, est in boosters.items():
        view = FlatBooster(est)
        assert view.any_categorical, f"{name}: the charge is a categorical split"
        for data in (x, odd):
            np.testing.assert_allclose(_flat(view, data), _sklearn(est, data), rtol=0, atol=1e-12, err_msg=name)


def test_a_case_gets_the_same_bits_alone_and_in_a_batch(cail: dict) -> None:
    x = _features(cail)[:64]
    for name, est in _boosters(cail["model"]).items():
        view = FlatBooster(est)
        batched = _flat(view, x)
        alone = np.concatenate([_flat(view, x[i : i + 1]) for i in range(len(x))])
        assert np.array_equal(batched, alone), name


def test_boosters_walked_together_give_the_same_bits_as_alone(cail: dict) -> None:
    x = _features(cail)
    x[:30, 0] = np.nan  # missing and unseen charges too
    x[30:50, 0] = 9999.0
    views = {name: FlatBooster(est) for name, est in _boosters(cail["model"]).items()}
    # and a booster without categorical splits beside the ones with them (no bitsets of its own)
    plain = HistGradientBoostingRegressor(max_iter=7, max_depth=3, random_state=0).fit(x, np.arange(len(x)) % 13)
    views["plain"] = FlatBooster(plain)
    assert not views["plain"].any_categorical and views["regressor"].any_categorical
    forest = FlatForest(views)
    for rows in (x, x[:1]):
        together = forest.raw_predict(rows)
        for name, view in views.items():
            assert np.array_equal(together[name], view.raw_predict(rows)), name
    assert forest.raw_predict(x[:0])["regressor"].shape == (0, 1)


def test_text_ridge_matches_the_pipeline(cail: dict) -> None:
    pipeline = cail["model"].text_model
    assert pipeline is not None
    view = TextRidge(pipeline)
    assert view.grams is not None  # the model's char (1, 2) analyzer is read on code points
    texts = [r.facts or "" for r in cail["train"][:200] + cail["held"][:100]] + [
        "", "  ", "abc 123", "被告人", "ABC\t\n  被告人\u3000\u3000张某", "\ud800孤立\udfff", "😀表情😀😀", "盗盗盗窃窃"]
    np.testing.assert_allclose(view.predict(texts), pipeline.predict(texts), rtol=0, atol=1e-12)
    strings = TextRidge(pipeline)
    strings.grams = None  # the scikit-learn analyzer itself: the same terms, the same counts, the same order
    for text in texts:
        np.testing.assert_array_equal(np.concatenate(view._terms(text)), np.concatenate(strings._terms(text)))


def test_the_model_predicts_the_same_through_its_views(cail: dict) -> None:
    model: SentencingModel = cail["model"]
    assert not model._needs_thread_limit  # every estimator has a view: predictions skip the thread limit
    assert model._forest is not None  # and its boosters are walked together
    records, nbs = cail["held"][:80], cail["held_nb"][:80]
    fast = model._core(model._features(records, nbs))
    x = model._features(records, nbs)
    with _limit_threads(1):
        slow = {"mu": model.regressor.predict(x), "proba": model.type_classifier.predict_proba(x)}  # type: ignore[union-attr]
    np.testing.assert_allclose(fast["mu"], slow["mu"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast["proba"], slow["proba"], rtol=0, atol=1e-12)


def test_estimators_without_a_view_are_used_as_they_are(cail: dict) -> None:
    x = np.nan_to_num(_features(cail)[:200, 1:6])
    y = np.arange(len(x), dtype=float)
    voting = VotingRegressor([("a", HistGradientBoostingRegressor(max_iter=5)), ("b", HistGradientBoostingRegressor(max_iter=3))]).fit(x, y)
    assert fast_view(voting) is voting
    other = make_pipeline(StandardScaler()).fit(x)
    assert fast_view(other) is other
    with pytest.raises(ValueError, match="fitted"):
        FlatBooster(HistGradientBoostingRegressor())
    with pytest.raises(ValueError, match="TfidfVectorizer"):
        TextRidge(other)


def test_a_view_that_disagrees_with_scikit_learn_is_dropped(cail: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard against a library upgrade: the model's probe rows decide whether a view is kept."""
    from indexing.fast_predict import checked_view

    model: SentencingModel = cail["model"]
    probe = model.probe
    assert probe["x"] is not None and len(probe["x"]) >= 20 and probe["texts"]
    assert isinstance(checked_view(model.regressor, probe["x"], probe["texts"]), FlatBooster)
    assert isinstance(checked_view(model.text_model, probe["x"], probe["texts"]), TextRidge)
    real_predict = FlatBooster.predict
    monkeypatch.setattr(FlatBooster, "predict", lambda self, x: real_predict(self, x) + 1e-3)  # an upgrade's drift
    with pytest.warns(RuntimeWarning, match="disagrees"):
        assert checked_view(model.regressor, probe["x"], probe["texts"]) is model.regressor


def test_the_embedders_one_text_view_is_checked_at_load(cail: dict, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from indexing.embed import Embedder
    from indexing.embed_modules import OneTextEmbedding
    from indexing.train_embedder import train_embedder

    records = cail["train"][:300]
    train_embedder([r.facts for r in records], [r.charges for r in records], [r.articles for r in records],
                   [r.outcome.months if r.outcome else None for r in records], tmp_path / "emb", epochs=0, dim=32)
    good = Embedder.load(str(tmp_path / "emb"))
    assert good._one_text is not None
    expected = good.encode(["被告人张某盗窃手机一部"])
    real_call = OneTextEmbedding.__call__
    monkeypatch.setattr(OneTextEmbedding, "__call__", lambda self, text: real_call(self, text) * np.linspace(1, 2, good.dim))
    with pytest.warns(RuntimeWarning, match="disagrees"):
        drifted = Embedder.load(str(tmp_path / "emb"))
    assert drifted._one_text is None
    np.testing.assert_allclose(drifted.encode(["被告人张某盗窃手机一部"]), expected, atol=1e-5)

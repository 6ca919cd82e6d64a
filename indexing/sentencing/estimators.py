"""The scikit-learn estimators the model is made of, how they are fitted (out of fold where a later stage
learns from them), and the thread limit their predictions run under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, VotingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from threadpoolctl import ThreadpoolController

from indexing.schema import CaseRecord
from indexing.sentencing.features import SentencingConfig, _monotonic, _Spec
from indexing.sentencing.outcomes import TERM_TYPES

_LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib")


_CONTROLLER: ThreadpoolController | None = None


def _limit_threads(limits: int | None):  # type: ignore[no-untyped-def]
    """Limit OpenMP/BLAS threads with one controller made on first use.

    Why not ``threadpool_limits`` per call: it rescans every loaded native library each time, 2.7 ms
    here and 8-11 ms in a served worker (torch and faiss loaded), a fifth of an assessment's model time.
    The libraries that matter (scikit-learn's OpenMP, numpy's BLAS) are loaded before the first call.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=limits)


def library_versions() -> dict[str, str]:
    """Versions the estimators were pickled with (joblib files are only safe with the same ones)."""
    from indexing.artifacts import library_versions as versions_of

    return versions_of(_LIBRARIES)


def _booster_settings(cfg: SentencingConfig, seed: int, **overrides: Any) -> dict[str, Any]:
    """What every booster of the model shares: column 0 (the charge) is categorical, every iteration
    is kept (no early stopping: the calibration part, not a validation split, judges the fit), seeded."""
    return {
        "learning_rate": cfg.learning_rate,
        "max_depth": cfg.max_depth,
        "min_samples_leaf": cfg.min_samples_leaf,
        "categorical_features": [0],
        "early_stopping": False,
        "random_state": seed,
        **overrides,
    }


def _regressor(cfg: SentencingConfig, seed: int, spec: _Spec | None = None) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        monotonic_cst=_monotonic(spec, cfg) if spec is not None else None,
        loss=cfg.loss,
        max_iter=cfg.max_iter,
        **_booster_settings(cfg, seed),
    )


def _term_model(
    cfg: SentencingConfig, seed: int, spec: _Spec
) -> HistGradientBoostingRegressor | VotingRegressor:
    """The term regression: one booster, or (``cfg.ensemble``) the mean of three that err differently.

    Squared loss fits the mean log term, absolute loss the median (robust to the odd 20-year
    outlier), and a deeper, slower one catches interactions; averaging them cut CAIL MAE by ~0.15
    months over the best single one across seeds.
    """
    if not cfg.ensemble:
        return _regressor(cfg, seed, spec)
    variants = [
        cfg,
        SentencingConfig(**{**asdict(cfg), "loss": "absolute_error"}),
        SentencingConfig(**{**asdict(cfg), "max_depth": None, "learning_rate": 0.03, "max_iter": 400}),
    ]
    return VotingRegressor([(f"m{i}", _regressor(v, seed, spec)) for i, v in enumerate(variants)])


def _classifier(cfg: SentencingConfig, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=max(50, cfg.max_iter // 3), **_booster_settings(cfg, seed))


def _fillable(x: np.ndarray) -> np.ndarray:
    """``x`` with columns that hold no value at all set to 0 (the booster cannot bin an empty column).

    Happens inside folds and subsets (a drug type seen only in non-custodial cases); a constant
    column is never split on, and NaN at prediction time goes where the training majority went.
    """
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


def _folds(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1).permutation(n) % k


TEXT_NGRAMS = (1, 2)
TEXT_MAX_FEATURES = 60000
TEXT_ALPHA = 1.0


def _text_pipeline() -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=TEXT_NGRAMS, sublinear_tf=True, min_df=2, max_features=TEXT_MAX_FEATURES),
        Ridge(alpha=TEXT_ALPHA),
    )


def _fit_text_model(
    fit_recs: Sequence[CaseRecord], custodial: np.ndarray, y: np.ndarray, cfg: SentencingConfig, seed: int
) -> tuple[np.ndarray, Pipeline]:
    """Out-of-fold text predictions for the fit part (so the booster sees honest ones) + final model."""
    texts = np.array([r.facts or "" for r in fit_recs], dtype=object)
    oof = np.full(len(fit_recs), np.nan)
    folds = _folds(len(fit_recs), cfg.inner_folds, seed)
    for f in range(cfg.inner_folds):
        train = (folds != f) & custodial
        held = folds == f
        if train.sum() < 10 or not held.any():
            continue
        oof[held] = _text_pipeline().fit(texts[train], y[train]).predict(texts[held])
    model = _text_pipeline().fit(texts[custodial], y[custodial])
    oof[np.array([not t for t in texts])] = np.nan
    return oof, model


def _text_predict(model: Any, records: Sequence[CaseRecord]) -> np.ndarray:
    """The text model's prediction per record (NaN without facts); ``model`` is the pipeline or its TextRidge view."""
    texts = [r.facts or "" for r in records]
    pred = model.predict(texts)
    return np.where([bool(t) for t in texts], pred, np.nan)


def _fit_scale(
    x: np.ndarray, y: np.ndarray, cfg: SentencingConfig, seed: int, spec: _Spec
) -> tuple[HistGradientBoostingRegressor | None, float]:
    """Learn the expected absolute log residual from out-of-fold residuals (normalized conformal).

    Returns the scale model (None when ``cfg.normalized`` is off) and a floor: the 5th percentile of
    the out-of-fold absolute residuals, which keeps a case the booster is over-sure of from getting a
    zero-width range; without a scale model the floor is the mean absolute residual, used for all.
    """
    folds = _folds(len(y), min(cfg.inner_folds, 3), seed)
    resid = np.zeros(len(y))
    for f in np.unique(folds):
        held = folds == f
        resid[held] = y[held] - _regressor(cfg, seed, spec).fit(_fillable(x[~held]), y[~held]).predict(x[held])
    target = np.abs(resid)
    if not cfg.normalized:
        return None, float(max(target.mean(), 1e-3))
    scale = HistGradientBoostingRegressor(
        max_iter=max(50, cfg.max_iter // 3),
        **_booster_settings(cfg, seed, max_depth=3, min_samples_leaf=max(20, cfg.min_samples_leaf)),
    ).fit(_fillable(x), target)
    return scale, float(max(np.quantile(target, 0.05), 1e-3))


def _fit_probation(
    fit_recs: Sequence[CaseRecord], x: np.ndarray, cfg: SentencingConfig, seed: int
) -> tuple[HistGradientBoostingClassifier | None, float | None]:
    """Probation classifier on custodial cases from sources that record probation at all.

    CAIL states months only: its cases say nothing about 缓刑 and must not teach "never suspended".
    """
    sources = {r.source for r in fit_recs if r.outcome is not None and r.outcome.probation}
    rows = [
        i
        for i, r in enumerate(fit_recs)
        if r.source in sources and r.outcome is not None and r.outcome.type in TERM_TYPES
    ]
    if not rows:
        return None, None
    labels = np.array([fit_recs[i].outcome.probation for i in rows])  # type: ignore[union-attr]
    rate = float(labels.mean())
    if labels.sum() < 10 or (~labels).sum() < 10:
        return None, rate
    return _classifier(cfg, seed).fit(_fillable(x[rows]), labels), rate

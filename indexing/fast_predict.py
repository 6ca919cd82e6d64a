"""Fast prediction views of the sentencing model's fitted scikit-learn estimators, for one case at a time.

scikit-learn is built for batches: per call it validates its input (through narwhals and
``inspect``), and it predicts a booster one tree at a time. A served assessment is one case, so
those per-call costs were nearly all of its time. The views here compute the same numbers with a
few numpy operations; the fitted estimators stay the model of record (they are what is saved) and a
view is made from one at load time, so nothing new is persisted.

**FlatBooster** (HistGradientBoosting). scikit-learn predicts one tree at a time, each through a Python call into Cython with its own
output array. The sentencing model is 900 shallow trees (300 term, 100 scale, 100 x 5 type), so one
assessment cost about 900 such calls, 9 ms, most of a served request. Here every tree of a model is
one slice of the same node arrays, and a batch of rows walks all of them together, one numpy step
per tree level (depth 4 here): about 0.2 ms per model for one row, and a batch costs little more.

The walk is the one of ``sklearn/ensemble/_hist_gradient_boosting/_predictor.pyx``
(``_predict_one_from_raw_data``): NaN goes where the node's missing values went; a categorical value
goes left when it is in the node's left bitset, right when it is a category seen in training, and
otherwise (negative, unknown) the missing-value way. The input goes through the same ordinal
encoding of categorical columns as the model's own preprocessor. ``tests/indexing/test_fast_predict.py``
checks the outputs against scikit-learn's on real sentencing features; only the order in which the
leaf values are summed differs (last-bit float differences).

**TextRidge** (TfidfVectorizer + Ridge pipeline). The prediction is linear in the TF-IDF vector,
so for one text it is a dot product over the text's distinct n-grams: the vectorizer's own analyzer,
counts, (sublinear) tf x idf, L2 norm, then the ridge weights; no sparse matrices or input checks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

HistGradientBoosting = HistGradientBoostingRegressor | HistGradientBoostingClassifier


class FlatBooster:
    """``predict`` / ``predict_proba`` of a fitted HistGradientBoosting model, all trees at once.

    Args:
        estimator: A fitted ``HistGradientBoostingRegressor`` or ``HistGradientBoostingClassifier``
            (predicting from raw, unbinned features, as ``predict`` does).
    """

    def __init__(self, estimator: HistGradientBoosting) -> None:
        if not hasattr(estimator, "_predictors"):
            raise ValueError("FlatBooster needs a fitted HistGradientBoosting model")
        self.estimator = estimator
        self.n_features = int(estimator.n_features_in_)
        self.n_outputs = int(estimator.n_trees_per_iteration_)
        self.baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(1, -1)
        self._encoding(estimator)
        self._flatten(estimator)

    # ------------------------------------------------------------------ preprocessing

    def _encoding(self, estimator: HistGradientBoosting) -> None:
        """The column order and category codes of the model's own preprocessor (ColumnTransformer)."""
        pre = getattr(estimator, "_preprocessor", None)
        self.order = np.arange(self.n_features)
        self.categories: list[tuple[int, np.ndarray]] = []  # (output column, sorted known raw values)
        if pre is None:
            return
        order: list[int] = []
        for name, transformer, columns in pre.transformers_:
            if name == "remainder" or transformer == "drop":
                continue
            idx = np.flatnonzero(columns) if np.asarray(columns).dtype == bool else np.asarray(columns, dtype=np.int64)
            if name == "encoder":
                for j, cats in enumerate(transformer.categories_):
                    values = np.asarray(cats, dtype=np.float64)
                    self.categories.append((len(order) + j, values[~np.isnan(values)]))
            order.extend(int(i) for i in idx)
        if sorted(order) != list(range(self.n_features)):
            raise ValueError(f"unexpected preprocessor layout: columns {order}")
        self.order = np.asarray(order, dtype=np.int64)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Raw features -> the model's internal ones: columns reordered, categories as codes (NaN unknown)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got shape {x.shape}")
        out = x[:, self.order]
        for col, known in self.categories:
            raw = out[:, col]
            pos = np.searchsorted(known, raw)
            hit = (pos < len(known)) & (known[np.minimum(pos, len(known) - 1)] == raw)
            out[:, col] = np.where(hit, pos, np.nan)
        return out

    # ------------------------------------------------------------------ trees

    def _flatten(self, estimator: HistGradientBoosting) -> None:
        known_bits, f_idx_map = estimator._bin_mapper.make_known_categories_bitsets()
        feature, threshold, missing_left, left, right, value, categorical, bitset = ([] for _ in range(8))
        roots, outputs, raw_bitsets = [], [], []
        start = 0
        bitset_start = 0
        depth = 0
        for iteration in estimator._predictors:
            for k, predictor in enumerate(iteration):
                nodes = predictor.nodes
                n = len(nodes)
                ids = np.arange(start, start + n, dtype=np.int64)
                leaf = nodes["is_leaf"].astype(bool)
                feature.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64))
                threshold.append(nodes["num_threshold"].astype(np.float64))
                missing_left.append(nodes["missing_go_to_left"].astype(bool))
                left.append(np.where(leaf, ids, start + nodes["left"].astype(np.int64)))  # a leaf stays put
                right.append(np.where(leaf, ids, start + nodes["right"].astype(np.int64)))
                value.append(nodes["value"].astype(np.float64))
                is_cat = nodes["is_categorical"].astype(bool) & ~leaf
                categorical.append(is_cat)
                bitset.append(np.where(is_cat, bitset_start + nodes["bitset_idx"].astype(np.int64), 0))
                raw_bitsets.append(np.asarray(predictor.raw_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8))
                bitset_start += len(raw_bitsets[-1])
                roots.append(start)
                outputs.append(k)
                depth = max(depth, int(nodes["depth"].max()))
                start += n
        self.feature = np.concatenate(feature)
        self.threshold = np.concatenate(threshold)
        self.missing_left = np.concatenate(missing_left)
        self.left = np.concatenate(left)
        self.right = np.concatenate(right)
        self.value = np.concatenate(value)
        self.categorical = np.concatenate(categorical)
        self.bitset = np.concatenate(bitset)
        self.raw_bitsets = np.concatenate(raw_bitsets) if bitset_start else np.zeros((1, 8), dtype=np.uint32)
        self.known_bitsets = np.asarray(known_bits, dtype=np.uint32).reshape(-1, 8)
        self.known_row = np.asarray(f_idx_map, dtype=np.int64)[self.feature]  # per node: its feature's known-bitset row
        # trees grouped by output (a classifier has one per class and iteration), so that each output
        # sums one contiguous block of columns: per row, and so the same for a row alone or in a batch
        by_output = np.argsort(np.asarray(outputs), kind="stable")
        self.roots = np.asarray(roots, dtype=np.int64)[by_output]
        bounds = np.searchsorted(np.asarray(outputs)[by_output], np.arange(self.n_outputs + 1))
        self.output_slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.depth = depth
        self.any_categorical = bool(self.categorical.any())

    def raw_predict(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_outputs)`` sum of leaf values plus the baseline: the estimator's ``_raw_predict``."""
        data = self.transform(x)
        n = len(data)
        if n == 0:
            return np.zeros((0, self.n_outputs))
        rows = np.arange(n)[:, None]
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        for _ in range(self.depth):
            v = data[rows, self.feature[node]]
            nan = np.isnan(v)
            go_left = v <= self.threshold[node]
            missing = nan
            if self.any_categorical:
                cat = self.categorical[node]
                code = np.where(nan | (v < 0), 0, v).astype(np.int64) & 255  # the Cython's uint8 cast
                word, bit = code >> 5, (code & 31).astype(np.uint32)
                in_left = ((self.raw_bitsets[self.bitset[node], word] >> bit) & 1).astype(bool)
                known = ((self.known_bitsets[self.known_row[node], word] >> bit) & 1).astype(bool)
                go_left = np.where(cat, in_left, go_left)
                missing = nan | (cat & ((v < 0) | (~in_left & ~known)))
            go_left = np.where(missing, self.missing_left[node], go_left)
            node = np.where(go_left, self.left[node], self.right[node])
        leaves = self.value[node]
        sums = np.stack([np.ascontiguousarray(leaves[:, part]).sum(axis=1) for part in self.output_slices], axis=1)
        return sums + self.baseline

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The regressor's ``predict``."""
        if isinstance(self.estimator, HistGradientBoostingClassifier):
            raise TypeError("predict() of a classifier: use predict_proba()")
        return self.estimator._loss.link.inverse(self.raw_predict(x).ravel())

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """The classifier's ``predict_proba``."""
        if not isinstance(self.estimator, HistGradientBoostingClassifier):
            raise TypeError("predict_proba() of a regressor: use predict()")
        return self.estimator._loss.predict_proba(self.raw_predict(x))


class TextRidge:
    """``predict`` of a fitted ``make_pipeline(TfidfVectorizer(...), Ridge(...))`` for a few texts.

    Args:
        pipeline: The fitted two-step pipeline; anything else raises ``ValueError`` (callers then use
            the pipeline itself, see :func:`fast_view`).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        steps = [step for _name, step in pipeline.steps]
        if len(steps) != 2 or not isinstance(steps[0], TfidfVectorizer) or not isinstance(steps[1], Ridge):
            raise ValueError("TextRidge needs a TfidfVectorizer + Ridge pipeline")
        vectorizer, ridge = steps
        coef = np.asarray(ridge.coef_, dtype=np.float64)
        if coef.ndim != 1 or vectorizer.binary or vectorizer.norm not in ("l2", None):
            raise ValueError("TextRidge handles one target, counted (not binary) terms and l2 or no norm")
        self.estimator = pipeline
        self.analyzer = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.sublinear = bool(vectorizer.sublinear_tf)
        self.normalize = vectorizer.norm == "l2"
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64) if vectorizer.use_idf else np.ones(len(coef))
        self.coef = coef
        self.intercept = float(ridge.intercept_)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """One prediction per text, as ``pipeline.predict(texts)``."""
        out = np.empty(len(texts))
        vocabulary = self.vocabulary
        for i, text in enumerate(texts):
            counts = Counter(self.analyzer(text))
            known = counts.keys() & vocabulary.keys()  # a C-level intersection, then C-level lookups
            if not known:
                out[i] = self.intercept
                continue
            ids = np.fromiter(map(vocabulary.__getitem__, known), dtype=np.int64, count=len(known))
            tf = np.fromiter(map(counts.__getitem__, known), dtype=np.float64, count=len(known))
            order = np.argsort(ids)  # summed in vocabulary order: the last bits must not depend on set order
            ids, tf = ids[order], tf[order]
            if self.sublinear:
                tf = np.log(tf) + 1.0
            w = tf * self.idf[ids]
            norm = math.sqrt(float(w @ w)) if self.normalize else 1.0
            out[i] = self.intercept + float(w @ self.coef[ids]) / norm
        return out


def fast_view(estimator: Any) -> Any:
    """The fast view of a fitted estimator when there is one, else the estimator itself (same API)."""
    if isinstance(estimator, HistGradientBoostingRegressor | HistGradientBoostingClassifier):
        return FlatBooster(estimator)
    if isinstance(estimator, Pipeline):
        try:
            return TextRidge(estimator)
        except ValueError:
            return estimator
    return estimator

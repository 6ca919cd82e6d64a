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
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from indexing.char_grams import GramTable, distinct, gram_keys

_SKLEARN_WHITESPACE = re.compile(r"\s\s+")  # as VectorizerMixin._white_spaces

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
        if len(data) == 0:
            return np.zeros((0, self.n_outputs))
        return self.raw_from_leaves(_walk(self, data))

    def raw_from_leaves(self, leaves: np.ndarray) -> np.ndarray:
        """Each output's sum of its trees' leaf values (``leaves``: one column per tree), plus the baseline."""
        sums = np.stack([np.ascontiguousarray(leaves[:, part]).sum(axis=1) for part in self.output_slices], axis=1)
        return sums + self.baseline

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The regressor's ``predict``."""
        return self.predict_from_raw(self.raw_predict(x))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """The classifier's ``predict_proba``."""
        return self.predict_proba_from_raw(self.raw_predict(x))

    def predict_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """``predict`` from :meth:`raw_predict`'s output."""
        if isinstance(self.estimator, HistGradientBoostingClassifier):
            raise TypeError("predict() of a classifier: use predict_proba()")
        return self.estimator._loss.link.inverse(raw.ravel())

    def predict_proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """``predict_proba`` from :meth:`raw_predict`'s output."""
        if not isinstance(self.estimator, HistGradientBoostingClassifier):
            raise TypeError("predict_proba() of a regressor: use predict()")
        return self.estimator._loss.predict_proba(raw)


def _walk(forest: FlatBooster | FlatForest, data: np.ndarray) -> np.ndarray:
    """The leaf value each row of ``data`` (internal features) reaches in each tree: ``(n, n_trees)``."""
    f = forest
    rows = np.arange(len(data))[:, None]
    node = np.broadcast_to(f.roots, (len(data), len(f.roots))).copy()
    for _ in range(f.depth):
        v = data[rows, f.feature[node]]
        nan = np.isnan(v)
        go_left = v <= f.threshold[node]
        missing = nan
        if f.any_categorical:
            cat = f.categorical[node]
            code = np.where(nan | (v < 0), 0, v).astype(np.int64) & 255  # the Cython's uint8 cast
            word, bit = code >> 5, (code & 31).astype(np.uint32)
            in_left = ((f.raw_bitsets[f.bitset[node], word] >> bit) & 1).astype(bool)
            known = ((f.known_bitsets[f.known_row[node], word] >> bit) & 1).astype(bool)
            go_left = np.where(cat, in_left, go_left)
            missing = nan | (cat & ((v < 0) | (~in_left & ~known)))
        go_left = np.where(missing, f.missing_left[node], go_left)
        node = np.where(go_left, f.left[node], f.right[node])
    return f.value[node]


class FlatForest:
    """Several FlatBoosters that read the same raw features, walked together.

    Why: the sentencing model asks three or four boosters (term, scale, type, probation) about the
    same case, and for one case each walk is a few dozen numpy steps whose cost hardly depends on how
    many trees they cover. Here each booster's internal features sit side by side in one matrix and
    its node arrays are offset into shared ones, so one walk serves all; each booster then sums its
    own trees' leaves exactly as alone (the same columns in the same order: the same bits).

    Args:
        boosters: The views by name, e.g. ``{"regressor": FlatBooster(...), ...}``.
    """

    def __init__(self, boosters: dict[str, FlatBooster]) -> None:
        self.boosters = dict(boosters)
        arrays: dict[str, list[np.ndarray]] = {k: [] for k in (
            "feature", "threshold", "missing_left", "left", "right", "value", "categorical", "bitset",
            "known_row", "roots", "raw_bitsets", "known_bitsets")}
        self._trees: dict[str, slice] = {}
        col = node = bits = known = tree = 0
        for name, b in self.boosters.items():
            known_bitsets = b.known_bitsets if len(b.known_bitsets) else np.zeros((1, 8), dtype=np.uint32)
            arrays["feature"].append(b.feature + col)
            arrays["left"].append(b.left + node)
            arrays["right"].append(b.right + node)
            arrays["roots"].append(b.roots + node)
            arrays["bitset"].append(b.bitset + bits)
            arrays["known_row"].append(np.minimum(b.known_row, len(known_bitsets) - 1) + known)  # only read at categorical nodes
            for k in ("threshold", "missing_left", "value", "categorical"):
                arrays[k].append(getattr(b, k))
            arrays["raw_bitsets"].append(b.raw_bitsets)
            arrays["known_bitsets"].append(known_bitsets)
            self._trees[name] = slice(tree, tree + len(b.roots))
            col, node, tree = col + b.n_features, node + len(b.feature), tree + len(b.roots)
            bits, known = bits + len(b.raw_bitsets), known + len(known_bitsets)
        for k, parts in arrays.items():
            setattr(self, k, np.concatenate(parts))
        self.depth = max(b.depth for b in self.boosters.values())
        self.any_categorical = any(b.any_categorical for b in self.boosters.values())

    def raw_predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Each booster's :meth:`FlatBooster.raw_predict` of ``x``, from one walk."""
        data = np.concatenate([b.transform(x) for b in self.boosters.values()], axis=1)
        if len(data) == 0:
            return {name: np.zeros((0, b.n_outputs)) for name, b in self.boosters.items()}
        leaves = _walk(self, data)
        return {name: b.raw_from_leaves(leaves[:, self._trees[name]]) for name, b in self.boosters.items()}


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
        # scikit-learn's own char analyzer, on code points (indexing.char_grams), where it is the plain one
        lo, hi = vectorizer.ngram_range
        plain = (vectorizer.analyzer == "char" and vectorizer.input == "content" and vectorizer.lowercase
                 and vectorizer.preprocessor is None and vectorizer.strip_accents is None and 1 <= lo <= hi <= 2
                 and all(1 <= len(g) <= 2 for g in self.vocabulary))
        self.grams = GramTable((i, g) for g, i in self.vocabulary.items()) if plain else None
        self.ngram_range = (lo, hi)

    def _terms(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The known terms of ``text`` as (vocabulary ids, counts), in vocabulary order."""
        if self.grams is not None:
            # TfidfVectorizer's char analyzer: lower-case, runs of 2+ whitespace as one space, every n-gram
            keys, counts = distinct(gram_keys(_SKLEARN_WHITESPACE.sub(" ", text.lower()), *self.ngram_range), counts=True)
            hit, ids = self.grams.lookup(keys)
            tf = counts[hit].astype(np.float64)
        else:
            found = Counter(self.analyzer(text))
            known = found.keys() & self.vocabulary.keys()  # a C-level intersection, then C-level lookups
            ids = np.fromiter(map(self.vocabulary.__getitem__, known), dtype=np.int64, count=len(known))
            tf = np.fromiter(map(found.__getitem__, known), dtype=np.float64, count=len(known))
        order = np.argsort(ids, kind="stable")  # summed in vocabulary order: the bits must not depend on set order
        return ids[order], tf[order]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """One prediction per text, as ``pipeline.predict(texts)``."""
        out = np.empty(len(texts))
        for i, text in enumerate(texts):
            ids, tf = self._terms(text)
            if not len(ids):
                out[i] = self.intercept
                continue
            if self.sublinear:
                tf = np.log(tf) + 1.0
            w = tf * self.idf[ids]
            norm = math.sqrt(float(w @ w)) if self.normalize else 1.0
            out[i] = self.intercept + float(w @ self.coef[ids]) / norm
        return out


def checked_view(estimator: Any, probe_x: np.ndarray | None, probe_texts: Sequence[str] | None) -> Any:
    """:func:`fast_view`, kept only if it gives the estimator's own numbers on probe inputs.

    The views read scikit-learn's private tree arrays and the vectorizer's analyzer; a scikit-learn
    upgrade that changed them would otherwise silently change predictions. The model keeps a few of
    its fit rows (and texts) as probes; a view that disagrees on them, or fails to build, is replaced by
    the estimator itself (slower, same answers), with a warning.
    """
    import warnings

    try:
        view = fast_view(estimator)
        if view is estimator:
            return estimator
        if isinstance(view, TextRidge):
            if probe_texts:
                same = np.allclose(view.predict(list(probe_texts)), estimator.predict(list(probe_texts)), atol=1e-9)
            else:
                same = True
        elif probe_x is None or not len(probe_x):
            same = True
        elif hasattr(estimator, "predict_proba"):
            same = np.allclose(view.predict_proba(probe_x), estimator.predict_proba(probe_x), atol=1e-9)
        else:
            same = np.allclose(view.predict(probe_x), estimator.predict(probe_x), atol=1e-9)
    except Exception as exc:  # noqa: BLE001 - any failure of the re-implementation means: use the original
        warnings.warn(f"fast view of {type(estimator).__name__} failed ({exc}); predicting with scikit-learn",
                      RuntimeWarning, stacklevel=2)
        return estimator
    if not same:
        warnings.warn(f"fast view of {type(estimator).__name__} disagrees with scikit-learn on the model's probe rows "
                      "(a library upgrade?); predicting with scikit-learn", RuntimeWarning, stacklevel=2)
        return estimator
    return view


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

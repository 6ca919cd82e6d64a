"""Charge prediction (罪名) from a draft's facts alone, optionally joined with its similar cases' votes.

Why: judges search before they settle the charge and litigants never give one, while retrieval,
statistics and the sentencing model all key on the charge. The charges a draft names after 犯/构成
(:func:`indexing.extract.extract_charges`) are usually none for plain facts, and the majority of the
top-10 similar cases is right only about four times in five; a supervised model over the facts does
better. The similar cases' votes can join it with a weight learned on the inner split (which may be 0:
on CAIL, with a TF-IDF stand-in for the search, they have not added anything measurable).

The model:

* **Features**: character n-gram TF-IDF (sublinear tf) of the facts after :func:`charge_text`, which
  folds digits and pseudonymized names (张某, 李某1, 王×) into one placeholder each, so that neither
  amounts' digits nor a surname can carry a charge. CAIL2018 facts hide their own charge's name
  (构成××罪, 实施××三起); in a seeded half of the training facts the names are written out again
  (:func:`restore_masked_charge`), so that the model also learns the word a real draft uses.
* **Scores**: one linear SVM per charge (one-vs-rest; multi-label: most cases have one charge, some
  two or more). Each charge is fitted on its own binary labels, so a charge absent from a fit part
  gets no column rather than a constant score that would win the ranking.
* **Probabilities and decision rule**, learned on an inner validation split of the training data
  (never on a benchmark's held-out part): a logistic calibration of the SVM margin (text only) or of
  the margin plus the share of similar cases carrying the charge (the learned mixing weight), then
  "the most likely charge, plus every other whose probability reaches a threshold" with the threshold
  that maximizes micro-F1 on that split. The final SVMs are then refitted on all training cases.

Saved as a directory of named files: ``charge_model.json`` (config, classes, calibration, thresholds,
inner-validation figures, library versions), ``vocabulary.json``, ``idf.npy``, ``weights.npy``
(float16: the weights are rounded to float16 at fit time, so a loaded model predicts exactly as the
fitted one and the file is half the size) and ``intercepts.npy``. No pickles.
"""

from __future__ import annotations

import json
import logging
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Self

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from indexing.artifacts import library_versions
from indexing.charge_text import (
    NeighbourCharges,
    canonical_charges,
    charge_text,
    restore_masked_charge,
    vote_charges,
)
from indexing.errors import ArtifactError

__all__ = [
    "ChargeCalibration",
    "ChargeModelConfig",
    "ChargePredictor",
    "canonical_charges",
    "charge_text",
    "inner_split",
    "restore_masked_charge",
    "set_figures",
    "vote_charges",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the named-act term of the calibration
_LIBRARIES = ("scikit-learn", "numpy", "scipy")


@dataclass(frozen=True)
class ChargeModelConfig:
    """Settings of the charge model (chosen on an inner validation split, see evaluation/charge_variants.py).

    Args:
        ngram_range: Character n-gram lengths of the TF-IDF features.
        min_df: Minimum document count of an n-gram.
        max_features: Keep the most frequent n-grams only (bounds the model size), None for all.
        c: SVM regularization (larger: fits the training cases more closely).
        class_weight: ``"balanced"`` up-weights each charge's few positives against its many negatives.
        validation_fraction: Share of the training cases held out for calibration and the threshold.
        neighbours: Similar cases per validation case when fit has to find them itself.
        thresholds: Candidate probability thresholds for extra charges.
        vote_weights: Candidate weights of the similar cases' vote share, added to the SVM margin.
        fold: Fold names, numbers and masks in the facts (:func:`charge_text`); False reads them as given.
        restore_masked: Share of training facts whose masked charge names are written
            out (:func:`restore_masked_charge`), seeded; 0 trains on the facts as given.
    """

    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 2
    max_features: int | None = 60_000
    c: float = 5.0
    class_weight: str | None = "balanced"
    validation_fraction: float = 0.2
    neighbours: int = 10
    thresholds: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(2, 20))
    vote_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
    fold: bool = True
    restore_masked: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "ngram_range", tuple(self.ngram_range))
        object.__setattr__(self, "thresholds", tuple(self.thresholds))
        object.__setattr__(self, "vote_weights", tuple(self.vote_weights))


@dataclass
class ChargeCalibration:
    """``p = sigmoid(margin * score + vote * share + named * named + bias)`` and the threshold for extras.

    ``named`` is 1 where the text writes the charge's act itself (抢夺, 诈骗 …, see :func:`named_acts`):
    CAIL masks it in its facts (××), drafts do not, so its weight is learned on the inner split, whose
    facts have their masked names written out in part (``restore_masked``).
    """

    score: float
    vote: float
    bias: float
    threshold: float
    named: float = 0.0
    validation: dict[str, Any] = field(default_factory=dict)


def inner_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (fit, validation) positions of fit's inner split: a seeded permutation, the last share held out."""
    order = np.random.default_rng(seed).permutation(n)
    n_fit = int(round((1 - fraction) * n))
    return order[:n_fit], order[n_fit:]


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise ValueError("texts must be a list of fact texts, not one string; wrap it: [text]")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(
                f"text {i} is empty: charge prediction needs the draft's facts (案件事实); "
                "pass the facts paragraph"
            )


def _prepare(text: str, cfg: ChargeModelConfig) -> str:
    return charge_text(text) if cfg.fold else text.lower()


def _vectorizer(cfg: ChargeModelConfig, vocabulary: list[str] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=cfg.ngram_range,
        sublinear_tf=True,
        min_df=cfg.min_df,
        max_features=cfg.max_features,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def _fit_svms(
    x: sparse.csr_matrix, y: np.ndarray, cfg: ChargeModelConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """One binary SVM per charge column of ``y``: weights (features × charges, float16-rounded), intercepts.

    A charge with no positive case here gets zero weights and a very low intercept (never ranked first).
    """
    weights = np.zeros((x.shape[1], y.shape[1]), dtype=np.float32)
    intercepts = np.full(y.shape[1], -10.0, dtype=np.float32)
    for j in range(y.shape[1]):
        if not y[:, j].any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # liblinear's "did not converge" on a charge with 1-2 cases
            svm = LinearSVC(C=cfg.c, class_weight=cfg.class_weight, random_state=seed).fit(x, y[:, j])
        weights[:, j] = svm.coef_[0]
        intercepts[j] = svm.intercept_[0]
    return weights.astype(np.float16).astype(np.float32), intercepts


def _vote_shares(neighbours: Sequence[NeighbourCharges], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Share of each text's similar cases that carry each charge, and whether the text had any."""
    shares = np.zeros((len(neighbours), len(index)), dtype=np.float32)
    has = np.zeros(len(neighbours), dtype=bool)
    for i, cases in enumerate(neighbours):
        if not cases:
            continue
        has[i] = True
        for charges in cases:
            for charge in canonical_charges(list(charges)):
                if charge in index:
                    shares[i, index[charge]] += 1.0
        shares[i] /= len(cases)
    return shares, has


@cache
def _act_patterns(classes: tuple[str, ...]) -> list[re.Pattern[str] | None]:
    """Per charge, the words that name its act (the name without 罪; each alternative of a selective one)."""
    out: list[re.Pattern[str] | None] = []
    for name in classes:
        body = name.removesuffix("罪")
        parts = [p for p in re.split(r"[、，]", body) if len(p) >= 2]
        # a selective charge's alternatives share the object at the end (走私、贩卖、运输、制造毒品): keep the whole too
        words = sorted({body, *parts}, key=len, reverse=True)
        out.append(re.compile("|".join(re.escape(w) for w in words)) if words else None)
    return out


def named_acts(texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """0/1 per text and charge: whether the text writes the charge's act (抢夺他人财物 for 抢夺罪)."""
    patterns = _act_patterns(tuple(classes))
    out = np.zeros((len(texts), len(classes)), dtype=np.float32)
    for i, text in enumerate(texts):
        for j, pattern in enumerate(patterns):
            if pattern is not None and pattern.search(text):
                out[i, j] = 1.0
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _decide(p: np.ndarray, threshold: float, max_charges: int) -> list[list[int]]:
    """Per row: the most likely charge, then others with ``p >= threshold``, most likely first."""
    out = []
    for row in p:
        order = np.argsort(-row, kind="stable")[:max_charges]
        out.append([int(order[0])] + [int(j) for j in order[1:] if row[j] >= threshold])
    return out


def set_figures(chosen: list[list[int]], truth: np.ndarray) -> dict[str, float]:
    """Micro-F1, top-1 accuracy and exact-set accuracy of chosen indices against a 0/1 truth matrix."""
    tp = fp = exact = top1 = 0
    n_true = int(truth.sum())
    for row, picks in zip(truth, chosen, strict=True):
        hits = sum(int(row[j]) for j in picks)
        tp += hits
        fp += len(picks) - hits
        top1 += int(bool(picks) and row[picks[0]])
        exact += int(hits == len(picks) == int(row.sum()))
    fn = n_true - tp
    return {
        "micro_f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "top1_accuracy": top1 / max(len(chosen), 1),
        "exact_set_accuracy": exact / max(len(chosen), 1),
    }


def _calibrate(
    scores: np.ndarray, truth: np.ndarray, cfg: ChargeModelConfig, max_charges: int, shares: np.ndarray | None,
    named: np.ndarray,
) -> ChargeCalibration:
    """Choose the vote weight and the threshold that maximize micro-F1, with a logistic calibration.

    The combined score is ``margin + weight * share`` (weight 0 when no shares: the text model alone,
    and a candidate with shares, so the combination never does worse than the text on this split);
    a one-feature logistic regression on (case, charge) pairs turns it into a probability.
    """
    best: tuple[float, ChargeCalibration] | None = None
    for weight in cfg.vote_weights if shares is not None else (0.0,):
        combined = scores if shares is None or weight == 0 else scores + weight * shares
        features = np.c_[combined.reshape(-1, 1), named.reshape(-1, 1)]
        lr = LogisticRegression(C=100.0, max_iter=1000).fit(features, truth.ravel())
        a, c, bias = float(lr.coef_[0, 0]), float(lr.coef_[0, 1]), float(lr.intercept_[0])
        p = _sigmoid(a * combined + c * named + bias)
        table: dict[str, float] = {}
        for t in sorted(cfg.thresholds, reverse=True):  # ties go to the higher threshold (fewer extra charges)
            table[f"{t:.2f}"] = round(set_figures(_decide(p, t, max_charges), truth)["micro_f1"], 4)
        threshold = float(max(table, key=lambda k: table[k]))
        cal = ChargeCalibration(score=a, vote=a * weight, bias=bias, threshold=threshold, named=c)
        cal.validation = {
            **set_figures(_decide(p, threshold, max_charges), truth),
            "top1_only_micro_f1": set_figures(_decide(p, 2.0, 1), truth)["micro_f1"],
            "vote_weight": weight,
            "threshold_micro_f1": table,
        }
        if best is None or cal.validation["micro_f1"] > best[0] + 1e-12:  # ties: the smaller weight
            best = (cal.validation["micro_f1"], cal)
    assert best is not None
    return best[1]


class ChargePredictor:
    """Predicts charges from facts; see the module docstring for the model and its decision rule.

    Example:
        >>> model = ChargePredictor().fit(texts, charge_lists, seed=0)  # doctest: +SKIP
        >>> model.predict(["…被告人张某酒后驾驶小型轿车…血液中乙醇含量为195毫克/100毫升…"])  # doctest: +SKIP
        [[('危险驾驶罪', 0.99)]]
    """

    def __init__(self, config: ChargeModelConfig | None = None) -> None:
        self.config = config or ChargeModelConfig()
        self.classes: list[str] = []
        self._vectorizer: TfidfVectorizer | None = None
        self._weights = np.zeros((0, 0), dtype=np.float32)
        self._intercepts = np.zeros(0, dtype=np.float32)
        self._text_cal: ChargeCalibration | None = None
        self._vote_cal: ChargeCalibration | None = None
        self.max_charges = 1
        self.info: dict[str, Any] = {}

    # ---------------------------------------------------------------- fit

    def fit(
        self,
        texts: Sequence[str],
        charge_lists: Sequence[Sequence[str]],
        *,
        seed: int = 0,
        neighbour_charges: Sequence[NeighbourCharges] | None = None,
    ) -> Self:
        """Fit on training facts and their charges.

        Args:
            texts: Fact texts.
            charge_lists: Each text's charges (any spelling :func:`canonical_charges` maps).
            seed: Seeds the inner validation split and the SVMs.
            neighbour_charges: Optional, for each training text, its similar cases' charge lists from
                the retrieval the product will use (the text itself left out). The mixing weight is
                learned from them; without them fit finds each validation case's similar cases
                itself (TF-IDF cosine over the inner fit part).

        Returns:
            self, fitted.

        Raises:
            ValueError: On an empty text, a case without a known charge, or mismatched lengths.
        """
        started = time.perf_counter()
        cfg = self.config
        _check_texts(texts)
        if len(texts) != len(charge_lists):
            raise ValueError(f"{len(texts)} texts but {len(charge_lists)} charge lists: give one list per text")
        if neighbour_charges is not None and len(neighbour_charges) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(neighbour_charges)} neighbour lists: one per text")
        labels = [canonical_charges(list(names)) for names in charge_lists]
        for i, found in enumerate(labels):
            if not found:
                raise ValueError(f"case {i} has no known charge ({charge_lists[i]!r}): drop it or fix its labels")
        self.classes = sorted({c for found in labels for c in found})
        index = {c: j for j, c in enumerate(self.classes)}
        y = np.zeros((len(texts), len(self.classes)), dtype=np.int8)
        for i, found in enumerate(labels):
            y[i, [index[c] for c in found]] = 1
        self.max_charges = int(y.sum(axis=1).max())
        restore = np.random.default_rng(seed + 1).random(len(texts)) < cfg.restore_masked
        prepared, restored = [], 0
        for i, (text, found) in enumerate(zip(texts, labels, strict=True)):
            if restore[i]:
                unmasked = restore_masked_charge(text, found)
                restored += unmasked != text
                text = unmasked
            prepared.append(_prepare(text, cfg))

        fit_part, val_part = inner_split(len(texts), cfg.validation_fraction, seed)
        if len(val_part) < 10:
            raise ValueError(f"{len(texts)} cases leave {len(val_part)} for the inner validation split; give ≥ 50")
        inner = _vectorizer(cfg)
        x_fit = inner.fit_transform([prepared[i] for i in fit_part])
        x_val = inner.transform([prepared[i] for i in val_part])
        w, b = _fit_svms(x_fit, y[fit_part], cfg, seed)
        val_scores = np.asarray(x_val @ w) + b
        val_named = named_acts([prepared[i] for i in val_part], self.classes)
        self._text_cal = _calibrate(val_scores, y[val_part], cfg, self.max_charges, None, val_named)
        if neighbour_charges is not None:
            shares, _has = _vote_shares([neighbour_charges[i] for i in val_part], index)
            vote_source = "given"
        else:
            sim = (x_val @ x_fit.T).toarray()
            top = np.argsort(-sim, axis=1, kind="stable")[:, : cfg.neighbours]
            neighbour_charges = [[] for _ in texts]
            for row, i in zip(top, val_part, strict=True):
                neighbour_charges[i] = [labels[fit_part[j]] for j in row]
            shares, _has = _vote_shares([neighbour_charges[i] for i in val_part], index)
            vote_source = f"tf-idf cosine, top {cfg.neighbours} of the fit part"
        self._vote_cal = _calibrate(val_scores, y[val_part], cfg, self.max_charges, shares, val_named)
        vote_alone = [[index[c] for c in vote_charges(neighbour_charges[i]) if c in index] for i in val_part]

        self._vectorizer = _vectorizer(cfg)
        x_all = self._vectorizer.fit_transform(prepared)
        self._weights, self._intercepts = _fit_svms(x_all, y, cfg, seed)
        self.info = {
            "restored_masked": restored,
            "cases": len(texts),
            "charges": len(self.classes),
            "features": int(x_all.shape[1]),
            "inner_fit_cases": len(fit_part),
            "inner_validation_cases": len(val_part),
            "vote_source": vote_source,
            "validation": {
                "text": self._text_cal.validation,
                "text+votes": self._vote_cal.validation,
                "votes_majority": set_figures(vote_alone, y[val_part]),
            },
            "seed": seed,
            "fit_seconds": round(time.perf_counter() - started, 2),
        }
        logger.info("charge model: %d cases, %d charges, fitted in %.1f s", len(texts), len(self.classes),
                    self.info["fit_seconds"])
        return self

    # ---------------------------------------------------------------- predict

    def calibration(self, mode: str) -> ChargeCalibration:
        """The calibration, threshold and inner-validation figures of ``"text"`` or ``"text+votes"``."""
        self._require_fitted()
        cal = {"text": self._text_cal, "text+votes": self._vote_cal}.get(mode)
        if cal is None:
            raise ValueError(f"mode {mode!r}: use 'text' or 'text+votes'")
        return cal

    def _require_fitted(self) -> TfidfVectorizer:
        if self._vectorizer is None or self._text_cal is None or self._vote_cal is None:
            raise ValueError("the charge model is not fitted: call fit() or ChargePredictor.load(dir)")
        return self._vectorizer

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """SVM margins, one row per text, one column per charge in :attr:`classes`."""
        vectorizer = self._require_fitted()
        _check_texts(texts)
        x = vectorizer.transform([_prepare(t, self.config) for t in texts])
        return np.asarray(x @ self._weights) + self._intercepts

    def proba(self, texts: Sequence[str], neighbour_charges: Sequence[NeighbourCharges] | None = None) -> np.ndarray:
        """Calibrated probability of each charge in :attr:`classes` (rows: texts); see :meth:`predict`."""
        return self._proba(self.scores(texts), neighbour_charges, self._named(texts))

    def _named(self, texts: Sequence[str]) -> np.ndarray:
        return named_acts([_prepare(t, self.config) for t in texts], self.classes)

    def _proba(
        self, s: np.ndarray, neighbour_charges: Sequence[NeighbourCharges] | None, named: np.ndarray
    ) -> np.ndarray:
        text_cal, vote_cal = self._text_cal, self._vote_cal
        assert text_cal is not None and vote_cal is not None
        p = _sigmoid(text_cal.score * s + text_cal.named * named + text_cal.bias)
        if neighbour_charges is None:
            return p
        if len(neighbour_charges) != len(s):
            raise ValueError(f"{len(s)} texts but {len(neighbour_charges)} neighbour lists: one per text")
        shares, has = _vote_shares(neighbour_charges, {c: j for j, c in enumerate(self.classes)})
        mixed = _sigmoid(vote_cal.score * s + vote_cal.vote * shares + vote_cal.named * named + vote_cal.bias)
        return np.where(has[:, None], mixed, p)

    def predict(
        self, texts: Sequence[str], neighbour_charges: Sequence[NeighbourCharges] | None = None
    ) -> list[list[tuple[str, float]]]:
        """The predicted charges of each text with their probabilities, most likely first.

        Args:
            texts: Fact texts (a draft's 案件事实).
            neighbour_charges: Optional, per text, the charge lists of its similar cases (most similar
                first); when given (and non-empty for a text) the votes join the text model with the
                learned weight.

        Returns:
            Per text: the most likely charge, then every other whose probability reaches the threshold
            chosen on the inner validation split (at most as many charges as a training case had).

        Raises:
            ValueError: On an empty text or an unfitted model.
        """
        p = self.proba(texts, neighbour_charges)
        out = []
        for i, picks in enumerate(self._choose(p, neighbour_charges)):
            out.append([(self.classes[j], round(float(p[i, j]), 4)) for j in picks])
        return out

    def _choose(self, p: np.ndarray, neighbour_charges: Sequence[NeighbourCharges] | None) -> list[list[int]]:
        assert self._text_cal is not None and self._vote_cal is not None
        text_picks = _decide(p, self._text_cal.threshold, self.max_charges)
        if neighbour_charges is None:
            return text_picks
        vote_picks = _decide(p, self._vote_cal.threshold, self.max_charges)
        return [vote_picks[i] if cases else text_picks[i] for i, cases in enumerate(neighbour_charges)]

    # ---------------------------------------------------------------- persistence

    def save(self, directory: Path | str) -> None:
        """Write the model as named files (JSON + .npy) into ``directory`` (made if needed)."""
        vectorizer = self._require_fitted()
        assert self._text_cal is not None and self._vote_cal is not None
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        (d / "vocabulary.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        np.save(d / "idf.npy", np.asarray(vectorizer.idf_, dtype=np.float64))
        np.save(d / "weights.npy", self._weights.astype(np.float16))
        np.save(d / "intercepts.npy", self._intercepts)
        meta = {
            "format_version": FORMAT_VERSION,
            "config": asdict(self.config),
            "classes": self.classes,
            "max_charges": self.max_charges,
            "calibration": {"text": asdict(self._text_cal), "text+votes": asdict(self._vote_cal)},
            "info": self.info,
            "libraries": library_versions(_LIBRARIES),
        }
        (d / "charge_model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path | str) -> Self:
        """Read a model written by :meth:`save`.

        Raises:
            ArtifactError: When the directory has no charge model or one of another format version.
        """
        d = Path(directory)
        meta_path = d / "charge_model.json"
        if not meta_path.is_file():
            raise ArtifactError(f"{d}: no charge model here (charge_model.json missing); fit and save one first")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(f"{d}: charge model format {meta.get('format_version')}, expected {FORMAT_VERSION}")
        for name in ("vocabulary.json", "idf.npy", "weights.npy", "intercepts.npy"):
            if not (d / name).is_file():
                raise ArtifactError(f"{d}: charge model file {name} missing; save the model again")
        model = cls(ChargeModelConfig(**meta["config"]))
        terms = json.loads((d / "vocabulary.json").read_text(encoding="utf-8"))
        vectorizer = _vectorizer(model.config, vocabulary=terms)
        vectorizer.idf_ = np.load(d / "idf.npy")
        model._vectorizer = vectorizer
        model._weights = np.load(d / "weights.npy").astype(np.float32)
        model._intercepts = np.load(d / "intercepts.npy")
        model.classes = list(meta["classes"])
        model.max_charges = int(meta["max_charges"])
        model._text_cal = ChargeCalibration(**meta["calibration"]["text"])
        model._vote_cal = ChargeCalibration(**meta["calibration"]["text+votes"])
        model.info = meta["info"]
        return model

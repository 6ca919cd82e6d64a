"""What LeiAn's embedder computes for one text, in numpy alone: the text it cuts, its magnitude tokens, the vector.

Why a module of its own, without torch: the torch module (``embed_modules.CharNgramCaseEmbedding``) is
the model of record (trained, saved, used for batches), but one text is embedded far faster in numpy
(a served draft), and a one-shot CLI answer must not import torch at all (``embed.ArrayEncoder``). Both
numpy paths and the torch module read their text handling from here, so there is one definition of
each step; the numpy forward is checked against the torch one in the tests and, at load, against the
index's stored vectors.
"""

from __future__ import annotations

import math
import re
from typing import Protocol

import numpy as np

from indexing.char_grams import GramTable, distinct, gram_keys

_WHITESPACE = re.compile(r"\s+")
#: Added inside the square root so its gradient stays finite where a class probability is ~0.
SQRT_EPS = 1e-8

#: Units whose amounts drive sentences (money, drug weight, blood alcohol, counts), with the factor to a
#: base unit. Character n-grams cannot see magnitude ("3000元" and "300000元" share most n-grams), so
#: each amount also yields a token naming its unit and half-decade, e.g. ``⟨元7⟩`` for 3,000–9,999 元.
MAGNITUDE_UNITS: dict[str, tuple[str, float]] = {
    "万元": ("元", 1e4),
    "余元": ("元", 1.0),
    "元": ("元", 1.0),
    "千克": ("克", 1e3),
    "公斤": ("克", 1e3),
    "克": ("克", 1.0),
    "吨": ("克", 1e6),
    "mg/100ml": ("mg", 1.0),
    "毫克/100毫升": ("mg", 1.0),
    "株": ("株", 1.0),
    "只": ("只", 1.0),
    "立方米": ("方", 1.0),
    "次": ("次", 1.0),
    "人": ("人", 1.0),
    "头": ("头", 1.0),
    "辆": ("辆", 1.0),
}
_AMOUNT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(" + "|".join(re.escape(u) for u in sorted(MAGNITUDE_UNITS, key=len, reverse=True)) + ")"
)
MAGNITUDE_PREFIX = "⟨"


def magnitude_tokens(text: str) -> set[str]:
    """``⟨unit half-decade⟩`` tokens for the amounts in ``text`` (thousands separators removed)."""
    out: set[str] = set()
    for value, unit in _AMOUNT.findall(text.replace(",", "")):
        name, factor = MAGNITUDE_UNITS[unit]
        amount = float(value) * factor
        if amount > 0:
            out.add(f"{MAGNITUDE_PREFIX}{name}{math.floor(2 * math.log10(amount))}⟩")
    return out


def normalized(text: str) -> str:
    """The text the embedder cuts into n-grams: lower-cased, each run of whitespace one space, stripped."""
    return _WHITESPACE.sub(" ", text.lower()).strip()


def gram_token_ids(text: str, table: GramTable, ngram_range: tuple[int, int], token_to_id: dict[str, int],
                   magnitudes: bool) -> np.ndarray:
    """Sorted ids of the text's distinct vocabulary tokens, for n-grams of one and two characters: the
    n-grams of :func:`normalized` looked up on code points (indexing.char_grams), plus the magnitude
    tokens (``⟨…⟩`` tokens are longer than two characters: never among the table's keys)."""
    keys, _counts = distinct(gram_keys(normalized(text), *ngram_range))
    _hit, ids = table.lookup(keys)
    if magnitudes:
        extra = [token_to_id[t] for t in magnitude_tokens(text) if t in token_to_id]
        ids = np.concatenate([ids, np.array(extra, dtype=np.int64)]) if extra else ids
    ids.sort()
    return ids


class NumpyWeights(Protocol):
    """The module's weights as numpy arrays (views of the torch parameters, or loaded from the saved file)."""

    token_weights: np.ndarray
    embedding: np.ndarray
    block_weights: tuple[float, ...]
    charge_weight: np.ndarray | None
    charge_bias: np.ndarray | None
    severity: np.ndarray | None
    severity_bias: np.ndarray
    centers: np.ndarray
    sigma: float


def sentence_vector(w: NumpyWeights, ids: np.ndarray) -> np.ndarray:
    """``CharNgramCaseEmbedding.forward``'s ``sentence_embedding`` for one text's sorted distinct token ids
    (float32, not yet L2-normalised as a whole): the lexical block, the charge block, the severity block."""
    weights = w.token_weights[ids]
    weights = weights / max(float(np.sqrt(np.dot(weights, weights))), 1e-12)
    bag = weights @ w.embedding[ids] if len(ids) else np.zeros(w.embedding.shape[1], dtype=np.float32)
    hn = bag / max(float(np.linalg.norm(bag)), 1e-12)
    w_lex, w_charge, w_sev = w.block_weights
    blocks = [w_lex * hn]
    if w.charge_weight is not None and w.charge_bias is not None:
        logits = w.charge_weight @ hn + w.charge_bias
        p = np.exp(logits - logits.max())
        blocks.append(w_charge * np.sqrt(p / p.sum() + SQRT_EPS))
    if w.severity is not None:
        sev = float(weights @ w.severity[ids]) + float(w.severity_bias[0])
        bumps = np.exp(-((sev - w.centers) ** 2) / (2 * w.sigma**2))
        blocks.append(w_sev * bumps / max(float(np.linalg.norm(bumps)), 1e-12))
    return np.concatenate(blocks).astype(np.float32, copy=False)

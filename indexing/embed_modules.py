"""Custom sentence-transformers module for LeiAn's in-domain embedder (trained by ``train_embedder.py``).

Why a custom module and not ``StaticEmbedding``: on Chinese judgments with a few thousand documents,
lexical statistics beat every from-scratch neural recipe measured (see ../shared/EMBEDDER-NOTES.md), and
two details decide it: (1) character n-grams need no word segmenter, and (2) each *distinct* token must
count once, weighted by its IDF; ``StaticEmbedding`` averages every occurrence (raw term frequency),
which drops LSA from 0.70 to 0.53 P@10. So the input is an IDF-weighted, L2-normalised bag of distinct
character 1–2-grams plus amount-magnitude tokens (``⟨元7⟩``: n-grams cannot tell 3,000 元 from 300,000 元),
summed through an ``EmbeddingBag`` initialised with LSA term vectors: at initialisation ``h`` equals the
case's LSA coordinates exactly.

The output concatenates three blocks, each a similarity of its own:

- **lexical**: ``h`` (L2-normalised), i.e. LSA cosine: similar wording and facts;
- **charge**: ``sqrt(softmax(W h + b))`` over the corpus's charge sets. The inner product of two such
  vectors is the Bhattacharyya coefficient of the two predicted charge distributions, so cases the
  head believes carry the same charges are pulled together even when their wording differs;
- **severity**: Gaussian bumps around a predicted ``log1p(months)`` read from the whole bag (a second,
  one-column ``EmbeddingBag``); the inner product of two normalised bump vectors is a kernel of the
  difference in predicted sentence, so within a charge the neighbours come from a similar sentencing band.

Block weights set how much each similarity counts. The forward pass also returns the heads' outputs
(``charge_logits``, ``severity``), so a caller can read predicted charges from the same pass.

Saving writes ``config.json``, ``vocab.json`` (tokens, UTF-8) and ``model.safetensors`` (token weights,
bags, heads). :meth:`CharNgramCaseEmbedding.load` rebuilds this class, so
``SentenceTransformer(model_dir, trust_remote_code=True)`` works wherever LeiAn is importable (the
``modules.json`` type is ``indexing.embed_modules.CharNgramCaseEmbedding``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers.base.modules.input_module import InputModule
from torch import nn

from indexing.char_grams import GramTable
from indexing.embed_numpy import (
    SQRT_EPS,
    gram_token_ids,
    magnitude_tokens,
    normalized,
    sentence_vector,
)

# the text handling and the one-text forward are torch-free, in embed_numpy (re-exported here)
_SQRT_EPS = SQRT_EPS


def char_ngrams(text: str, ngram_range: Sequence[int] = (1, 2)) -> set[str]:
    """Distinct character n-grams of :func:`normalized` ``text``.

    A set on purpose: each n-gram counts once per document (binary term frequency).
    """
    s = normalized(text)
    lo, hi = ngram_range
    grams: set[str] = set()
    for n in range(lo, hi + 1):  # the same n-grams as slicing s[i:i+n], iterated in C (a draft is served per request)
        if n == 1:
            grams.update(s)
        elif n == 2:
            grams.update(map(str.__add__, s, s[1:]))
        else:
            grams.update(map("".join, zip(*(s[k:] for k in range(n)), strict=False)))
    return grams


def case_tokens(text: str, ngram_range: Sequence[int] = (1, 2), magnitudes: bool = True) -> set[str]:
    """The distinct tokens the embedder sees: character n-grams plus, optionally, amount magnitudes."""
    grams = char_ngrams(text, ngram_range)
    if magnitudes:
        grams |= magnitude_tokens(text)
    return grams


class CharNgramCaseEmbedding(InputModule):
    """Weighted bag of distinct case tokens → [lexical | charge | severity] embedding.

    Args:
        vocab: The token vocabulary (character n-grams and ``⟨…⟩`` magnitude tokens); position = token id.
        embedding_dim: Width of the lexical block (the ``EmbeddingBag`` width).
        charge_classes: Names of the charge sets the charge head scores (empty: no charge block).
        severity_centers: Centres (in ``log1p(months)``) of the severity bumps (empty: no severity block).
        severity_sigma: Width of each bump, in ``log1p(months)``.
        block_weights: Weights of the lexical, charge and severity blocks in the concatenation.
        ngram_range: Smallest and largest character n-gram length.
        magnitudes: Whether amounts in the text also yield magnitude tokens.
        token_weights: Per-token weights (IDF, with any boost already applied); ones when omitted.
    """

    save_in_root: bool = True

    def __init__(
        self,
        vocab: Sequence[str],
        embedding_dim: int = 256,
        charge_classes: Sequence[str] = (),
        severity_centers: Sequence[float] = (),
        severity_sigma: float = 0.45,
        block_weights: Sequence[float] = (1.0, 2.0, 0.5),
        ngram_range: Sequence[int] = (1, 2),
        magnitudes: bool = True,
        token_weights: np.ndarray | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if len(block_weights) != 3:
            raise ValueError(f"block_weights needs 3 values (lexical, charge, severity); got {list(block_weights)}")
        self.vocab = list(vocab)
        self.token_to_id = {t: i for i, t in enumerate(self.vocab)}
        self.embedding_dim = int(embedding_dim)
        self.charge_classes = list(charge_classes)
        self.severity_centers = [float(c) for c in severity_centers]
        self.severity_sigma = float(severity_sigma)
        self.block_weights = [float(w) for w in block_weights]
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.magnitudes = bool(magnitudes)
        weights = torch.ones(len(self.vocab)) if token_weights is None else torch.as_tensor(token_weights)
        if tuple(weights.shape) != (len(self.vocab),):
            raise ValueError(
                f"token_weights needs one weight per vocabulary entry ({len(self.vocab)}); got {tuple(weights.shape)}"
            )
        self.register_buffer("token_weights", weights.to(torch.float32).clone())
        self.embedding = nn.EmbeddingBag(len(self.vocab), self.embedding_dim, mode="sum")
        self.charge_head = nn.Linear(self.embedding_dim, len(self.charge_classes)) if self.charge_classes else None
        # Severity reads the whole weighted bag, not the lexical block: sentence-relevant tokens
        # (amounts, injury grades) are too rare to survive a 256-dimensional SVD.
        self.severity_bag = nn.EmbeddingBag(len(self.vocab), 1, mode="sum") if self.severity_centers else None
        self.severity_bias = nn.Parameter(torch.zeros(1)) if self.severity_centers else None
        self.register_buffer("centers", torch.tensor(self.severity_centers, dtype=torch.float32))
        self._gram_table: GramTable | None = None  # see _gram_ids; derived from the vocabulary, never saved
        # Tokenization is plain Python (see case_tokens); there is no Hugging Face tokenizer to save.
        self.tokenizer = None  # type: ignore[assignment]

    # -- input --------------------------------------------------------------------------------------
    def token_ids(self, text: str) -> list[int]:
        """Sorted ids of the distinct in-vocabulary tokens of ``text``. Sorted because the summation
        order, and so the last bits of the result, must not depend on Python's per-process hashing."""
        return self.token_id_array(text).tolist()

    def token_id_array(self, text: str) -> np.ndarray:
        """:meth:`token_ids` as an int64 array."""
        if 1 <= self.ngram_range[0] <= self.ngram_range[1] <= 2:
            return self._gram_ids(text)
        known = self.token_to_id.keys() & case_tokens(text, self.ngram_range, self.magnitudes)  # a C-level intersection
        return np.array(sorted(map(self.token_to_id.__getitem__, known)), dtype=np.int64)

    def _gram_ids(self, text: str) -> np.ndarray:
        """:meth:`token_ids` for n-grams of one and two characters, on code points (indexing.char_grams).

        Why: a served draft is tokenized once per request, and building a few hundred Python strings
        and a set of them was half of its embedding's time. The ids are those of :func:`case_tokens`
        (a test compares both on real texts).
        """
        if self._gram_table is None:
            self._gram_table = GramTable(enumerate(self.vocab))
        return gram_token_ids(text, self._gram_table, self.ngram_range, self.token_to_id, self.magnitudes)

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Texts → flat token ids, bag offsets and per-token weights, L2-normalised per text (TF-IDF)."""
        texts = [str(t) for t in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        return self.collate([self.token_ids(t) for t in texts])

    def collate(self, per_text: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        """Token-id lists (from :meth:`token_ids`) → the features :meth:`forward` takes; lets a trainer
        tokenize each text once instead of once per batch."""
        lengths = torch.tensor([len(ids) for ids in per_text], dtype=torch.long)
        input_ids = torch.tensor([i for ids in per_text for i in ids], dtype=torch.long)
        weights = self.token_weights[input_ids]
        doc_of_token = torch.repeat_interleave(torch.arange(len(per_text)), lengths)
        norms = torch.zeros(len(per_text)).index_add_(0, doc_of_token, weights**2).sqrt().clamp_min(1e-12)
        offsets = torch.cumsum(lengths, 0) - lengths
        return {"input_ids": input_ids, "offsets": offsets, "per_sample_weights": weights / norms[doc_of_token]}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Sum the weighted token vectors, then build and concatenate the three blocks."""
        ids, offsets, weights = features["input_ids"], features["offsets"], features["per_sample_weights"]
        hn = F.normalize(self.embedding(ids, offsets, per_sample_weights=weights), dim=-1)
        w_lex, w_charge, w_sev = self.block_weights
        blocks = [w_lex * hn]
        if self.charge_head is not None:
            logits = self.charge_head(hn)
            features["charge_logits"] = logits
            blocks.append(w_charge * torch.sqrt(torch.softmax(logits, dim=-1) + _SQRT_EPS))
        if self.severity_bag is not None and self.severity_bias is not None:
            sev = self.severity_bag(ids, offsets, per_sample_weights=weights).squeeze(-1) + self.severity_bias
            features["severity"] = sev
            bumps = torch.exp(-((sev[:, None] - self.centers[None, :]) ** 2) / (2 * self.severity_sigma**2))
            blocks.append(w_sev * F.normalize(bumps, dim=-1))
        features["lexical_embedding"] = hn
        features["sentence_embedding"] = torch.cat(blocks, dim=-1)
        return features

    def one_text_view(self) -> OneTextEmbedding:
        """Numpy views of the weights (the same memory, no copy) that embed one text as :meth:`forward` does."""
        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float32, copy=False)

        return OneTextEmbedding(
            module=self,
            token_weights=arr(self.token_weights),
            embedding=arr(self.embedding.weight),
            block_weights=tuple(self.block_weights),
            charge_weight=arr(self.charge_head.weight) if self.charge_head is not None else None,
            charge_bias=arr(self.charge_head.bias) if self.charge_head is not None else None,
            severity=arr(self.severity_bag.weight[:, 0]) if self.severity_bag is not None else None,
            severity_bias=arr(self.severity_bias) if self.severity_bias is not None else np.zeros(1, np.float32),
            centers=arr(self.centers),
            sigma=self.severity_sigma,
        )

    def get_embedding_dimension(self) -> int:
        """Width of the concatenated output: lexical + one per charge class + one per severity bump."""
        return self.embedding_dim + len(self.charge_classes) + len(self.severity_centers)

    @property
    def max_seq_length(self) -> float:
        """Bags have no length limit: every distinct token of the whole text is used."""
        return float("inf")

    # -- persistence --------------------------------------------------------------------------------
    def get_config_dict(self) -> dict[str, Any]:
        """The constructor arguments, minus the vocabulary and weights (saved in their own files)."""
        return {
            "embedding_dim": self.embedding_dim,
            "charge_classes": self.charge_classes,
            "severity_centers": self.severity_centers,
            "severity_sigma": self.severity_sigma,
            "block_weights": self.block_weights,
            "ngram_range": list(self.ngram_range),
            "magnitudes": self.magnitudes,
        }

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        """Write ``config.json``, ``vocab.json`` and the weights into ``output_path``."""
        self.save_config(output_path)
        with open(os.path.join(output_path, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs: Any,
    ) -> Self:
        """Rebuild this class (``StaticEmbedding.load`` would rebuild its base class); see :meth:`save`."""
        hub_kwargs: dict[str, Any] = {
            "subfolder": subfolder,
            "token": token,
            "cache_folder": cache_folder,
            "revision": revision,
            "local_files_only": local_files_only,
        }
        config = cls.load_config(model_name_or_path, **hub_kwargs)
        vocab_path = cls.load_file_path(model_name_or_path, filename="vocab.json", **hub_kwargs)
        if vocab_path is None:
            raise ValueError(f"{model_name_or_path}: vocab.json is missing; it is not a LeiAn embedder directory")
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
        module = cls(vocab, **config)
        cls.load_torch_weights(model_name_or_path, model=module, **hub_kwargs)
        return module


@dataclass(frozen=True, eq=False)
class OneTextEmbedding:
    """:meth:`CharNgramCaseEmbedding.forward` for one text, in numpy, on views of the module's weights.

    Why: a served draft is one text, and for one text torch's per-operation dispatch (about thirty
    small tensor operations through ``nn.Module`` calls) cost more than the arithmetic, ~0.8 ms of
    a request on this machine. The same formulas on numpy arrays take a tenth of that. The values
    agree with the torch path up to float32 summation order (the tests compare them); the torch
    module stays the model of record: it is what is trained, saved and used for batches.
    """

    module: CharNgramCaseEmbedding
    token_weights: np.ndarray
    embedding: np.ndarray
    block_weights: tuple[float, ...]
    charge_weight: np.ndarray | None
    charge_bias: np.ndarray | None
    severity: np.ndarray | None
    severity_bias: np.ndarray  # shape (1,): a view too, so that it follows further training like the rest
    centers: np.ndarray
    sigma: float

    def __call__(self, text: str) -> np.ndarray:
        """The ``sentence_embedding`` of ``text`` (not yet L2-normalised as a whole), float32."""
        return sentence_vector(self, self.module.token_id_array(text))


def build_vocab(
    texts: Iterable[str],
    ngram_range: Sequence[int] = (1, 2),
    magnitudes: bool = True,
    min_df: int = 2,
    max_size: int | None = None,
) -> tuple[list[str], np.ndarray]:
    """Tokens found in at least ``min_df`` texts, most frequent first (ties by token), with their
    document frequencies. The fixed order makes the vocabulary, and so the model, reproducible."""
    df: dict[str, int] = {}
    for text in texts:
        for g in case_tokens(text, ngram_range, magnitudes):
            df[g] = df.get(g, 0) + 1
    items = sorted(((g, c) for g, c in df.items() if c >= min_df), key=lambda x: (-x[1], x[0]))
    if max_size is not None:
        items = items[:max_size]
    return [g for g, _ in items], np.array([c for _, c in items], dtype=np.int64)

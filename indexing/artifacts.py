"""Layout of built index directories, their manifest, and the atomic switch between versions.

    DATA_DIR/indexes/
        CURRENT                 name of the version the service serves (replaced atomically)
        20261123T140000-ab12cd/ one complete build
            manifest.json       components, counts, embedder name and dimension, library versions
            cases.jsonl         per row: the case's display fields (anonymized)
            embeddings.npy      float32, L2-normalized, row i = cases.jsonl line i
            dense.faiss         FAISS index over embeddings.npy
            tokens.jsonl        jieba tokens per row (reused by incremental builds)
            bm25/               bm25s index over tokens
            embedder/           the sentence-transformers model used (when trained here)

A build writes into a hidden temporary folder, renames it into place when complete, and only then
replaces CURRENT; a running service therefore never sees half an index, and a killed build leaves
the previous version serving.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import uuid
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

from indexing.errors import ArtifactError

FORMAT_VERSION = 1
_LIBRARIES = ("faiss-cpu", "bm25s", "sentence-transformers", "torch", "scikit-learn", "numpy", "jieba", "rjieba")


def indexes_dir(data_dir: Path) -> Path:
    return data_dir / "indexes"


def new_version_name() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def temp_dir_for(data_dir: Path, version: str) -> Path:
    path = indexes_dir(data_dir) / f".tmp-{version}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def library_versions(names: tuple[str, ...] = _LIBRARIES) -> dict[str, str]:
    """Installed versions of ``names`` (and Python), recorded beside artifacts to detect drift."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def write_manifest(directory: Path, manifest: dict) -> None:
    manifest = {"format_version": FORMAT_VERSION, "libraries": library_versions(), **manifest}
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync_tree(directory: Path) -> None:
    """Flush every file of a build, and the folders, to disk before it is named current."""
    for path in sorted(directory.rglob("*"), reverse=True):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(data_dir: Path, temp: Path, version: str, *, keep: int = 3) -> Path:
    """Move a finished build into place and make it current; prune all but the newest ``keep``.

    Each step leaves a consistent state if the process dies right after it: the files are on disk
    before the folder is renamed, the renamed folder is complete but not yet current, and CURRENT is
    replaced by one rename of a fully written file (even a power cut leaves the old or the new name).
    """
    root = indexes_dir(data_dir)
    final = root / version
    _fsync_tree(temp)
    os.replace(temp, final)
    pointer = root / "CURRENT.tmp"
    with pointer.open("w", encoding="utf-8") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer, root / "CURRENT")
    _fsync_dir(root)
    versions = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-keep]:
        if old.name != version:
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-*"):  # left behind by killed builds
        if stale != temp:
            shutil.rmtree(stale, ignore_errors=True)
    return final


def current_dir(data_dir: Path) -> Path:
    """The served version's folder, or ArtifactError saying how to build one."""
    pointer = indexes_dir(data_dir) / "CURRENT"
    if not pointer.is_file():
        raise ArtifactError(f"no index built in {data_dir}: run `leian build --data-dir {data_dir}` first")
    path = indexes_dir(data_dir) / pointer.read_text(encoding="utf-8").strip()
    if not (path / "manifest.json").is_file():
        raise ArtifactError(f"{path}: index version named by CURRENT is missing or incomplete; rebuild it")
    return path


def read_manifest(directory: Path) -> dict:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{directory}: index format {manifest.get('format_version')} != {FORMAT_VERSION}; rebuild it")
    return manifest

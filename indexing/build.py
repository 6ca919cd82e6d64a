"""``build_index``: case store -> one complete, versioned index directory (see artifacts.py).

Which cases are indexed: every stored case with facts text, except exact duplicates (their
canonical copy is indexed) and synthetic cases unless asked for. Overturned and superseded cases
are indexed and findable, carrying their flags into results.

Incremental builds (``incremental=True``) reuse the current version's embedder, embeddings and
tokens, and only embed and tokenize cases that are new in the store; the BM25 and FAISS indexes are
then rebuilt from the arrays, which takes seconds. A full build retrains the in-domain embedder on
the whole corpus, which is what to do once the corpus has grown a lot.
"""

from __future__ import annotations

import filecmp
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from indexing import artifacts
from indexing.bm25 import BM25Index
from indexing.db import iter_cases, unfinished_run
from indexing.dense import build_faiss, default_faiss_spec, save_faiss
from indexing.errors import ArtifactError
from indexing.quality import content_hash
from indexing.rows import display_row, write_rows
from indexing.schema import CaseRecord
from indexing.search_index import SearchIndex
from indexing.segment import tokenize

logger = logging.getLogger(__name__)

TRAINED = "leian-trained"  # the default: an embedder trained here on the corpus being indexed
LEXICAL_DIM = 256


@dataclass(frozen=True)
class BuildConfig:
    data_dir: Path
    embedder: str = TRAINED  # or any sentence-transformers model name or path
    faiss_spec: str | None = None  # None: chosen by size (indexing.dense.default_faiss_spec)
    include_synthetic: bool = False
    incremental: bool = False
    epochs: int | None = None  # embedder training epochs; None = the recipe's default
    seed: int = 13
    # where searches find their candidates: "faiss" (in process, the default) or "milvus" (the version is also
    # loaded into a Milvus collection: indexing/milvus_backend.py); None keeps the current version's backend
    backend: str | None = None
    milvus_uri: str | None = None  # a file in the data dir (milvus-lite, the default) or http://host:19530


def indexable(record: CaseRecord, include_synthetic: bool) -> bool:
    if not record.facts or record.flags.duplicate_of:
        return False
    return include_synthetic or not record.flags.synthetic


def build_index(engine: Engine, config: BuildConfig, *, progress: Callable[[str], None] = logger.info) -> Path:
    """Build a new version from the store and make it current. Returns its folder."""
    from indexing.embed import Embedder

    started = time.perf_counter()
    running = unfinished_run(engine)
    if running is not None:
        raise ArtifactError(
            f"ingest run {running['run_id']} (started {running['started_at']:%Y-%m-%d %H:%M:%S}) has not finished: "
            "wait for it, or if it was killed re-run the same `leian ingest` command (stored cases stay as they "
            "are and the rest is added), then build"
        )
    records = [r for r in iter_cases(engine) if indexable(r, config.include_synthetic)]
    if not records:
        raise ArtifactError("the case store holds no case with facts to index: run `leian ingest` first")
    backend = _backend_spec(config)  # before any work: a Milvus build without pymilvus fails here
    version = artifacts.new_version_name()
    temp = artifacts.temp_dir_for(config.data_dir, version)
    try:
        previous = _previous(config) if config.incremental else None
        rows = [display_row(r) for r in records]
        old_rows: dict[str, int] = {}
        if previous is not None:
            # a case whose facts changed since (a correction uploaded through the API) is embedded again
            facts_now = {r.case_id: r.content_hash for r in records}
            old_rows = {cid: i for i, (cid, facts) in enumerate(zip(previous["case_ids"], previous["facts_hashes"], strict=True))
                        if facts_now.get(cid) == facts}
        new_idx = [i for i, r in enumerate(records) if r.case_id not in old_rows]

        if previous is not None:
            shutil.copytree(previous["dir"] / "embedder", temp / "embedder")
            embedder = Embedder.load(str(temp / "embedder"))
            embedder_name = previous["manifest"]["embedder"]["name"]
        elif config.embedder == TRAINED:
            from indexing.train_embedder import train_embedder

            progress(f"training the in-domain embedder on {len(records)} cases")
            months = [r.outcome.months if r.outcome else None for r in records]
            kwargs: dict = {"epochs": config.epochs} if config.epochs is not None else {}
            # the lexical block is an SVD of the corpus: it cannot be wider than the corpus is long
            kwargs["dim"] = min(LEXICAL_DIM, len(records) - 1)
            train_embedder(
                [r.facts for r in records],
                [r.charges for r in records],
                [r.articles for r in records],
                months,
                temp / "embedder",
                seed=config.seed,
                **kwargs,
            )
            embedder = Embedder.load(str(temp / "embedder"))
            embedder_name = TRAINED
        else:
            embedder = Embedder.load(config.embedder)
            embedder_name = config.embedder

        progress(f"embedding {len(new_idx)} of {len(records)} cases")
        embeddings = np.zeros((len(records), embedder.dim), dtype=np.float32)
        tokens: list[list[str]] = [[] for _ in records]
        if previous is not None:
            old_emb = np.load(previous["dir"] / "embeddings.npy", mmap_mode="r")
            old_tokens = _read_tokens(previous["dir"] / "tokens.jsonl")
            for i, r in enumerate(records):
                if r.case_id in old_rows:
                    embeddings[i] = old_emb[old_rows[r.case_id]]
                    tokens[i] = old_tokens[old_rows[r.case_id]]
        if new_idx:
            embeddings[new_idx] = embedder.encode([records[i].facts for i in new_idx], show_progress=True)
            progress(f"segmenting {len(new_idx)} cases")
            for i in new_idx:
                tokens[i] = tokenize(records[i].facts)

        spec = config.faiss_spec or default_faiss_spec(len(records))
        progress(f"building FAISS ({spec}) and BM25 indexes")
        np.save(temp / "embeddings.npy", embeddings)
        progress("writing the FAISS index")
        save_faiss(build_faiss(embeddings, spec), temp / "dense.faiss")
        BM25Index.build(tokens).save(temp / "bm25")
        with (temp / "tokens.jsonl").open("w", encoding="utf-8") as fh:
            for toks in tokens:
                fh.write(json.dumps(toks, ensure_ascii=False) + "\n")
        write_rows(rows, temp / "cases.jsonl")
        if embedder_name != TRAINED and previous is None:
            (temp / "embedder").mkdir(exist_ok=True)
            embedder.model.save(str(temp / "embedder"))
        manifest = {
            "version": version,
            "cases": len(records),
            "added_incrementally": len(new_idx) if previous is not None else 0,
            "embedder": {"name": embedder_name, "dim": embedder.dim},
            "faiss": spec,
            "components": ["cases.jsonl", "columns", "embeddings.npy", "dense.faiss", "tokens.jsonl", "bm25", "embedder", "charges",
                           "sentencing"],
        }
        same_rows = previous is not None and filecmp.cmp(previous["dir"] / "cases.jsonl", temp / "cases.jsonl", shallow=False)
        if same_rows and not new_idx and all((previous["dir"] / part).is_dir() for part in ("charges", "sentencing")):
            # nothing the models learn from changed (a switch of backend, a build on a schedule): fitting them
            # again would give the same models, at most of a build's time
            progress("no case changed since the current version: its charge and sentencing models are reused")
            for part in ("charges", "sentencing"):
                shutil.copytree(previous["dir"] / part, temp / part)
                manifest[part] = previous["manifest"].get(part)
        else:
            manifest["charges"] = fit_charge_model(temp, records, seed=config.seed, progress=progress)
            artifacts.write_manifest(temp, manifest)  # the search part is complete: the sentencing fit loads it
            manifest["sentencing"] = fit_sentencing(temp, records, embeddings, tokens, seed=config.seed, progress=progress)
        if backend is not None:
            from indexing.milvus_backend import load_version

            progress(f"loading {len(records)} cases into Milvus ({backend['uri']})")
            manifest["backend"] = load_version(temp, version, backend["uri"], progress=progress)
        manifest["seconds"] = round(time.perf_counter() - started, 1)
        artifacts.write_manifest(temp, manifest)
        progress(f"publishing version {version}")
    except BaseException:  # killed cleanly (Ctrl-C, SIGTERM) or failed: nothing of this build remains
        shutil.rmtree(temp, ignore_errors=True)
        raise
    final = artifacts.publish(config.data_dir, temp, version)
    if "backend" in manifest:  # after CURRENT: Milvus's alias follows the version the server now serves
        from indexing.milvus_backend import drop_collections_except, switch_alias

        switch_alias(manifest["backend"], config.data_dir)
        kept = [artifacts.read_manifest(v).get("backend", {}).get("collection")
                for v in artifacts.indexes_dir(config.data_dir).iterdir() if (v / "manifest.json").is_file()]
        drop_collections_except(manifest["backend"]["uri"], config.data_dir, [c for c in kept if c])
    return final


def _backend_spec(config: BuildConfig) -> dict | None:
    """The Milvus backend this build loads into (None: FAISS only). Unstated, a build keeps the current
    version's backend and URI, so an incremental build of a Milvus data dir stays on Milvus."""
    backend, uri = config.backend, config.milvus_uri
    if backend is None:
        try:
            current = artifacts.read_manifest(artifacts.current_dir(config.data_dir)).get("backend") or {}
        except ArtifactError:
            current = {}
        backend = current.get("kind", "faiss")
        uri = uri or current.get("uri")
    if backend == "faiss":
        return None
    if backend != "milvus":
        raise ArtifactError(f"unknown backend {backend!r}: faiss or milvus")
    from indexing.milvus_backend import DEFAULT_FILE, milvus_missing

    missing = milvus_missing()
    if missing:
        raise ArtifactError(missing)
    return {"uri": uri or DEFAULT_FILE}


def sentencing_neighbours(
    index: SearchIndex, records: list[CaseRecord], embeddings: np.ndarray, tokens: list[list[str]], *, seed: int
) -> list[list[float]]:
    """Per corpus case, the sentences of its similar cases, as the sentencing model is fitted on them.

    They come from the same hybrid ranking the service uses for drafts (the case itself excluded),
    searched with the vector a draft the embedder never saw would get
    (:func:`~indexing.train_embedder.held_out_query_vectors`): with its in-sample vector a case finds
    neighbours that share its true sentence, and the model would be calibrated on neighbours better
    than any draft's. ``records``, ``embeddings`` and ``tokens`` are aligned with ``index.rows``.
    """
    from indexing.fusion import Draft
    from indexing.neighbours import neighbour_hits, neighbour_months
    from indexing.train_embedder import held_out_query_vectors

    queries = held_out_query_vectors(
        index.embedder.model,
        [r.facts for r in records],
        [r.outcome.months if r.outcome else None for r in records],
        embeddings,
        seed=seed,
    )
    months = []
    for i, record in enumerate(records):
        # a corpus case's charges are stated by its judgment, as a judge states them with a draft
        # (on an inner validation split this matching of query-time use cut the model's MAE by 0.12 months)
        draft = Draft(record=record, tokens=tokens[i], vector=queries[i], charges_given=True, charges_source="given")
        hits = neighbour_hits(draft, index, exclude_row=i)
        months.append(neighbour_months([index.rows[h.row] for h in hits]))
    return months


def fit_sentencing(
    directory: Path,
    records: list[CaseRecord],
    embeddings: np.ndarray,
    tokens: list[list[str]],
    *,
    seed: int,
    progress: Callable[[str], None],
) -> dict:
    """Fit the sentencing model and its conformal calibration on the indexed corpus.

    Neighbour features: :func:`sentencing_neighbours`. Returns the manifest entry; a corpus too small
    to calibrate gets a reason instead of a model, and assessments then answer that the model is
    unavailable.
    """
    from indexing.sentencing import SentencingModel

    index = SearchIndex(directory, with_sentencing=False)
    progress(f"finding similar cases of {len(records)} cases for the sentencing model")
    months = sentencing_neighbours(index, records, embeddings, tokens, seed=seed)
    progress("fitting the sentencing model and its conformal calibration")
    try:
        model = SentencingModel.fit(records, months, seed=seed)
    except ValueError as exc:
        logger.warning("sentencing model not fitted: %s", exc)
        return {"fitted": False, "reason": str(exc)}
    model.save(directory / "sentencing")
    info = model.summary()["info"]
    return {"fitted": True, **{k: v for k, v in info.items() if isinstance(v, int | float | str)}}


#: A charge needs this many indexed criminal cases for the charge model to learn it (fewer: not predicted).
MIN_CHARGE_MODEL_CASES = 200


def fit_charge_model(directory: Path, records: list[CaseRecord], *, seed: int, progress: Callable[[str], None]) -> dict:
    """Fit the charge predictor (indexing.charge_model) on the indexed criminal cases with charges.

    Drafts without charges get theirs from it (service.retrieve.prepare_draft). Returns the manifest
    entry; a corpus too small gets a reason instead, and drafts then keep the charges their text names.
    """
    from indexing.charge_model import ChargePredictor

    labelled = [r for r in records if r.case_type.value == "criminal" and r.charges and r.facts]
    if len(labelled) < MIN_CHARGE_MODEL_CASES:
        return {"fitted": False, "reason": f"{len(labelled)} criminal cases with charges (needs {MIN_CHARGE_MODEL_CASES})"}
    progress(f"fitting the charge model on {len(labelled)} criminal cases")
    try:
        model = ChargePredictor().fit([r.facts for r in labelled], [r.charges for r in labelled], seed=seed)
    except ValueError as exc:
        logger.warning("charge model not fitted: %s", exc)
        return {"fitted": False, "reason": str(exc)}
    model.save(directory / "charges")
    return {"fitted": True, "cases": len(labelled), "charges": len(model.classes)}


def _previous(config: BuildConfig) -> dict | None:
    try:
        directory = artifacts.current_dir(config.data_dir)
    except Exception:  # noqa: BLE001 - no usable previous build: do a full one
        return None
    manifest = artifacts.read_manifest(directory)
    case_ids, facts_hashes = [], []
    with (directory / "cases.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            case_ids.append(row["case_id"])
            facts_hashes.append(content_hash(row.get("facts") or ""))
    return {"dir": directory, "manifest": manifest, "case_ids": case_ids, "facts_hashes": facts_hashes}


def _read_tokens(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]

"""Milvus as the candidate source of an index version: the scale-out backend behind the same API.

FAISS in process is the embedded default. With ``leian build --backend milvus`` a version's cases are also
loaded into a Milvus collection of their own (``leian_<version>``): the dense vector, the facts text with
Milvus's own BM25 (its ``jieba`` analyzer and a ``BM25`` function fill a sparse field, so LeiAn computes no
sparse vectors), and a scalar field for every filter the API offers (charges, case type, cause, court
level, province, year, flagged). The alias ``leian_current`` is switched to the new collection when the
version is published, so outside readers see versions change atomically as the server does through
``CURRENT``. The URI is a file in the data dir, served by milvus-lite (embedded, ``pip install``), or
``http://host:19530`` for a Milvus standalone or cluster (token from ``LEIAN_MILVUS_TOKEN``).

What Milvus does here: one ``hybrid_search`` (dense and BM25 requests, each carrying the filter, fused by
reciprocal rank) finds the candidates, with the filters evaluated by Milvus over its scalar fields. What
stays LeiAn's: the final ranking. Each candidate is scored by :mod:`indexing.fusion` exactly as on the FAISS
backend (cosine from the version's memory-mapped vectors, BM25 from its own statistics, charge and element
agreement), so both backends rank the same candidates the same way and the answers keep their shapes.
Why not rank by Milvus's fused score: RRF of two ranks throws away the score gaps fusion weighs, and the
charge and element terms are LeiAn's (measured: ``evaluation/milvus_benchmark.py``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from indexing.errors import ArtifactError
from indexing.rows import Filters, IndexRow, read_rows

ALIAS = "leian_current"
TOKEN_ENV = "LEIAN_MILVUS_TOKEN"
DEFAULT_FILE = "milvus.db"  # milvus-lite's database, in the data dir
#: Milvus VARCHAR limits are in bytes; a CJK character is 3 bytes in UTF-8. Longer facts are cut for Milvus's
#: BM25 only (the displayed row and LeiAn's own BM25 keep the whole text).
TEXT_BYTES = 60_000
INSERT_BATCH = 500
#: Below this many cases the dense field gets an exact (FLAT) index, above it HNSW.
EXACT_BELOW = 50_000


def milvus_missing() -> str | None:
    """Why the Milvus backend cannot be used here (None when pymilvus and milvus-lite are installed)."""
    try:
        import pymilvus  # noqa: F401
    except ImportError:
        return "the Milvus backend needs pymilvus: pip install 'leian[milvus]' (pymilvus, milvus-lite)"
    return None


def collection_name(version: str) -> str:
    """A Milvus collection name for an index version (letters, digits and underscores only)."""
    return "leian_" + re.sub(r"[^0-9A-Za-z_]", "_", version)


def resolve_uri(uri: str | None, data_dir: Path) -> str:
    """The URI to connect to: a server URL as given; a file path (milvus-lite) relative to the data dir."""
    uri = uri or DEFAULT_FILE
    if re.match(r"^[a-z]+://", uri):
        return uri
    path = Path(uri)
    return str(path if path.is_absolute() else data_dir / path)


def connect(uri: str) -> Any:
    """A MilvusClient (an embedded milvus-lite server for a file path)."""
    missing = milvus_missing()
    if missing:
        raise ArtifactError(missing)
    from pymilvus import MilvusClient

    try:
        return MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""))
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds; the message is the point
        why = ("; milvus-lite opens its file in one process only: is another leian process (serve with several "
               "workers, a build beside a running server) using it? Use one process, or a Milvus server"
               if not re.match(r"^[a-z]+://", uri) else "")
        raise ArtifactError(f"cannot open Milvus at {uri}: {exc}{why}") from exc


def _schema(client: Any, dim: int, cases: int) -> tuple[Any, Any]:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("charges", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=64, max_length=256)
    for name in ("case_type", "cause", "court_level", "province"):
        schema.add_field(name, DataType.VARCHAR, max_length=256)
    schema.add_field("year", DataType.INT64)
    schema.add_field("flagged", DataType.BOOL)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    if cases < EXACT_BELOW:
        index.add_index("vector", index_type="FLAT", metric_type="IP")
    else:
        index.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 200})
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return schema, index


def _cut(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= TEXT_BYTES else data[:TEXT_BYTES].decode("utf-8", errors="ignore")


def entity(i: int, row: IndexRow, vector: np.ndarray) -> dict:
    """Row ``i`` of a version as a Milvus entity (its filter fields as :class:`~indexing.rows.RowStore` reads them)."""
    flags = row["flags"]
    return {
        "row": i,
        "vector": vector.astype(np.float32).tolist(),
        "text": _cut(row["facts"] or " "),
        "charges": row["charges"][:64],
        **{k: (row.get(k) or "")[:80] for k in ("case_type", "cause", "court_level", "province")},  # type: ignore[misc]
        "year": row["year"] or 0,
        "flagged": bool(flags["overturned"] or flags["superseded"] or flags["near_duplicate_of"]),
    }


def load_version(directory: Path, version: str, uri: str, *, progress: Any = None) -> dict:
    """Load a built version (its ``cases.jsonl`` and ``embeddings.npy``) into a new collection.

    Returns the manifest's ``backend`` entry. The URI is stored as given (a relative milvus-lite file stays
    relative to the data dir, so a copied data dir keeps working).
    """
    data_dir = directory.parent.parent
    client = connect(resolve_uri(uri, data_dir))
    name = collection_name(version)
    rows = read_rows(directory / "cases.jsonl")
    vectors = np.load(directory / "embeddings.npy", mmap_mode="r")
    if client.has_collection(name):  # left by a build killed after loading it: its version was never published
        client.drop_collection(name)
    schema, index = _schema(client, int(vectors.shape[1]), len(rows))
    client.create_collection(name, schema=schema, index_params=index)
    for start in range(0, len(rows), INSERT_BATCH):
        batch = [entity(i, rows[i], vectors[i]) for i in range(start, min(start + INSERT_BATCH, len(rows)))]
        client.insert(name, batch)
        if progress:
            progress(f"Milvus: {start + len(batch)} of {len(rows)} cases loaded into {name}")
    client.flush(name)
    client.load_collection(name)
    return {"kind": "milvus", "uri": uri, "collection": name, "alias": ALIAS}


def switch_alias(spec: dict, data_dir: Path) -> None:
    """Point ``leian_current`` at the version's collection (after CURRENT names it): one atomic alter."""
    client = connect(resolve_uri(spec["uri"], data_dir))
    if spec["alias"] in client.list_aliases().get("aliases", []):
        client.alter_alias(spec["collection"], spec["alias"])
    else:
        client.create_alias(spec["collection"], spec["alias"])


def drop_collections_except(spec_uri: str, data_dir: Path, keep: Iterable[str]) -> list[str]:
    """Drop LeiAn's collections of versions that are gone (pruned by publish), keeping ``keep``."""
    client = connect(resolve_uri(spec_uri, data_dir))
    dropped = []
    for name in client.list_collections():
        if name.startswith("leian_") and name not in set(keep):
            client.drop_collection(name)
            dropped.append(name)
    return dropped


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def filter_expr(filters: Filters, *, charges: list[str] | None = None, case_type: str | None = None) -> str:
    """The Milvus boolean expression of ``filters`` (and of a candidate pool's extra condition), or ''.

    Each filter means what :meth:`indexing.rows.RowStore.mask` makes of it: charges any-of, the others
    equal, years inclusive with unknown years (0) outside a year_to bound, flagged cases left out.
    """
    parts = []
    for wanted in (filters.charges, charges):
        if wanted:
            parts.append(f"ARRAY_CONTAINS_ANY(charges, [{', '.join(_quoted(c) for c in wanted)}])")
    for key in ("court_level", "province", "case_type", "cause"):
        value = getattr(filters, key)
        if value:
            parts.append(f"{key} == {_quoted(value)}")
    if case_type:
        parts.append(f"case_type == {_quoted(case_type)}")
    if filters.year_from:
        parts.append(f"year >= {int(filters.year_from)}")
    if filters.year_to:
        parts.append(f"(year <= {int(filters.year_to)} and year > 0)")
    if filters.exclude_flagged:
        parts.append("flagged == false")
    return " and ".join(parts)


class MilvusCandidates:
    """The candidate source of a version loaded into Milvus (see the module docstring)."""

    def __init__(self, spec: dict, data_dir: Path) -> None:
        self.spec = spec
        self.collection = spec["collection"]
        self.client = connect(resolve_uri(spec["uri"], data_dir))
        if not self.client.has_collection(self.collection):
            raise ArtifactError(f"Milvus at {spec['uri']} has no collection {self.collection}: rebuild with "
                                "`leian build --backend milvus`")
        self.client.load_collection(self.collection)  # a reopened milvus-lite starts with collections released

    def hybrid(self, vector: np.ndarray, text: str, n: int, expr: str) -> list[int]:
        """The rows of one hybrid request: dense and BM25 top-``n``, each filtered, fused by RRF."""
        from pymilvus import AnnSearchRequest, RRFRanker

        requests = [
            AnnSearchRequest(data=[vector.astype(np.float32).tolist()], anns_field="vector",
                             param={"metric_type": "IP", "params": {"ef": max(2 * n, 128)}}, limit=n, expr=expr or None),
            AnnSearchRequest(data=[_cut(text) or " "], anns_field="sparse", param={"metric_type": "BM25"},
                             limit=n, expr=expr or None),
        ]
        hits = self.client.hybrid_search(self.collection, requests, ranker=RRFRanker(60), limit=2 * n,
                                          output_fields=["row"])
        return [int(h["row"]) for h in hits[0]]

    def dense(self, vector: np.ndarray, n: int, expr: str) -> list[int]:
        """The rows of a dense-only request (a candidate pool narrowed to some charges or a case type)."""
        hits = self.client.search(self.collection, data=[vector.astype(np.float32).tolist()], anns_field="vector",
                                  search_params={"metric_type": "IP", "params": {"ef": max(2 * n, 128)}},
                                  limit=n, filter=expr, output_fields=["row"])
        return [int(h["row"]) for h in hits[0]]

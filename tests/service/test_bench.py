"""The speed benchmark's machinery on the real sample index (figures themselves are not asserted)."""

from __future__ import annotations

import numpy as np

from indexing.artifacts import current_dir
from indexing.search_index import SearchIndex
from tests.conftest import SAMPLES
from tests.service.conftest import Built


def test_stage_throughput_and_synthetic_scale_report_sane_figures(built: Built) -> None:
    from evaluation.bench import scale, stage_throughput

    index = SearchIndex(current_dir(built.data_dir))
    stages = stage_throughput([SAMPLES / "lecard_v1_sample.jsonl"], index)
    assert stages["records"] == 30
    for key in ("parse", "extract", "anonymize", "quality", "segment", "embed", "ingest_and_index_pipeline"):
        assert stages[key] > 0, key
    assert stages["ingest_and_index_pipeline"] <= min(stages[k] for k in ("extract", "anonymize", "embed"))

    texts = [row["facts"] for row in index.rows[:20]]
    vectors = np.asarray(index.embedder.encode(texts), dtype=np.float32)
    result = scale(index, texts, vectors, 3000)
    assert result["synthetic"] is True and result["cases"] == 3000
    search = result["search"]
    assert 0 < search["p50_ms"] <= search["p95_ms"] <= search["p99_ms"]
    assert result["disk"]["faiss_bytes_per_case"] >= 4 * index.embedder.dim  # float32 vectors at least
    assert result["rss"]["served"]["total_bytes"] > 0  # measured in a fresh process serving the index
    assert result["rss"]["parts"]["rows_python_dicts"]["anon_bytes"] > 0
    assert result["vector_indexes"]["Flat"]["recall_at_10"] == 1.0
    assert result["assess"]["cases"] == 3000

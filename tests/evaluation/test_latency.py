"""The one latency summary every speed report uses."""

from __future__ import annotations

from evaluation.metrics import latency_percentiles


def test_latency_percentiles_match_numpy_definition_and_rounding() -> None:
    ms = [float(x) for x in range(1, 101)]  # 1..100 ms
    assert latency_percentiles(ms) == {"p50_ms": 50.5, "p95_ms": 95.05, "p99_ms": 99.01}
    assert latency_percentiles(ms, digits=1) == {"p50_ms": 50.5, "p95_ms": 95.0, "p99_ms": 99.0}

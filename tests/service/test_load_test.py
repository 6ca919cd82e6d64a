"""The load generator itself: its schedule, its open-loop driver against the live test server, its exit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from evaluation.cpu_ab import compare
from evaluation.cpu_ab import main as cpu_ab_main
from evaluation.http_connection import KeepAliveConnection
from evaluation.load_test import drive as drive_load
from evaluation.load_test import main, schedule, summarize
from service.assess import parse_proposed
from tests.conftest import SAMPLES
from tests.service.conftest import Built


def _cail() -> list[dict]:
    return [json.loads(x) for x in (SAMPLES / "cail_sample.jsonl").read_text(encoding="utf-8").splitlines()[:50]]


def test_schedule_is_bounded_varied_and_lawful() -> None:
    calls = schedule(_cail(), rate=40, duration=5, assess_share=0.5, seed=3, run="t")
    assert len(calls) == 200
    dues = [c.due for c in calls]
    assert dues == sorted(dues) and 0 < dues[0] and abs(dues[-1] - 5) < 1e-9
    assert {c.endpoint for c in calls} == {"/v1/search", "/v1/assess"}
    assert len({c.body["text"] for c in calls}) == 50, "every draft is used before any repeats"
    proposals = [c.body["proposed"] for c in calls if "proposed" in c.body]
    assert proposals and all(parse_proposed(p) for p in proposals)  # within the law's bounds
    assert len({c.body["case_ref"] for c in calls if c.endpoint == "/v1/assess"}) == sum(
        c.endpoint == "/v1/assess" for c in calls)


def test_open_loop_drive_against_the_live_server(server: str) -> None:
    calls = schedule(_cail(), rate=15, duration=2, assess_share=0.0, seed=1, run="t")  # searches: no rows
    outcomes, wall = asyncio.run(drive_load(server, calls, timeout=60, connections=4))
    result = summarize(outcomes, 2)
    overall = result["overall"]
    assert overall["requests"] == 30 and overall["errors"] == 0, overall
    assert 0 < overall["p50_ms"] <= overall["p99_ms"] <= overall["max_ms"]
    assert overall["sustained_rps"] <= 15 and wall >= 2


def test_missing_shared_data_says_so_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--benchmark-data", str(tmp_path)]) == 2
    assert "cail2018_sample not found" in capsys.readouterr().err


def test_keep_alive_connection_against_the_live_server(server: str) -> None:
    url = urlsplit(server)
    draft = _cail()[0]["fact"]

    async def go() -> list:
        conn = KeepAliveConnection(url.hostname or "", url.port or 80)
        answers = [await conn.post("/v1/search", json.dumps({"text": draft, "k": 3}).encode()) for _ in range(2)]
        answers.append(await conn.post("/v1/search", b'{"text": ""}'))  # a 422, read like any answer
        await conn.close()
        return answers

    first, second, bad = asyncio.run(go())
    assert first.status == second.status == 200 and json.loads(first.body) == json.loads(second.body)
    assert bad.status == 422 and b"text" in bad.body


def test_keep_alive_connection_reads_chunked_answers_and_reconnects_after_close() -> None:
    served = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(x for x in head.decode().split("\r\n") if x.lower().startswith("content-length")).split(":")[1])
        served.append(await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     b"3\r\n{\"a\r\n5\r\n\": 1}\r\n0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def go() -> list:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        conn = KeepAliveConnection("127.0.0.1", port)
        answers = [await conn.post("/x", b'{"n": 1}'), await conn.post("/x", b'{"n": 2}')]  # the 2nd on a new connection
        await conn.close()
        srv.close()
        await srv.wait_closed()
        return answers

    answers = asyncio.run(go())
    assert [(a.status, json.loads(a.body)) for a in answers] == [(200, {"a": 1})] * 2
    assert served == [b'{"n": 1}', b'{"n": 2}']


def test_cpu_ab_serves_both_checkouts_the_same_load_and_splits_their_cpu(built: Built, tmp_path: Path) -> None:
    """Two servers of this very checkout: both answer everything, and the figures add up."""
    repo = Path(__file__).resolve().parents[2]
    report = compare([repo, repo], built.data_dir, _cail(), rate=8, duration=2, warmup=0,
                     database_url=f"sqlite:///{tmp_path / 'ab.db'}")
    assert len(report) == 2
    for side in report:
        assert side["latency"]["requests"] == 16 and side["latency"]["errors"] == 0, side
        assert 0 < side["work_ms_per_request"] < side["process_ms_per_request"]
        assert 0 < side["event_loop_ms_per_request"] < side["process_ms_per_request"]


def test_cpu_ab_without_shared_data_says_so_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = str(Path(__file__).resolve().parents[2])
    assert cpu_ab_main([repo, repo, "--benchmark-data", str(tmp_path)]) == 2
    assert "cail2018_sample not found" in capsys.readouterr().err


def test_request_floor_answers_each_kind_as_expected_and_splits_its_cpu(built: Built, tmp_path: Path) -> None:
    """A real single-worker `leian serve` on the sample build: every kind gets its status, the figures add up."""
    from evaluation.request_floor import measure

    report = measure(built.data_dir, n=30, database_url=f"sqlite:///{tmp_path / 'floor.db'}")
    assert [k["kind"] for k in report] == ["http_stack", "plus_audit_record", "plus_caller_and_validation", "short_search"]
    for kind in report:
        assert kind["statuses"] == {kind["expected_status"]: 30}, kind
        assert kind["process_ms_per_request"] >= kind["event_loop_ms_per_request"] >= 0, kind
    # CPU is counted in clock ticks (10 ms), so only the search, which does real work, must show some
    assert report[-1]["process_ms_per_request"] > 0


def test_request_floor_without_shared_data_says_so_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evaluation.request_floor import main as floor_main

    assert floor_main(["--benchmark-data", str(tmp_path)]) == 2
    assert "cail2018_sample not found" in capsys.readouterr().err

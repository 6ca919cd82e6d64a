"""The case exchange format: committed schema = code, exports valid, a round trip through two real stores."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import jsonschema_rs
import pytest
from typer.testing import CliRunner

from indexing.db import iter_cases, make_engine
from indexing.exchange import SCHEMA_ID, exchange_schema, schema_text
from indexing.parse import detect_format
from indexing.pipeline import ingest
from indexing.schema import CaseRecord
from service.cli import app
from service.config import Settings
from tests.conftest import ROOT, SAMPLES

SCHEMA_FILE = ROOT / "docs" / "schema" / "case-1.0.json"


@dataclass(frozen=True)
class RoundTrip:
    exported: Path  # the exchange records `leian export --format exchange` wrote from the first store
    first: dict[str, CaseRecord]
    second: dict[str, CaseRecord]


def _store(data_dir: Path, sources: list[Path]) -> dict[str, CaseRecord]:
    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url())
    report = ingest(sources, engine, data_dir / "quarantine", progress=False)
    assert not report.unreadable_sources and not report.rejected, report.to_dict()
    cases = {case.case_id: case for case in iter_cases(engine)}
    engine.dispose()
    return cases


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    """judge_sample.jsonl into a store, exported as exchange records, ingested into a second store."""
    root = tmp_path_factory.mktemp("exchange")
    source = root / "judge_sample.jsonl"
    shutil.copy(SAMPLES / "judge_sample.jsonl", source)
    first = _store(root / "first", [source])
    result = CliRunner().invoke(app, ["export", "--data-dir", str(root / "first"), "--format", "exchange"])
    assert result.exit_code == 0, result.output
    exported = root / "exported.jsonl"
    exported.write_text(result.stdout, encoding="utf-8")
    return RoundTrip(exported, first, _store(root / "second", [exported]))


def test_committed_schema_is_what_the_code_gives() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/schema/case-1.0.json is stale: run python -m indexing.exchange --out docs/schema/case-1.0.json"
    )


def test_schema_is_valid_json_schema_with_its_id() -> None:
    schema = exchange_schema()
    assert schema["$id"] == SCHEMA_ID == "https://leian.invalid/schema/case/1.0"
    assert "案例交换记录" in schema["title"] and "exchange record" in schema["title"]
    assert jsonschema_rs.meta.is_valid(schema)
    assert {"schema_version", "source", "source_id", "facts"} <= set(schema["required"])


def test_exported_records_validate_against_the_schema(round_trip: RoundTrip) -> None:
    validator = jsonschema_rs.validator_for(exchange_schema())
    lines = round_trip.exported.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(round_trip.first) == 77
    for line in lines:
        record = json.loads(line)
        assert record["schema_version"] == "1.0"
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(record)]
        assert not errors, (record["source_id"], errors)
    assert detect_format(round_trip.exported) == "exchange"


def test_schema_refuses_what_ingest_quarantines(round_trip: RoundTrip) -> None:
    validator = jsonschema_rs.validator_for(exchange_schema())
    record = json.loads(round_trip.exported.read_text(encoding="utf-8").splitlines()[0])
    assert not validator.is_valid({k: v for k, v in record.items() if k != "facts"})
    assert not validator.is_valid({**record, "outcome": {"type": "fixed_term", "months": "八个月"}})
    assert not validator.is_valid({**record, "schema_version": "2.0"})
    assert not validator.is_valid({**record, "unknown_field": 1})


def test_round_trip_keeps_the_case(round_trip: RoundTrip) -> None:
    first, second = round_trip.first, round_trip.second
    assert set(second) == set(first)  # same source and source_id: the same case ids
    for case_id, case in first.items():
        again = second[case_id]
        for field in (
            "facts",
            "reasoning",
            "judgment",
            "charges",
            "articles",
            "outcome",
            "court",
            "case_number",
            "procedure",
            "province",
            "date",
            "case_type",
            "defendants",
        ):
            assert getattr(again, field) == getattr(case, field), (case_id, field)
    assert sum(bool(c.outcome) for c in first.values()) > 60  # the sample's outcomes are really compared
    assert sum(bool(c.defendants) for c in first.values()) > 60  # and their defendants counts


def test_malformed_exchange_lines_are_quarantined_naming_the_field(
    round_trip: RoundTrip, tmp_path: Path
) -> None:
    good = json.loads(round_trip.exported.read_text(encoding="utf-8").splitlines()[0])
    lines = [
        {k: v for k, v in good.items() if k != "facts"},
        {**good, "source_id": "bad-months", "outcome": {"type": "fixed_term", "months": "八个月"}},
        {**good, "source_id": "kept"},
    ]
    source = tmp_path / "shared.jsonl"
    source.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'leian.db'}")
    report = ingest([source], engine, tmp_path / "quarantine", progress=False)
    stored = [case.source_id for case in iter_cases(engine)]
    engine.dispose()
    assert report.read == 3 and report.stored == 1 and stored == ["kept"]
    rows = [
        json.loads(line) for line in Path(report.quarantine_file).read_text(encoding="utf-8").splitlines()
    ]
    assert [(r["location"], r["field"]) for r in rows] == [
        (f"{source}:1", "facts"),
        (f"{source}:2", "outcome.months"),
    ]
    assert rows[0]["reason"] == "Field required"
    assert "number" in rows[1]["reason"]

"""The exchange format for shared judgment data: one versioned record per case (issue 19).

An exchange record is what LeiAn writes with ``leian export --format exchange`` and reads back with
``leian ingest`` (indexing.parse detects JSON lines carrying ``schema_version``): a case's identity
and provenance, its text sections and the structured fields LeiAn extracts. The field types are the
ones in indexing.schema, so the exchange format cannot drift from the stored record.

Run ``python -m indexing.exchange --out docs/schema/case-1.0.json`` to write the JSON Schema; a test
fails while the committed file differs from what this module gives.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from indexing.schema import CaseRecord, CaseType, Circumstance, Outcome, Procedure, Quantities

SCHEMA_VERSION = "1.0"
SCHEMA_ID = f"https://leian.invalid/schema/case/{SCHEMA_VERSION}"  # .invalid never resolves (RFC 6761)
SCHEMA_TITLE = "LeiAn 案例交换记录 / LeiAn case exchange record"
SCHEMA_DESCRIPTION = (
    "一件裁判文书的交换记录：身份与来源、文书段落（查明事实必填）及 LeiAn 抽取的结构化字段（可选）。"
    "每行一条 JSON（JSON Lines），文本应已匿名化。 / "
    "One court judgment for exchange: identity and provenance, text sections (facts required) and the "
    "structured fields LeiAn extracts (optional). One JSON object per line (JSON Lines); texts should be "
    "anonymized."
)


class ExchangeRecord(BaseModel):
    """One case in the exchange format, version ``SCHEMA_VERSION``; unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="CaseExchangeRecord")

    schema_version: Literal["1.0"] = Field(description="exchange format version / 交换格式版本")
    # identity and provenance
    source: str = Field(
        min_length=1, description="where the record first came from (cail2018, judge, text ...) / 来源"
    )
    source_id: str = Field(min_length=1, description="the record's id within its source / 来源内编号")
    court: str | None = Field(default=None, description="审理法院")
    court_level: str | None = Field(default=None, description="basic / intermediate / high / supreme")
    province: str | None = Field(default=None, description="省级行政区")
    date: str | None = Field(
        default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="裁判日期 (yyyy-mm-dd)"
    )
    case_number: str | None = Field(default=None, description="案号, e.g. （2017）沪0120刑初684号")
    procedure: Procedure | None = None
    defendants: int | None = Field(default=None, ge=1, description="number of defendants / 被告人数")
    case_type: CaseType = CaseType.CRIMINAL
    cause: str | None = Field(default=None, description="civil cause of action / 案由")
    # text sections
    facts: str = Field(min_length=1, description="经审理查明 ... (required)")
    reasoning: str | None = Field(default=None, description="本院认为 ...")
    judgment: str | None = Field(default=None, description="判决如下 ... (the operative part)")
    # structured fields
    charges: list[str] | None = Field(default=None, description="canonical charge names with 罪 / 罪名")
    articles: list[int] | None = Field(default=None, description="刑法 article numbers cited / 引用法条")
    outcome: Outcome | None = None
    circumstances: list[Circumstance] | None = None
    quantities: Quantities | None = None


def to_exchange(record: CaseRecord) -> ExchangeRecord:
    """The exchange record of a stored case (its texts as stored, i.e. anonymized)."""
    return ExchangeRecord(
        schema_version=SCHEMA_VERSION,
        source=record.source,
        source_id=record.source_id,
        court=record.court,
        court_level=record.court_level,
        province=record.province,
        date=record.date,
        case_number=record.case_number,
        procedure=record.procedure,
        defendants=record.defendants,
        case_type=record.case_type,
        cause=record.cause,
        facts=record.facts,
        reasoning=record.reasoning,
        judgment=record.judgment,
        charges=record.charges,
        articles=record.articles,
        outcome=record.outcome,
        circumstances=record.circumstances,
        quantities=record.quantities,
    )


def exchange_schema() -> dict:
    """The JSON Schema (draft 2020-12) of an exchange record, with its ``$id`` and bilingual title."""
    body = ExchangeRecord.model_json_schema()
    body["title"] = SCHEMA_TITLE
    body["description"] = SCHEMA_DESCRIPTION
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **body}


def schema_text() -> str:
    """The schema as the committed file holds it: indented UTF-8 JSON with a final newline."""
    return json.dumps(exchange_schema(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the JSON Schema of the LeiAn case exchange record.")
    parser.add_argument(
        "--out", type=Path, required=True, help="file to write, e.g. docs/schema/case-1.0.json"
    )
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    main()

"""GET /v1/schema/case: the case exchange record's JSON Schema, as docs/schema/case-1.0.json holds it."""

from __future__ import annotations

import json

import httpx

from indexing.exchange import SCHEMA_ID
from tests.conftest import ROOT


def test_schema_endpoint_serves_the_committed_schema(client: httpx.Client) -> None:
    resp = client.get("/v1/schema/case")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["$id"] == SCHEMA_ID
    assert body == json.loads((ROOT / "docs" / "schema" / "case-1.0.json").read_text(encoding="utf-8"))


def test_schema_endpoint_is_in_the_openapi_document(client: httpx.Client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/schema/case"]["get"]
    assert "exchange record" in operation["description"]

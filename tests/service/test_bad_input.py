"""Bad input over a live server: every case is a 4xx problem-details response that names the field."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import SAMPLES

DRAFT = json.loads((SAMPLES / "lecard_v1_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])["q"]
GOOD = {
    "/v1/search": {"text": DRAFT, "k": 3},
    "/v1/compare": {"draft": DRAFT, "cases": [{"id": "a", "text": DRAFT}]},
    "/v1/assess": {"text": DRAFT, "charges": ["危险驾驶"]},
    "/v1/expectations": {"text": DRAFT},
}


def _problem(resp: httpx.Response, status: int, field: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["field"] == field, body
    return body


def _with(path: str, **changes: object) -> dict:
    return {**GOOD[path], **changes}


NOT_CHINESE = ["", "   \n\t", "The defendant stole a bicycle.", "12345 !!!", "Ünïcödé ßtrïng ❤", "ｂｉｃｙｃｌｅ"]


@pytest.mark.parametrize("value", NOT_CHINESE)
@pytest.mark.parametrize(("path", "field"), [("/v1/search", "text"), ("/v1/assess", "text"), ("/v1/expectations", "text"),
                                             ("/v1/compare", "draft")])
def test_empty_or_non_chinese_text_is_422_naming_the_field(client: httpx.Client, path: str, field: str, value: str) -> None:
    _problem(client.post(path, json=_with(path, **{field: value})), 422, field)


def test_non_chinese_submitted_case_names_its_position(client: httpx.Client) -> None:
    body = {"draft": DRAFT, "cases": [{"id": "a", "text": DRAFT}, {"id": "b", "text": "no Chinese here"}]}
    _problem(client.post("/v1/compare", json=body), 422, "cases.1.text")


@pytest.mark.parametrize(
    ("path", "changes", "field"),
    [
        ("/v1/search", {"text": "盗" * 100_001}, "text"),
        ("/v1/search", {"k": 0}, "k"),
        ("/v1/search", {"k": 101}, "k"),
        ("/v1/search", {"charges": ["盗窃"] * 21}, "charges"),
        ("/v1/search", {"charges": ["盗" * 61]}, "charges.0"),
        ("/v1/search", {"filters": {"province": "省" * 21}}, "filters.province"),
        ("/v1/search", {"filters": {"year_from": 1900}}, "filters.year_from"),
        ("/v1/compare", {"cases": [{"id": str(i), "text": "被告人盗窃"} for i in range(51)]}, "cases"),
        ("/v1/compare", {"cases": []}, "cases"),
        ("/v1/compare", {"cases": [{"id": "x" * 201, "text": DRAFT}]}, "cases.0.id"),
        ("/v1/assess", {"court": "院" * 201}, "court"),
        ("/v1/assess", {"judge_id": "j" * 101}, "judge_id"),
        ("/v1/assess", {"case_ref": "r" * 201}, "case_ref"),
        ("/v1/assess", {"circumstances": ["自首"] * 21}, "circumstances"),
        ("/v1/assess", {"proposed": {"type": "t" * 31, "months": 3}}, "proposed.type"),
    ],
)
def test_size_limits_on_every_field(client: httpx.Client, path: str, changes: dict, field: str) -> None:
    _problem(client.post(path, json=_with(path, **changes)), 422, field)


@pytest.mark.parametrize(
    ("path", "changes", "field"),
    [
        ("/v1/search", {"k": "ten"}, "k"),
        ("/v1/search", {"k": 2.5}, "k"),
        ("/v1/search", {"text": 12345}, "text"),
        ("/v1/search", {"text": None}, "text"),
        ("/v1/search", {"charges": "盗窃"}, "charges"),
        ("/v1/search", {"charges": [1, 2]}, "charges.0"),
        ("/v1/search", {"filters": "盗窃"}, "filters"),
        ("/v1/search", {"filters": {"court_level": "village"}}, "filters.court_level"),
        ("/v1/search", {"filters": {"exclude_flagged": "maybe"}}, "filters.exclude_flagged"),
        ("/v1/search", {"unexpected": 1}, "unexpected"),
        ("/v1/compare", {"cases": {"id": "a"}}, "cases"),
        ("/v1/assess", {"proposed": "five years"}, "proposed"),
        ("/v1/assess", {"proposed": {"type": "fixed_term", "months": "sixty"}}, "proposed.months"),
    ],
)
def test_wrong_types_are_422_naming_the_field(client: httpx.Client, path: str, changes: dict, field: str) -> None:
    _problem(client.post(path, json=_with(path, **changes)), 422, field)


@pytest.mark.parametrize(
    ("path", "changes", "field"),
    [
        ("/v1/search", {"charges": ["偷自行车罪"]}, "charges"),
        ("/v1/search", {"filters": {"charges": ["不存在的罪名"]}}, "filters.charges"),
        ("/v1/assess", {"charges": ["Theft"]}, "charges"),
        ("/v1/expectations", {"charges": ["乱说罪"]}, "charges"),
        ("/v1/assess", {"circumstances": ["运气不好"]}, "circumstances"),
    ],
)
def test_unknown_charges_and_circumstances_are_422(client: httpx.Client, path: str, changes: dict, field: str) -> None:
    body = _problem(client.post(path, json=_with(path, **changes)), 422, field)
    assert "unknown" in body["detail"]


@pytest.mark.parametrize(
    ("proposed", "field"),
    [
        ({"type": "fixed_term", "months": -1}, "proposed.months"),
        ({"type": "fixed_term", "months": 301}, "proposed.months"),  # over 25 years (刑法第69条)
        ({"type": "fixed_term", "months": 1e9}, "proposed.months"),
        ({"type": "fixed_term", "months": 2}, "proposed.months"),  # under the 6-month minimum
        ({"type": "detention", "months": 13}, "proposed.months"),
        ({"type": "fixed_term", "months": 24, "probation_months": -6}, "proposed.probation_months"),
        ({"type": "fixed_term", "months": 24, "probation_months": 61}, "proposed.probation_months"),
        ({"type": "fixed_term", "months": 48, "probation_months": 48}, "proposed.probation_months"),
        ({"type": "fine_only", "fine": -100}, "proposed.fine"),
        ({"type": "death", "months": 5}, "proposed.months"),
    ],
)
def test_absurd_sentences_are_422_naming_the_field(client: httpx.Client, proposed: dict, field: str) -> None:
    _problem(client.post("/v1/assess", json=_with("/v1/assess", proposed=proposed)), 422, field)


def test_nan_and_infinity_are_refused(client: httpx.Client) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = ('{"text": ' + json.dumps(DRAFT) + ', "proposed": {"type": "fixed_term", "months": ' + literal + "}}").encode()
        _problem(client.post("/v1/assess", content=raw, headers={"Content-Type": "application/json"}), 422, "proposed.months")


@pytest.mark.parametrize("path", list(GOOD))
def test_invalid_utf8_is_400(client: httpx.Client, path: str) -> None:
    raw = b'{"text": "\xff\xfe\xe8\xa2\xab\xe5", "draft": "x"}'
    body = _problem(client.post(path, content=raw, headers={"Content-Type": "application/json"}), 400, "body")
    assert "UTF-8" in body["detail"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b"text=abc", "application/x-www-form-urlencoded"), (b'{"text": "\xe8\xa2\xab', "application/json"),
     (b"[1, 2, 3]", "application/json"), (b"", "application/json"), (b"\x00\x01\x02", "application/octet-stream"),
     (b"null", "application/json"), (b"{" * 5000, "application/json")],
)
def test_bodies_that_are_not_a_json_object_are_4xx(client: httpx.Client, raw: bytes, content_type: str) -> None:
    resp = client.post("/v1/search", content=raw, headers={"Content-Type": content_type})
    assert resp.status_code in (400, 422), resp.text
    _problem(resp, resp.status_code, "body")


def test_body_over_the_size_limit_is_413(client: httpx.Client) -> None:
    big = json.dumps({"draft": DRAFT, "cases": [{"id": str(i), "text": "被告人" * 30_000} for i in range(5)]}).encode()
    assert len(big) > 1_048_576
    body = _problem(client.post("/v1/compare", content=big, headers={"Content-Type": "application/json"}), 413, "body")
    assert "1048576" in body["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    _problem(client.post("/v1/compare", content=chunks(), headers={"Content-Type": "application/json"}), 413, "body")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/alerts", {"limit": 0}, "limit"),
        ("/v1/alerts", {"limit": 501}, "limit"),
        ("/v1/alerts", {"offset": -1}, "offset"),
        ("/v1/alerts", {"offset": 2726796700340863412301501300736}, "offset"),  # found by schemathesis: was a 500
        ("/v1/alerts", {"level": "catastrophic"}, "level"),
        ("/v1/alerts", {"date_from": "yesterday"}, "date_from"),
        ("/v1/alerts", {"court": "院" * 201}, "court"),
        ("/v1/stats", {"group_by": "judge"}, "group_by"),  # no statistics by judge, for anyone
        ("/v1/stats", {"date_to": "2020-13-45"}, "date_to"),
    ],
)
def test_bad_query_parameters_are_422(client: httpx.Client, path: str, params: dict, field: str) -> None:
    _problem(client.get(path, params=params), 422, field)


def test_bad_alert_updates(client: httpx.Client) -> None:
    _problem(client.patch("/v1/alerts/" + "a" * 65, json={"resolution": "justified"}), 422, "alert_id")
    _problem(client.patch("/v1/alerts/x", json={"resolution": "justified", "note": "长" * 2001}), 422, "note")
    _problem(client.patch("/v1/alerts/x", json={}), 422, "resolution")
    resp = client.patch("/v1/alerts/no-such-alert", json={"resolution": "justified"})
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")

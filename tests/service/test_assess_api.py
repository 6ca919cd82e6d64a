"""/v1/assess, /v1/expectations, /v1/alerts and /v1/stats over a live server on the sample index."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.utils.samples import lecard_fact

DEFENDANT = re.compile(r"被告人([\u4e00-\u9fff]{2,4})[，,]\s*(?:男|女)")


@pytest.fixture(scope="module")
def drunk(client: httpx.Client) -> dict:
    resp = client.post("/v1/assess", json={"text": lecard_fact("危险驾驶罪"), "charges": ["危险驾驶"]})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_assess_without_proposal_gives_expected_range(drunk: dict) -> None:
    exp = drunk["expected"]
    assert drunk["draft"]["charges"] == ["危险驾驶罪"]
    assert exp["outcome_type"] == "detention"  # 刑法第一百三十三条之一: 拘役 only
    assert exp["median_months"] is not None and 0 < exp["median_months"] <= 6
    assert exp["type_probabilities"].get("fixed_term", 0.0) == 0.0
    assert exp["lawful"]["articles"] == ["133之一"] and exp["lawful"]["max_months"] == 6
    lo80, hi80 = exp["range_80"]
    lo95, hi95 = exp["range_95"]
    assert lo95 <= lo80 <= exp["median_months"] <= hi80 <= hi95
    assert drunk["deviation"] is None and drunk.get("alert_id") is None
    assert drunk["distribution"]["months"] and sum(b["count"] for b in drunk["distribution"]["bins"]) == len(drunk["distribution"]["months"])
    assert drunk["similar_cases"] and all("危险驾驶罪" in c["charges"] for c in drunk["similar_cases"][:5])


def test_ordinary_proposal_is_not_flagged(client: httpx.Client, drunk: dict) -> None:
    median = drunk["expected"]["median_months"]
    body = {"text": lecard_fact("危险驾驶罪"), "charges": ["危险驾驶"], "proposed": {"type": "detention", "months": max(1, round(median))},
            "court": "测试法院甲", "judge_id": "J-1", "case_ref": "ordinary"}
    data = client.post("/v1/assess", json=body).json()
    assert data["deviation"]["level"] in ("none", "notice")
    assert data.get("alert_id") is None
    threshold = data["deviation"]["threshold"]
    assert 0 <= threshold["measured_false_alarm"] <= 1 and threshold["n"] > 0


def test_outlier_proposal_raises_a_stored_alert_that_a_manager_acknowledges(client: httpx.Client) -> None:
    body = {"text": lecard_fact("危险驾驶罪"), "charges": ["危险驾驶"], "proposed": {"type": "fixed_term", "months": 60},
            "court": "测试法院乙", "judge_id": "J-2", "case_ref": "outlier"}
    data = client.post("/v1/assess", json=body).json()
    dev = data["deviation"]
    assert dev["level"] in ("warning", "severe"), dev
    assert dev["reasons"] and dev["false_alarm_rate"] is not None
    # 有期徒刑 for drunk driving also leaves the statutory range: an alert of its own, citing the article
    assert dev["statutory"]["outside"] and "刑法第一百三十三条之一" in dev["statutory"]["reasons"][0]
    assert dev["departs_at"]["step"] == "bracket"
    alert_id = data["alert_id"]
    assert alert_id
    assert client.get("/v1/alerts", params={"court": "测试法院乙", "statutory": "true"}).json()["count"] == 1

    listed = client.get("/v1/alerts", params={"court": "测试法院乙"}).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == alert_id
    assert listed["data"][0]["status"] == "open" and listed["data"][0]["charges"] == ["危险驾驶罪"]
    assert client.get("/v1/alerts", params={"court": "测试法院乙", "status": "acknowledged"}).json()["count"] == 0

    bad = client.patch(f"/v1/alerts/{alert_id}", json={"resolution": "ignored"})
    assert bad.status_code == 422 and bad.json()["field"] == "resolution"
    assert client.patch("/v1/alerts/nope", json={"resolution": "justified"}).status_code == 404
    done = client.patch(f"/v1/alerts/{alert_id}", json={"resolution": "corrected", "note": "改判拘役", "by": "manager-1"})
    assert done.status_code == 200 and done.json()["status"] == "acknowledged" and done.json()["resolution"] == "corrected"
    assert client.get("/v1/alerts", params={"court": "测试法院乙", "status": "acknowledged"}).json()["count"] == 1

    stats = client.get("/v1/stats", params={"group_by": "court"}).json()
    row = next(r for r in stats["deviation"] if r["group"] == "测试法院乙")
    assert row["alerts"] == 1 and row["corrected"] == 1 and row["deviation_rate"] == 1.0
    by_charge = client.get("/v1/stats").json()
    assert by_charge["group_by"] == by_charge["sentencing_group_by"] == "charge"
    assert any(r["group"] == "危险驾驶罪" and r["median_months"] for r in by_charge["sentencing"])
    # assessments have dates, the corpus only judgment years: the response says which grouping each part got
    by_month = client.get("/v1/stats", params={"group_by": "month"}).json()
    assert by_month["group_by"] == "month" and by_month["sentencing_group_by"] == "year"
    assert by_month["deviation"] and all(len(r["group"]) == 7 and r["group"][4] == "-" for r in by_month["deviation"])
    years = [r["group"] for r in by_month["sentencing"] if r["group"] != "(unknown)"]
    assert years and all(len(y) == 4 and y.isdigit() for y in years)


@pytest.mark.parametrize(
    ("proposed", "field"),
    [
        ({"type": "fixed_term", "months": -3}, "proposed.months"),
        ({"type": "fixed_term", "months": 400}, "proposed.months"),
        ({"type": "fixed_term"}, "proposed.months"),
        ({"type": "detention", "months": 30}, "proposed.months"),
        ({"type": "eternal", "months": 3}, "proposed.type"),
        ({"type": "life", "probation_months": 12}, "proposed.probation_months"),
    ],
)
def test_absurd_proposals_are_rejected_naming_the_field(client: httpx.Client, proposed: dict, field: str) -> None:
    resp = client.post("/v1/assess", json={"text": lecard_fact("危险驾驶罪"), "charges": ["危险驾驶"], "proposed": proposed})
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field


def test_expectations_for_litigants_are_plain_and_anonymized(client: httpx.Client) -> None:
    line = (SAMPLES / "lecardv2_heads.jsonl").read_text(encoding="utf-8").splitlines()[0]
    rec = json.loads(line)
    names = DEFENDANT.findall(rec["query"])
    assert names
    resp = client.post("/v1/expectations", json={"text": rec["query"] + rec["fact"]})
    assert resp.status_code == 200, resp.text
    body = resp.text
    assert not [n for n in names if n in body]
    data = resp.json()
    assert any("中位数" in s or "最可能" in s for s in data["summary"])
    assert "alert_id" not in body and "judge" not in body and "court" not in data["similar_cases"][0]
    first = data["similar_cases"][0]  # its id opens the whole anonymized facts, as from a search
    case = client.get(f"/v1/cases/{first['case_id']}")
    assert case.status_code == 200 and case.json()["facts"].startswith(first["facts_excerpt"])


def test_the_guideline_steps_explain_the_expectation(drunk: dict) -> None:
    steps = drunk["steps"]
    assert [s["step"] for s in steps][:3] == ["bracket", "starting_point", "baseline"] and steps[-1]["step"] == "expected"
    assert steps[0]["range_months"] == [1, 6] and "刑法第一百三十三条之一" in steps[0]["source"]
    assert abs(steps[-1]["months"] - drunk["expected"]["term_median_months"]) < 1e-6
    for s in steps:
        if s["step"] == "circumstance":
            assert s["text"].startswith(s["title"]) and s["change_pct"] is not None and len(s["guideline_pct"]) == 2


def test_a_lawful_proposal_beside_similar_cases_raises_no_statutory_alert(client: httpx.Client, drunk: dict) -> None:
    body = {"text": lecard_fact("危险驾驶罪"), "charges": ["危险驾驶"], "proposed": {"type": "detention", "months": 6},
            "court": "测试法院丙"}
    dev = client.post("/v1/assess", json=body).json()["deviation"]
    assert dev["statutory"]["outside"] is False and not dev["statutory"]["reasons"]


def test_a_former_charge_name_is_answered_with_the_current_one(client: httpx.Client) -> None:
    text = "被告人张某通过网络购买、非法获取公民个人信息共计五千余条，并出售给他人，获利人民币三千元。"
    for path in ("/v1/search", "/v1/assess"):
        resp = client.post(path, json={"text": text, "charges": ["非法获取公民个人信息罪"]})
        assert resp.status_code == 200, resp.text
        draft = resp.json()["draft"]
        assert draft["charges"] == ["侵犯公民个人信息罪"]
        assert draft["charges_as_written"] == {"侵犯公民个人信息罪": "非法获取公民个人信息罪"}

"""/v1/search and /v1/compare over a live server on the index built from data_samples/."""

from __future__ import annotations

import json

import httpx

from tests.conftest import SAMPLES
from tests.utils.samples import lecard_fact


def _lecard(n: int) -> dict:
    with (SAMPLES / "lecard_v1_sample.jsonl").open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == n:
                return json.loads(line)
    raise IndexError(n)


def _cjrc(casename: str) -> list[str]:
    doc = json.loads((SAMPLES / "cjrc_sample.json").read_text(encoding="utf-8"))
    return [p["context"] for item in doc["data"] for p in item["paragraphs"] if p["casename"] == casename]


def _cail_query(charge: str) -> dict:
    """A real CAIL record with this charge (it is in the index too; tests exclude it from the hits)."""
    with (SAMPLES / "cail_sample.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["meta"]["accusation"] == [charge]:
                return rec
    raise LookupError(charge)


def test_health_reports_the_served_index(client: httpx.Client) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["cases"] > 1300 and body["index_version"]


def test_search_ranks_same_charge_cases_first_with_explanations(client: httpx.Client) -> None:
    query = _lecard(0)  # a real 危险驾驶罪 fact paragraph (drunk driving, BAC measured)
    assert query["crime"] == ["危险驾驶罪"]
    resp = client.post("/v1/search", json={"text": query["q"], "k": 10})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    hits = data["results"]
    assert data["count"] == len(hits) == 10
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    same = [h for h in hits if "危险驾驶罪" in h["charges"]]
    assert len(same) >= 8, [h["charges"] for h in hits]
    top = hits[0]
    assert top["why"]["key_terms"], top["why"]
    for span in top["highlights"]:
        assert top["facts_excerpt"][span["start"] : span["end"]] == span["term"]
    assert data["draft"]["quantities"]["blood_alcohol_mg_100ml"] is not None
    drunk = [h for h in same if "blood_alcohol_mg_100ml" in h["why"]["quantities"]]
    assert drunk, "similar drunk-driving cases should compare blood alcohol"


def test_given_charges_are_normalized_and_used(client: httpx.Client) -> None:
    rec = _cail_query("盗窃")
    for spelled in ("盗窃", "盗窃罪"):
        data = client.post("/v1/search", json={"text": rec["fact"], "k": 5, "charges": [spelled]}).json()
        assert data["draft"]["charges"] == ["盗窃罪"] and data["draft"]["charges_source"] == "given"
        assert all("盗窃罪" in h["charges"] for h in data["results"])
    bracket = client.post(
        "/v1/search", json={"text": rec["fact"], "k": 3, "charges": ["[走私、贩卖、运输、制造]毒品"]}
    ).json()
    assert bracket["draft"]["charges"] == ["走私、贩卖、运输、制造毒品罪"]


def test_filters_restrict_results(client: httpx.Client) -> None:
    rec = _cail_query("故意伤害")
    data = client.post(
        "/v1/search", json={"text": rec["fact"], "k": 10, "filters": {"charges": ["诈骗"]}}
    ).json()
    assert data["results"] and all("诈骗罪" in h["charges"] for h in data["results"])
    data = client.post(
        "/v1/search", json={"text": rec["fact"], "k": 10, "filters": {"year_from": 2015, "year_to": 2017}}
    ).json()
    assert data["results"] and all(2015 <= h["year"] <= 2017 for h in data["results"])
    data = client.post(
        "/v1/search", json={"text": rec["fact"], "k": 10, "filters": {"court_level": "intermediate"}}
    ).json()
    assert data["results"] and all(h["court_level"] == "intermediate" for h in data["results"])
    data = client.post("/v1/search", json={"text": rec["fact"], "k": 10, "filters": {"case_type": "civil"}}).json()
    assert data["results"] and all(h["case_type"] == "civil" for h in data["results"])
    data = client.post("/v1/search", json={"text": rec["fact"], "k": 30, "filters": {"exclude_flagged": True}}).json()
    assert data["results"] and not any(
        h["flags"]["superseded"] or h["flags"]["overturned"] or h["flags"]["near_duplicate_of"] for h in data["results"]
    )
    data = client.post("/v1/search", json={"text": rec["fact"], "k": 10, "filters": {"province": "浙江省"}}).json()
    assert data["results"] and all(h["province"] == "浙江省" for h in data["results"])


def test_bad_input_gets_problem_details_naming_the_field(client: httpx.Client) -> None:
    cases = [
        ({"text": "", "k": 10}, "text"),
        ({"text": "被告人张某盗窃他人财物价值人民币三千元。", "k": 0}, "k"),
        ({"text": "被告人张某盗窃他人财物价值人民币三千元。", "charges": ["不存在的罪名"]}, "charges"),
        ({"text": "被告人张某盗窃他人财物价值人民币三千元。", "filters": {"court_level": "galactic"}}, "filters.court_level"),
        ({"k": 10}, "text"),
    ]
    for body, field in cases:
        resp = client.post("/v1/search", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["field"] == field, resp.json()
    resp = client.post("/v1/search", content=b"\xff\xfe not json", headers={"content-type": "application/json"})
    assert resp.status_code in (400, 422)
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_compare_ranks_submitted_civil_cases(client: httpx.Client) -> None:
    guarantee = _cjrc("保证合同纠纷")
    custody = _cjrc("变更抚养关系纠纷")
    body = {
        "draft": guarantee[0],
        "cases": [
            {"id": "custody", "text": custody[0]},
            {"id": "guarantee", "text": guarantee[1]},
            {"id": "injury", "text": _cjrc("故意伤害罪")[0]},
        ],
    }
    resp = client.post("/v1/compare", json=body)
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["id"] for r in results][0] == "guarantee"
    assert results[0]["score"] > results[-1]["score"]
    assert results[0]["why"]["key_terms"]


def test_compare_rejects_empty_case_list(client: httpx.Client) -> None:
    resp = client.post("/v1/compare", json={"draft": "被告人张某盗窃", "cases": []})
    assert resp.status_code == 422 and resp.json()["field"] == "cases"


def test_a_case_in_full_for_its_expandable_facts(client: httpx.Client) -> None:
    """A search hit's whole anonymized facts, by its case id; an unknown id is a 404 problem."""
    hit = client.post("/v1/search", json={"text": lecard_fact("危险驾驶罪"), "k": 3}).json()["results"][0]
    resp = client.get(f"/v1/cases/{hit['case_id']}")
    assert resp.status_code == 200, resp.text
    case = resp.json()
    assert case["case_id"] == hit["case_id"] and case["charges"] == hit["charges"]
    assert hit["facts_excerpt"].strip("…")[:100] in case["facts"] and len(case["facts"]) >= len(hit["facts_excerpt"].strip("…"))
    missing = client.get("/v1/cases/0000000000000000")
    assert missing.status_code == 404 and "0000000000000000" in missing.json()["detail"]
    assert client.get("/v1/cases/not%20an%20id").status_code == 422


def test_a_draft_without_charges_gets_them_predicted_with_its_circumstances(client: httpx.Client) -> None:
    """The reported draft: no charge named, surrender and compensation in plain words (issue 16)."""
    draft = "被告人张某在某市某路趁被害人不备，抢夺他人财物，价值3000元。案发后，张某主动投案并如实供述，赔偿了被害人的损失。"
    data = client.post("/v1/search", json={"text": draft, "k": 5}).json()
    summary = data["draft"]
    assert summary["charges_source"] == "predicted" and summary["charges"][0] == "抢夺罪"
    assert summary["predicted_charges"][0]["charge"] == "抢夺罪" and 0 < summary["predicted_charges"][0]["probability"] <= 1
    assert {"自首", "赔偿"} <= set(summary["circumstances"]) and "坦白" not in summary["circumstances"]
    assert sum("抢夺罪" in hit["charges"] for hit in data["results"]) >= 3
    assessed = client.post("/v1/assess", json={"text": draft}).json()
    assert assessed["draft"]["charges_source"] == "predicted" and assessed["draft"]["charges"][0] == "抢夺罪"
    assert "刑法第二百六十七条" in assessed["steps"][0]["source"]


def test_a_pasted_civil_paragraph_is_searched_as_civil(client: httpx.Client) -> None:
    """Issue 18: a civil 经审理查明 paragraph with no head was read as criminal, got criminal charges predicted
    and criminal cases first. Its own words (原告, 被告) now make it civil: no charge, civil cases first."""
    passages = [p for e in json.loads((SAMPLES / "cjrc_sample.json").read_text(encoding="utf-8"))["data"]
                if e.get("domain") == "civil" for p in e["paragraphs"] if "原告" in p["context"]]
    assert passages
    for passage in passages[:3]:
        data = client.post("/v1/search", json={"text": passage["context"], "k": 5}).json()
        assert data["draft"]["charges"] == [] and data["draft"]["charges_source"] == "none", data["draft"]
        assert not data["draft"]["circumstances"]
        assert sum(hit["case_type"] == "civil" for hit in data["results"]) >= 3


def test_civil_hits_carry_their_cause_and_can_be_filtered_by_it(client: httpx.Client) -> None:
    """Issue 18: the cause of action (案由) is stored for civil cases; a hit shows it and a filter keeps to it."""
    data = json.loads((SAMPLES / "cjrc_sample.json").read_text(encoding="utf-8"))["data"]
    civil = [(e["paragraphs"][0]["casename"], e["paragraphs"][0]["context"]) for e in data if e.get("domain") == "civil"]
    cause, text = civil[0]
    hits = client.post("/v1/search", json={"text": text, "k": 10}).json()["results"]
    assert any(h["case_type"] == "civil" and h["cause"] for h in hits)
    assert all(h["cause"] is None for h in hits if h["case_type"] == "criminal")
    kept = client.post("/v1/search", json={"text": text, "k": 10, "filters": {"cause": cause}}).json()["results"]
    assert kept and all(h["cause"] == cause for h in kept)

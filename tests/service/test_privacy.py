"""Every response of every role, scanned for ID numbers, phone numbers and the real names in the LeCaRDv2 heads.

The 43 heads in data_samples/lecardv2_heads.jsonl carry the defendants', lawyers' and others' real
names, and the JuDGE full judgments the judges' and clerks' real names (审判长, 审判员, 人民陪审员,
书记员 ... at the end). All are in the index (the ``built`` fixture ingests all of data_samples), and
they are sent as queries and as submitted cases, with an ID number and a phone number added, by each
role to each endpoint (allowed or not). The heads' names are found with the independent patterns of
``evaluation.anonymization_report``. None of the names, and no ID or phone number, may appear in any
response.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from evaluation.anonymization_report import _PSEUDONYM, DEFENDANT, NOT_PERSONS, ROLE_NAME
from indexing.anonymize import surnames
from indexing.db import case_versions, cases, make_engine
from indexing.schema import make_case_id
from service.keys import Role
from tests.conftest import SAMPLES
from tests.service.conftest import Keyed

ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
ROLES = [r.value for r in Role]
HEADS = [json.loads(line) for line in (SAMPLES / "lecardv2_heads.jsonl").read_text(encoding="utf-8").splitlines()]
JUDGE_TEXTS = [json.loads(line)["fd"] for name in ("judge_sample.jsonl", "judge_second_instance.jsonl")
               for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines()]
BENCH = re.compile(r"(?:审判长|代理审判员|审判员|人民陪审员|书记员|法官助理)[\s：:]*([\u4e00-\u9fff]{2,3}?)(?=\s|$|二〇|二零|[〇○])")
CONTACT = "被告人联系电话13912345678，公民身份号码110101199003071234。"


def real_names() -> set[str]:
    known = surnames()
    names: set[str] = set()
    for row in HEADS:
        names |= {n for n in DEFENDANT.findall(row["query"]) if not _PSEUDONYM.search(n)}
        for m in ROLE_NAME.finditer(row["query"]):
            name = m.group("name")
            if name[0] in known and not _PSEUDONYM.search(name) and name not in NOT_PERSONS:
                names.add(name)
    return names


def judge_names() -> set[str]:
    """The judges and clerks who signed the JuDGE judgments (real names)."""
    known = surnames()
    return {n for text in JUDGE_TEXTS for n in BENCH.findall(text) if n[0] in known and not _PSEUDONYM.search(n)}


JUDGES = judge_names()
NAMES = real_names() | JUDGES


def _text(i: int) -> str:
    row = HEADS[i % len(HEADS)]
    return row["query"] + CONTACT + (row.get("fact") or "")


# Words that contain a real name but are not that person, checked by hand in the responses:
# 东方红路 is a street in 静海区 (a CAIL case), not the judge 方红; 南方红豆杉 is a protected yew species
# (a CAIL timber case); "李梦" is one of the WeChat nicknames a LeCaRDv2 head's defendants posed under
# ("分别以“张一凡”、“赵媛媛”、“李梦”、“徐丽”作为客服微信昵称"), not a person of that case (the defendants
# themselves are masked there). The last two were found when the scan took in the cases' whole facts.
NOT_NAMES = ("东方红", "南方红豆杉", "“李梦”、“徐丽”作为客服微信昵称")


def _leaks(body: str) -> list[str]:
    for word in NOT_NAMES:
        body = body.replace(word, "")
    found = [f"name {n}" for n in NAMES if n in body]
    found += [f"ID number {m}" for m in ID_NUMBER.findall(body)]
    return found + [f"phone {m}" for m in PHONE.findall(body)]


def _requests(role_index: int, alert_id: str) -> list[tuple[str, str, dict]]:
    """What one role sends: every endpoint, with its share of the heads as queries and submitted cases."""
    mine = list(range(role_index, len(HEADS), len(ROLES)))
    reqs: list[tuple[str, str, dict]] = [("POST", "/v1/search", {"json": {"text": _text(i), "k": 20}}) for i in mine]
    judged = JUDGE_TEXTS[role_index * 5:(role_index + 1) * 5]
    reqs += [("POST", "/v1/search", {"json": {"text": text, "k": 20}}) for text in judged[:2]]
    reqs.append(("POST", "/v1/compare", {"json": {"draft": judged[0], "cases": [{"id": f"j{i}", "text": t} for i, t in enumerate(judged)]}}))
    reqs += [
        ("POST", "/v1/compare", {"json": {"draft": _text(mine[0]), "cases": [{"id": f"c{i}", "text": _text(i)} for i in mine]}}),
        ("POST", "/v1/expectations", {"json": {"text": _text(mine[1])}}),
        ("POST", "/v1/assess", {"json": {"text": _text(mine[2]), "proposed": {"type": "fixed_term", "months": 240}}}),
        ("GET", "/v1/alerts", {"params": {"limit": 500}}),
        ("GET", f"/v1/alerts/{alert_id}", {}),
        ("PATCH", f"/v1/alerts/{alert_id}", {"json": {"resolution": "justified"}}),
        ("GET", "/v1/stats", {"params": {"group_by": "court"}}),
        ("GET", "/v1/stats", {"params": {"group_by": "charge"}}),
        ("GET", "/v1/charges", {}),
        ("GET", "/v1/me", {}),
        ("GET", "/healthz", {}),
    ]
    # uploads: a head with its names, ID and phone number as an exchange record, and the same refused
    # (a wrong type), then what the managers read of them: the answers name no one
    uploaded = {"schema_version": "1.0", "source": "privacy-scan", "source_id": f"head-{mine[0]}", "facts": _text(mine[0])}
    refused = {**uploaded, "source_id": f"refused-{mine[0]}", "outcome": {"type": "fixed_term", "months": "八个月"}}
    reqs += [
        ("POST", "/v1/cases", {"json": {"cases": [uploaded, refused]}}),
        ("GET", "/v1/cases/quarantine", {"params": {"limit": 500}}),
        ("GET", f"/v1/cases/{make_case_id('privacy-scan', f'head-{mine[0]}')}/provenance", {}),
        ("GET", "/v1/admin/build", {}),
    ]
    return reqs


def test_the_heads_do_carry_real_names_and_they_are_in_the_index() -> None:
    assert len(HEADS) == 43 and len(NAMES - JUDGES) >= 80 and len(JUDGES) >= 200
    assert _leaks("".join(_text(i) for i in range(len(HEADS))))  # the scanner finds them in the raw heads
    assert len([n for n in JUDGES if n in " ".join(JUDGE_TEXTS)]) == len(JUDGES)


@pytest.fixture(scope="module")
def alert_id(keyed: Keyed) -> str:
    with httpx.Client(base_url=keyed.base, timeout=120) as c:
        resp = c.post("/v1/assess", headers=keyed.headers("judge"), json={
            "text": _text(0), "proposed": {"type": "fixed_term", "months": 300}, "court": "隐私测试法院"})
    assert resp.status_code == 200, resp.text
    return resp.json()["alert_id"] or pytest.fail("no alert for a 25-year proposal")


@pytest.mark.parametrize("role", ROLES)
def test_no_personal_data_in_any_response(keyed: Keyed, alert_id: str, role: str) -> None:
    leaks: dict[str, list[str]] = {}
    statuses: list[tuple[str, int]] = []
    found_ids: set[str] = set()
    with httpx.Client(base_url=keyed.base, timeout=120, headers=keyed.headers(role)) as c:
        for method, path, kwargs in _requests(ROLES.index(role), alert_id):
            resp = c.request(method, path, **kwargs)
            statuses.append((path, resp.status_code))
            assert resp.status_code < 500, resp.text
            body = resp.text + json.dumps(resp.json(), ensure_ascii=False) + repr(dict(resp.headers))
            if found := _leaks(body):
                leaks[f"{method} {path} ({resp.status_code})"] = found
            if path == "/v1/search" and resp.status_code == 200:
                found_ids.update(h["case_id"] for h in resp.json()["results"])
        # the whole facts of every case those searches returned, as the page's expandable facts load them
        for case_id in sorted(found_ids):
            resp = c.get(f"/v1/cases/{case_id}")
            statuses.append(("/v1/cases", resp.status_code))
            assert resp.status_code == 200, resp.text
            if found := _leaks(resp.text + json.dumps(resp.json(), ensure_ascii=False)):
                leaks[f"GET /v1/cases/{case_id}"] = found
    assert not leaks, leaks
    if role == "clerk":  # a clerk's key uploads and reads nothing of the cases
        assert not found_ids and {s for p, s in statuses if p in ("/v1/search", "/v1/compare", "/v1/assess")} == {403}
        assert ("/v1/cases", 200) in statuses
        return
    assert found_ids, "the searches returned no case to read in full"
    assert [s for _, s in statuses].count(200) >= 15  # the scan saw real answers, not only refusals
    if role == "litigant":  # alerts and statistics are not for litigants
        assert {s for p, s in statuses if p.startswith(("/v1/alerts", "/v1/stats"))} == {403}


def test_search_returns_the_heads_own_cases_anonymized(keyed: Keyed) -> None:
    """The scan is meaningful: a head's own case comes back (its case number), with placeholders for the names."""
    with httpx.Client(base_url=keyed.base, timeout=120) as c:
        resp = c.post("/v1/search", headers=keyed.headers("litigant"), json={"text": HEADS[0]["fact"], "k": 5})
    hits = resp.json()["results"]
    own = [h for h in hits if h["case_number"] and h["case_number"] in HEADS[0]["query"]]
    assert own, [h["case_number"] for h in hits]
    assert "某" in own[0]["facts_excerpt"]


def test_uploaded_heads_are_stored_anonymized(keyed: Keyed) -> None:
    """What clerks and admins uploaded above (the heads with names, ID and phone numbers) is stored anonymized."""
    with httpx.Client(base_url=keyed.base, timeout=120) as c:
        resp = c.post("/v1/cases", headers=keyed.headers("clerk"), json={"cases": [
            {"schema_version": "1.0", "source": "privacy-scan", "source_id": f"stored-{i}", "facts": _text(i)} for i in range(len(HEADS))]})
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["accepted"]) == len(HEADS), resp.json()["rejected"]
    engine = make_engine(keyed.database_url)
    with engine.connect() as conn:
        stored = [json.dumps(r, ensure_ascii=False) for (r,) in conn.execute(
            case_versions.select().with_only_columns(case_versions.c.record).where(case_versions.c.uploaded_by.is_not(None)))]
        newest = [json.dumps(r, ensure_ascii=False) for (r,) in conn.execute(
            cases.select().with_only_columns(cases.c.record).where(cases.c.source == "privacy-scan"))]
    engine.dispose()
    assert len(stored) >= len(HEADS) and len(newest) >= len(HEADS)
    leaks = {i: found for i, text in enumerate(stored + newest) if (found := _leaks(text))}
    assert not leaks, leaks

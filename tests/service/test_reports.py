"""/v1/reports: the 类案检索报告 as .docx and as JSON from a live keyed server, real LeCaRDv2 heads as drafts.

The .docx is opened with python-docx and read as a judge would: headings in order, the results tables,
the sentencing steps, the empty conclusion. Its cases and figures are checked against what /v1/assess
and /v1/cases answer for the same draft, its text against the JSON variant, and both against the
real names in the heads (tests/service/test_privacy.py's scan). Then the judge tab's download button
in headless Chromium.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from docx import Document

from evaluation.anonymization_report import DEFENDANT
from evaluation.browser import BrowserUnavailable, chromium, fill, open_view, wait_status
from indexing.db import make_engine
from service import audit
from service.plain_language import months_words
from service.report_docx import DOCX
from service.report_sources import DraftCourt, court_city, draft_court, source_tier
from service.routes.reports import wants_json
from tests.service.conftest import Built, Keyed
from tests.service.test_privacy import HEADS, NAMES, _leaks, _text

JSON_ACCEPT = {"Accept": "application/json"}
CASE_COLUMNS = ["序号", "案号", "法院", "裁判日期", "罪名与裁判结果", "相似之处", "不同之处"]
# (style, heading start) in document order
HEADINGS = [
    ("Title", "类案检索报告"), ("Heading 1", "一、检索信息"), ("Heading 1", "二、检索对象"), ("Heading 1", "三、检索结果"),
    ("Heading 2", "（一）最高人民法院发布的指导性案例（"), ("Heading 2", "（二）最高人民法院发布的典型案例及裁判生效的案件（"),
    ("Heading 2", "（三）本省（自治区、直辖市）高级人民法院发布的参考性案例及裁判生效的案件（"),
    ("Heading 2", "（四）上一级人民法院及本院裁判生效的案件（"), ("Heading 2", "（五）其他法院裁判生效的案件"),
    ("Heading 1", "四、量刑比对"), ("Heading 2", "（二）预期刑罚"), ("Heading 2", "（三）拟判刑罚偏离评估"),
    ("Heading 1", "五、检索结论（由承办法官填写）"), ("Heading 2", "（一）待决案件的争议焦点"), ("Heading 2", "（二）类案的裁判要点"),
    ("Heading 2", "（三）本案与类案的异同"), ("Heading 2", "（四）参照意见及理由"), ("Heading 2", "（五）签署"),
]


def _named(i: int) -> str:
    """A real person's name in head ``i``: its first defendant's, else another the privacy scan knows, else ''."""
    query = HEADS[i]["query"]
    defendants = [n for n in DEFENDANT.findall(query) if n in NAMES]
    return defendants[0] if defendants else min((n for n in NAMES if n in query), key=query.index, default="")


def _body(i: int, **extra: object) -> dict:
    """A head as the draft (with a phone and an ID number added), the question naming a person of it."""
    return {"text": _text(i), "question": f"被告人{_named(i)}（电话13912345678）事后退还部分款项，能否认定为退赃退赔？", **extra}


def _lines(data: bytes) -> list[str]:
    """Paragraphs and table cells (row by row) in document order: what a reader of the .docx sees."""
    lines: list[str] = []
    for block in Document(io.BytesIO(data)).iter_inner_content():
        if hasattr(block, "rows"):
            lines += [cell.text for row in block.rows for cell in row.cells]
        else:
            lines.append(block.text)
    return lines


def _json_lines(report: dict) -> list[str]:
    lines = [report["title"]]
    for part in report["sections"]:
        lines += [part["heading"], *part["paragraphs"]]
        if part["table"]:
            lines += part["table"]["columns"] + [value for row in part["table"]["rows"] for value in row]
    return lines


def _tables(data: bytes) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(io.BytesIO(data)).tables]


@pytest.fixture(scope="module")
def http(keyed: Keyed) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=keyed.base, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def reported(http: httpx.Client, keyed: Keyed) -> dict:
    """One draft with a proposal: its report as .docx and as JSON, its assessment, as a judge."""
    body = _body(0, proposed={"type": "fixed_term", "months": 36})
    judge = keyed.headers("judge")
    docx = http.post("/v1/reports", json=body, headers=judge)
    assert docx.status_code == 200, docx.text
    as_json = http.post("/v1/reports", json=body, headers={**judge, **JSON_ACCEPT})
    assert as_json.status_code == 200, as_json.text
    assessed = http.post("/v1/assess", json={k: v for k, v in body.items() if k != "question"}, headers=judge)
    assert assessed.status_code == 200, assessed.text
    return {"docx": docx, "json": as_json.json(), "raw_json": as_json.text, "assess": assessed.json()}


def test_the_report_is_a_word_file_to_download(reported: dict) -> None:
    resp = reported["docx"]
    assert resp.headers["content-type"] == DOCX
    disposition = resp.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="leian-report-\d{8}-\d{6}\.docx"; '
                        r"filename\*=UTF-8''%E7%B1%BB%E6%A1%88%E6%A3%80%E7%B4%A2%E6%8A%A5%E5%91%8A-\d{8}-\d{6}\.docx",
                        disposition), disposition
    assert resp.content[:2] == b"PK"  # a .docx is a zip


def test_the_sections_come_in_the_order_of_a_search_report(reported: dict, keyed: Keyed, http: httpx.Client) -> None:
    doc = Document(io.BytesIO(reported["docx"].content))
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name in ("Title", "Heading 1", "Heading 2")]
    assert len(headings) == len(HEADINGS), headings
    for (style, text), (want_style, start) in zip(headings, HEADINGS, strict=True):
        assert style == want_style and text.startswith(start), (style, text)
    lines = [p.text for p in doc.paragraphs]
    info = {line.split("：", 1)[0]: line.split("：", 1)[1] for line in lines if "：" in line}
    judge_id = keyed.keys["judge"].split("_")[1]
    assert info["检索人"] == f"test judge（API 密钥 {judge_id}，角色：法官）"
    searched_at = datetime.fromisoformat(reported["json"]["searched_at"])
    assert searched_at.utcoffset() == timedelta(hours=8)
    assert re.fullmatch(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}（北京时间）", info["检索时间"])
    assert abs((datetime.strptime(info["检索时间"][:17], "%Y年%m月%d日 %H:%M") - searched_at.replace(tzinfo=None)).total_seconds()) < 120
    assert info["检索平台"].startswith("LeiAn（类案）")
    assert info["案例库版本"].startswith(http.get("/healthz").json()["index_version"])
    assert "BM25" in info["检索方法"] and "语义向量" in info["检索方法"]
    assert info["法律问题"].startswith("被告人") and "能否认定为退赃退赔" in info["法律问题"]
    assert info["罪名"].endswith("（从文书中识别）") and "掩饰、隐瞒犯罪所得、犯罪所得收益罪" in info["罪名"]
    assert info["基本案情（摘要，已匿名化）"].startswith("经审理查明")
    # the conclusion is the judge's: each of its headings is followed by empty lines
    conclusion = lines[lines.index("（一）待决案件的争议焦点"):]
    assert conclusion[1:4] == ["", "", ""]


def test_the_results_tables_are_the_assessments_cases_by_source_tier(reported: dict, http: httpx.Client, keyed: Keyed) -> None:
    report, assessed = reported["json"], reported["assess"]
    assert {c["case_id"] for c in report["cases"]} == {c["case_id"] for c in assessed["similar_cases"]}
    tables = [t for t in _tables(reported["docx"].content) if t[0] == CASE_COLUMNS]
    rows = [row for t in tables for row in t[1:]]
    assert len(rows) == len(report["cases"]) == len(assessed["similar_cases"]) > 0
    assert [row[0] for row in rows] == [str(i) for i in range(1, len(rows) + 1)]
    tiers = [c["source_tier"] for c in report["cases"]]
    assert tiers == sorted(tiers)
    for case, row in zip(report["cases"], rows, strict=True):
        stored = http.get(f"/v1/cases/{case['case_id']}", headers=keyed.headers("judge")).json()
        assert row[1] == (stored["case_number"] or f"未载明（LeiAn 编号 {case['case_id']}）")
        assert row[2] == (stored["court"] or "未载明")
        assert row[4].endswith(case["outcome_text"]) and case["outcome"] == stored["outcome"]
        if stored["outcome"] and stored["outcome"]["type"] == "fixed_term" and stored["outcome"]["months"]:
            assert f"有期徒刑{months_words(stored['outcome']['months'])}" in row[4]
        assert row[5].startswith("相似度 ") and row[6]
    numbers = [c["case_number"] for c in report["cases"] if c["case_number"]]
    assert numbers and set(numbers) <= {row[1] for row in rows}
    # most recent first within a tier
    for tier in set(tiers):
        dates = [c["date"] for c in report["cases"] if c["source_tier"] == tier and c["date"]]
        assert dates == sorted(dates, reverse=True)
    # the draft (a LeCaRDv2 head) is itself in the sample index: its own court's case is tier 4
    own = [c for c in report["cases"] if c["court"] == "金华市婺城区人民法院"]
    assert own and all(c["source_tier"] == 4 for c in own)


def test_the_sentencing_section_is_the_assessment(reported: dict) -> None:
    report, assessed = reported["json"], reported["assess"]
    assert report["sentencing"]["expected"] == assessed["expected"]
    assert report["sentencing"]["steps"] == assessed["steps"]
    steps = next(t for t in _tables(reported["docx"].content) if t[0] == ["步骤", "数值", "说明"])
    assert [row[0] for row in steps[1:]] == [s["title"] for s in assessed["steps"]]
    lines = _lines(reported["docx"].content)
    assert f"刑期中位数：{months_words(assessed['expected']['median_months'])}" in lines
    assert "拟判刑罚：有期徒刑3年" in lines
    level = assessed["deviation"]["level"]
    assert any(line.startswith("偏离程度：" + {"none": "无偏离", "notice": "提示", "warning": "警告", "severe": "严重偏离"}[level])
               for line in lines)
    assert any(line.startswith("法定刑幅度检查：") for line in lines)


def test_the_json_variant_has_the_same_content_as_the_docx(reported: dict) -> None:
    def same_time(lines: list[str]) -> list[str]:  # the two requests were answered seconds apart
        return [line if not line.startswith("检索时间：") else "检索时间：" for line in lines]

    assert same_time(_lines(reported["docx"].content)) == same_time(_json_lines(reported["json"]))


def test_no_personal_names_ids_or_phones_in_reports(http: httpx.Client, keyed: Keyed, reported: dict) -> None:
    """Every third head as the draft, a real name of it and a phone in the question."""
    assert _named(0) and not _leaks(reported["raw_json"])
    found = {}
    for i in range(0, len(HEADS), 3):
        resp = http.post("/v1/reports", json=_body(i), headers=keyed.headers("admin"))
        assert resp.status_code == 200, resp.text
        text = "\n".join(_lines(resp.content))
        assert "退赃退赔" in text
        if _leaks(text):
            found[i] = _leaks(text)
    assert found == {}


def test_control_characters_pasted_from_word_do_not_break_the_docx(http: httpx.Client, keyed: Keyed) -> None:
    """Word pastes a line break as U+000B; a .docx (XML 1.0) cannot hold it, nor U+0000-U+001F (schemathesis found the 500)."""
    body = {"text": _text(5).replace("。", "。\x0b", 3), "question": "是否\x0b构成自首\x19？", "case_ref": "（2020）\x18刑初1号",
            "court": "\x1f金华市婺城区人民法院"}
    docx = http.post("/v1/reports", json=body, headers=keyed.headers("judge"))
    as_json = http.post("/v1/reports", json=body, headers={**keyed.headers("judge"), **JSON_ACCEPT})
    assert docx.status_code == as_json.status_code == 200, docx.text
    lines = _lines(docx.content)
    assert "法律问题：是否 构成自首？" in lines and "本案案号：（2020）刑初1号" in lines
    assert [x for x in lines if not x.startswith("检索时间")] == [x for x in _json_lines(as_json.json()) if not x.startswith("检索时间")]


@pytest.mark.parametrize("role", ["litigant", "manager"])
def test_litigants_and_managers_get_403(http: httpx.Client, keyed: Keyed, role: str) -> None:
    resp = http.post("/v1/reports", json=_body(1), headers=keyed.headers(role))
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["field"] == "Authorization" and repr(role) in resp.json()["detail"]


@pytest.mark.parametrize(("question", "message"), [
    (None, "Field required"), ("", "String should have at least 1 character"),
    ("  \n ", "String should have at least 1 character"), ("问" * 1001, "String should have at most 1000 characters"),
])
def test_the_question_is_required_and_bounded(http: httpx.Client, keyed: Keyed, question: str | None, message: str) -> None:
    body = {"text": _text(1)} if question is None else {"text": _text(1), "question": question}
    resp = http.post("/v1/reports", json=body, headers=keyed.headers("judge"))
    assert resp.status_code == 422
    assert resp.json()["field"] == "question" and resp.json()["detail"] == f"question: {message}"


def test_the_report_request_is_in_the_audit_log(reported: dict, keyed: Keyed) -> None:
    engine = make_engine(keyed.database_url)
    try:
        rows = audit.list_records(engine, actor=keyed.keys["judge"].split("_")[1], action="report", limit=100)
    finally:
        engine.dispose()
    assert [r["status"] for r in rows].count(200) >= 2  # the .docx and the JSON of the fixture
    assert all(r["role"] == "judge" and r["target"] == "/v1/reports" and r["request_size"] > 0 for r in rows)


def test_a_civil_draft_names_its_cause_and_has_no_sentencing(http: httpx.Client, keyed: Keyed) -> None:
    """A real CJRC civil fact paragraph under a civil judgment's title."""
    from tests.conftest import SAMPLES

    cjrc = json.loads((SAMPLES / "cjrc_sample.json").read_text(encoding="utf-8"))
    facts = cjrc["data"][0]["paragraphs"][0]["context"]
    body = {"text": "重庆市荣昌县人民法院\n民事判决书\n" + facts, "question": "变更抚养关系应考虑哪些因素？"}
    resp = http.post("/v1/reports", json=body, headers={**keyed.headers("judge"), **JSON_ACCEPT})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["case_type"] == "civil" and report["sentencing"] is None and report["charges"] == []
    lines = _json_lines(report)
    assert "案件类型：民事" in lines and any(line.startswith("案由：") for line in lines)
    assert "本案为民事案件，不适用量刑比对。" in lines and not any(line.startswith("罪名：") for line in lines)


def test_source_tiers_follow_the_guidance_order() -> None:
    draft = draft_court("信阳市平桥区人民法院", "河南省")
    assert (draft.level, draft.city, draft.province) == ("basic", "信阳市", "河南省")
    assert source_tier({"case_number": "指导案例87号", "court_level": "supreme"}, draft) == 1
    assert source_tier({"court": "最高人民法院", "court_level": "supreme"}, draft) == 2
    assert source_tier({"court": "河南省高级人民法院", "court_level": "high", "province": "河南省"}, draft) == 3
    assert source_tier({"court": "浙江省高级人民法院", "court_level": "high", "province": "浙江省"}, draft) == 5
    assert source_tier({"court": "信阳市平桥区人民法院", "court_level": "basic", "province": "河南省"}, draft) == 4
    assert source_tier({"court": "河南省信阳市中级人民法院", "court_level": "intermediate", "province": "河南省"}, draft) == 4
    assert source_tier({"court": "河南省郑州市中级人民法院", "court_level": "intermediate", "province": "河南省"}, draft) == 5
    assert source_tier({"court": "信阳市浉河区人民法院", "court_level": "basic", "province": "河南省"}, draft) == 5
    assert source_tier({"court": None, "court_level": None, "province": None}, draft) == 5
    unknown = DraftCourt(None, None)  # bare facts: no own court, no province
    assert source_tier({"court": "河南省高级人民法院", "court_level": "high", "province": "河南省"}, unknown) == 5
    assert court_city("上海市第一中级人民法院") == court_city("上海市奉贤区人民法院") == "上海市"


@pytest.mark.parametrize(("accept", "json_wanted"), [
    (None, False), ("*/*", False), (DOCX, False), ("application/json", True),
    ("application/json, application/problem+json", True), (f"{DOCX}, application/json;q=0.5", False),
    (f"application/json, {DOCX};q=0.5", True), ("application/*", False), ("text/html", False),
])
def test_accept_chooses_json_or_docx(accept: str | None, json_wanted: bool) -> None:
    assert wants_json(accept) is json_wanted


def _leian(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("LEIAN_DATABASE_URL", None)  # the data dir's own store
    return subprocess.run([sys.executable, "-m", "service.cli", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.mark.parametrize("through", ["this process", "the live server"])
def test_leian_report_writes_the_apis_docx(built: Built, server: str, tmp_path: Path, through: str) -> None:
    draft, out = tmp_path / "draft.txt", tmp_path / "报告.docx"
    draft.write_text(_text(3), encoding="utf-8")
    done = _leian("report", "--file", str(draft), "-c", "盗窃", "--question", f"被告人{_named(3)}的盗窃数额如何认定？",
                  "--out", str(out), "--server", "off" if through == "this process" else server, data_dir=built.data_dir)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stderr.replace("\n", "")
    lines = _lines(out.read_bytes())
    assert lines[0] == "类案检索报告" and "罪名：盗窃罪（法官选定）" in lines
    searcher = next(line for line in lines if line.startswith("检索人："))
    assert searcher.startswith("检索人：命令行用户" if through == "this process" else "检索人：本机用户（单用户模式")
    assert any(line.startswith("法律问题：被告人") for line in lines) and not _leaks("\n".join(lines))
    assert any(t[0] == CASE_COLUMNS for t in _tables(out.read_bytes()))


def test_leian_report_names_a_bad_field_and_writes_nothing(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "r.docx"
    done = _leian("report", _text(3), "--question", " ", "--out", str(out), "--server", "off", data_dir=built.data_dir)
    assert done.returncode == 2 and "question: String should have at least 1 character" in done.stderr
    missing = _leian("report", _text(3), "--out", str(out), "--server", "off", data_dir=built.data_dir)
    assert missing.returncode == 2 and "--question" in missing.stderr
    assert not out.exists()


# --------------------------------------------------------------------------------------------------
# the judge tab's button, in headless Chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Path]]:
    # Chromium on Linux writes a download's name in the locale's charset: with the zh_CN.UTF-8 that
    # evaluation.browser asks for missing (a bare test machine has only C), 类案检索报告-….docx became
    # "download". A UTF-8 C locale keeps the name as the page gives it.
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("LC_ALL", "C.UTF-8")
            driver = chromium()
    except BrowserUnavailable as exc:
        pytest.fail(f"headless Chromium unavailable: {exc}")
    downloads = tmp_path_factory.mktemp("downloads")
    # the download folder (what prefs' download.default_directory sets), on evaluation.browser's driver
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver, downloads
    driver.quit()


def test_the_judge_downloads_the_report_from_the_page(browser: tuple, server: str) -> None:
    from selenium.webdriver.common.by import By

    driver, downloads = browser
    open_view(driver, server, "judge")
    fill(driver, "judge-text", _text(2))
    driver.find_element(By.ID, "judge-report").click()  # no question yet: said, nothing sent
    ok, status = wait_status(driver, "judge-report-status", timeout=10)
    assert not ok and "法律问题" in status
    assert not list(downloads.iterdir())
    fill(driver, "judge-question", f"被告人{_named(2)}的行为是否构成共同犯罪？")
    driver.find_element(By.ID, "judge-report").click()
    ok, status = wait_status(driver, "judge-report-status")
    assert ok, status
    deadline = time.monotonic() + 30
    while not (files := [p for p in downloads.iterdir() if p.suffix == ".docx"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(files) == 1 and re.fullmatch(r"类案检索报告-\d{8}-\d{6}\.docx", files[0].name), list(downloads.iterdir())
    assert files[0].name in status
    lines = _lines(files[0].read_bytes())
    assert lines[0] == "类案检索报告" and "检索人：本机用户（单用户模式，角色：管理员）" in lines
    assert any(line.startswith("法律问题：被告人") and line.endswith("的行为是否构成共同犯罪？") for line in lines)
    assert _named(2) and not _leaks("\n".join(lines))

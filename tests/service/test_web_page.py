"""The web page in headless Debian Chromium against a live server on loopback, real judgments as drafts.

Every check is on what a user sees (cards, chart marks, level badges, table rows, messages), then
on the API where the page claims to have changed something. Without Chromium these tests fail and
say what to install: a silently skipped browser test would hide a broken page.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evaluation.browser import (
    BrowserUnavailable,
    acknowledge,
    chromium,
    judge_assess,
    litigant_expect,
    open_view,
    wait_status,
)
from tests.conftest import SAMPLES
from tests.service.conftest import Keyed

COURT = "网页测试法院"
# names of natural persons as the heads of real judgments give them: parties, then their lawyers
PERSON = re.compile(r"(?:被告人|被害人|原告人?|被告)([\u4e00-\u9fff]{2,4})[，,]\s*(?:曾用名[^，,。]*[，,]\s*)?(?:男|女)")
LAWYER = re.compile(r"(?:辩护人|诉讼代理人)([\u4e00-\u9fff]{2,3})[，,][^。]{0,40}律师")
JUDGE_NAME = re.compile(r"(?:审判员|审判长|人民陪审员|书记员|法官)\s*[\u4e00-\u9fff]{2,3}")


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    try:
        browser = chromium()
    except BrowserUnavailable as exc:
        pytest.fail(f"headless Chromium unavailable: {exc}")
    yield browser
    browser.quit()


def _judge_judgment() -> dict:
    """A real full JuDGE judgment (an attempted fraud of 10万元)."""
    return json.loads((SAMPLES / "judge_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])


def _fits_a_laptop(driver) -> bool:
    """No sideways scrolling at 1280 CSS pixels (a small laptop screen)."""
    driver.set_window_size(1280, 800)
    try:
        return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        driver.set_window_size(1366, 900)


def _text(driver, css: str) -> str:
    """All text under an element, the collapsed <details> included (what expanding would show)."""
    return driver.execute_script("return document.querySelector(arguments[0]).textContent", css)


@pytest.fixture(scope="module")
def judged(driver, server: str, client: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A judge uploads a real judgment as .txt and proposes a sentence far above what similar cases support."""
    judgment = _judge_judgment()
    draft = tmp_path_factory.mktemp("web") / "draft.txt"
    draft.write_text(judgment["text"], encoding="utf-8")
    expected = client.post("/v1/assess", json={"text": judgment["text"], "charges": ["诈骗"]}).json()
    hi95 = expected["expected"]["range_95"][1]
    months = int(min(300, max(36, 3 * hi95)))
    open_view(driver, server, "judge")
    ok, status = judge_assess(driver, file=draft, charges=("诈骗",), proposed_type="fixed_term", years=months // 12, months=months % 12,
                              court=COURT, case_ref="（网页测试）刑初1号")
    assert ok, status
    return {"text": judgment["text"], "months": months, "api": expected}


def test_the_page_and_its_assets_are_served_with_the_charges(client: httpx.Client) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text and "法官" in page.text and "审判管理" in page.text
    module = client.get("/ui/js/main.js")
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    charges = client.get("/v1/charges").json()
    counts = [c["count"] for c in charges["data"]]
    assert charges["count"] == len(charges["data"]) > 20 and counts == sorted(counts, reverse=True)
    by_name = {c["charge"]: c["count"] for c in charges["data"]}
    assert by_name["危险驾驶罪"] > 10 and all(name.endswith("罪") for name in by_name)
    assert charges["index_version"] == client.get("/healthz").json()["index_version"]
    assert client.get("/v1/me").json() == {"role": "admin", "local": True}  # keyless on loopback: the local admin


def test_judge_sees_similar_cases_chart_and_deviation(driver, judged: dict) -> None:
    from selenium.webdriver.common.by import By

    assert driver.find_element(By.ID, "judge-text").get_attribute("value") == judged["text"]  # the upload filled it
    assert "识别到的罪名：诈骗罪（按您选择）" in driver.find_element(By.ID, "judge-results").text
    cards = driver.find_elements(By.CSS_SELECTOR, "#judge-results [data-testid=similar-case]")
    assert len(cards) == 10
    outcomes = [c.find_element(By.CSS_SELECTOR, ".case-outcome").text for c in cards]
    assert all(o.startswith("判决结果：") for o in outcomes)
    assert sum("有期徒刑" in o or "拘役" in o for o in outcomes) >= 5, outcomes
    assert any("诈骗罪" in c.find_element(By.CSS_SELECTOR, ".case-meta").text for c in cards)
    # why: shared charge chips and highlighted shared terms in the anonymized facts (expandable)
    first = cards[0]
    assert "共同罪名" in first.text and "共同关键词" in first.text
    marks = driver.execute_script("return [...arguments[0].querySelectorAll('details.facts mark')].map(m => m.textContent)", first)
    terms = [t.text for t in first.find_elements(By.CSS_SELECTOR, ".chip.term")]
    assert marks and set(marks) <= set(terms)
    details = first.find_element(By.CSS_SELECTOR, "details.facts")
    assert not details.find_element(By.TAG_NAME, "p").is_displayed()
    excerpt = details.find_element(By.TAG_NAME, "p").get_attribute("textContent").strip("…")
    details.find_element(By.TAG_NAME, "summary").click()
    assert details.find_element(By.TAG_NAME, "p").is_displayed()
    # opening it loads the case's whole anonymized facts (GET /v1/cases/{id}) in place of the excerpt
    deadline = time.monotonic() + 15
    while details.get_attribute("data-full") not in ("yes", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert details.get_attribute("data-full") == "yes"
    full = details.find_element(By.TAG_NAME, "p").get_attribute("textContent")
    assert excerpt[:60] in full and len(full) >= len(excerpt)

    chart = driver.find_element(By.CSS_SELECTOR, "#judge-results svg[data-testid=distribution-chart]")
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert len(bars) == len(judged["api"]["distribution"]["bins"]) > 0
    assert sum(int(b.get_attribute("data-count")) for b in bars) == len(judged["api"]["distribution"]["months"])
    range80 = chart.find_element(By.CSS_SELECTOR, "[data-testid=range-80]")
    chart.find_element(By.CSS_SELECTOR, "[data-testid=range-95]")
    mark = chart.find_element(By.CSS_SELECTOR, "[data-testid=proposal-mark]")
    assert mark.find_element(By.TAG_NAME, "text").text.startswith("拟判")
    line_x = float(mark.find_element(By.TAG_NAME, "line").get_attribute("x1"))
    assert line_x > float(range80.get_attribute("x")) + float(range80.get_attribute("width"))  # drawn above the range

    deviation = driver.find_element(By.CSS_SELECTOR, "[data-testid=deviation]")
    assert deviation.get_attribute("data-level") in ("warning", "severe")
    assert deviation.find_element(By.CSS_SELECTOR, ".level-badge").text in ("警告", "严重偏离")
    assert "比类似案件重" in deviation.text and "已生成预警" in deviation.text
    assert deviation.find_elements(By.CSS_SELECTOR, ".reasons li")
    assert _fits_a_laptop(driver)


def test_manager_acknowledges_the_alert_with_a_reason(driver, judged: dict, server: str, client: httpx.Client) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    listed = client.get("/v1/alerts", params={"court": COURT}).json()
    assert listed["count"] == 1 and listed["data"][0]["status"] == "open"
    alert_id = listed["data"][0]["id"]
    note = "被告人系累犯，从重处罚有据，经审委会讨论维持"

    open_view(driver, server, "manager")
    assert wait_status(driver, "alerts-status")[0]
    driver.find_element(By.ID, "f-court").send_keys(COURT)
    driver.find_element(By.ID, "alerts-submit").click()
    ok, status = wait_status(driver, "alerts-status")
    assert ok and "共 1 条" in status
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-alert-id="{alert_id}"]')
    assert "待处理" in row.text and "诈骗罪" in row.text and "（网页测试）刑初1号" in row.text

    ok, status = acknowledge(driver, alert_id, resolution="justified", note=note, by="审管办")
    assert ok and "已确认" in status
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-alert-id="{alert_id}"]')
    assert row.get_attribute("data-status") == "acknowledged" and note in row.text
    stored = client.get(f"/v1/alerts/{alert_id}").json()
    assert stored["status"] == "acknowledged" and stored["resolution"] == "justified"
    assert stored["resolution_note"] == note and stored["acknowledged_by"] == "审管办"

    Select(driver.find_element(By.ID, "stats-group")).select_by_value("court")
    driver.find_element(By.ID, "stats-submit").click()
    assert wait_status(driver, "stats-status")[0]
    rates = driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=deviation-chart] rect.bar')]"
        ".map(r => [r.querySelector('title').textContent, Number(r.dataset.value)])")
    assert [rate for label, rate in rates if label.startswith(COURT)] == [1.0]
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=sentencing-chart] rect.bar")

    # by month: the corpus has only judgment years, and the heading says so
    Select(driver.find_element(By.ID, "stats-group")).select_by_value("month")
    driver.find_element(By.ID, "stats-submit").click()
    assert wait_status(driver, "stats-status")[0]
    assert driver.find_element(By.ID, "stats-sentencing-h").text == "案例库中的刑期分布（按裁判年份）"


def test_manager_pages_through_alerts(driver, server: str, client: httpx.Client) -> None:
    from selenium.webdriver.common.by import By

    court = "分页测试法院"
    draft = next(json.loads(line)["q"] for line in (SAMPLES / "lecard_v1_sample.jsonl").open(encoding="utf-8")
                 if json.loads(line)["crime"] == ["危险驾驶罪"])
    for i in range(21):  # 5 years for drunk driving: an alert each time
        body = {"text": draft, "charges": ["危险驾驶"], "proposed": {"type": "fixed_term", "months": 60}, "court": court,
                "case_ref": f"分页{i}"}
        assert client.post("/v1/assess", json=body).json()["alert_id"]
    open_view(driver, server, "manager")
    wait_status(driver, "alerts-status")
    driver.find_element(By.ID, "f-court").send_keys(court)
    driver.find_element(By.ID, "alerts-submit").click()
    assert wait_status(driver, "alerts-status")[0]
    rows = lambda: driver.find_elements(By.CSS_SELECTOR, "#alerts-body tr[data-alert-id]")  # noqa: E731
    first_page = {r.get_attribute("data-alert-id") for r in rows()}
    assert len(first_page) == 20 and driver.find_element(By.ID, "alerts-page").text == "第 1 / 2 页，共 21 条"
    assert not driver.find_element(By.ID, "alerts-prev").is_enabled()
    driver.find_element(By.ID, "alerts-next").click()
    assert wait_status(driver, "alerts-status")[0]
    assert len(rows()) == 1 and rows()[0].get_attribute("data-alert-id") not in first_page
    assert driver.find_element(By.ID, "alerts-page").text == "第 2 / 2 页，共 21 条"
    assert not driver.find_element(By.ID, "alerts-next").is_enabled()
    driver.find_element(By.ID, "alerts-prev").click()
    assert wait_status(driver, "alerts-status")[0]
    assert {r.get_attribute("data-alert-id") for r in rows()} == first_page
    assert _fits_a_laptop(driver)


def test_litigant_view_is_plain_and_names_no_one(driver, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    heads = [json.loads(line) for line in (SAMPLES / "lecardv2_heads.jsonl").read_text(encoding="utf-8").splitlines()]
    names = {n for h in heads for pattern in (PERSON, LAWYER) for n in pattern.findall(h["query"] + h["fact"]) if "某" not in n}
    first = heads[0]
    own = set(PERSON.findall(first["query"])) | set(LAWYER.findall(first["query"]))
    assert len(own) >= 8 and own <= names and len(names) > 60
    open_view(driver, server, "litigant")
    ok, status = litigant_expect(driver, first["query"] + first["fact"])
    assert ok, status
    summary = driver.find_elements(By.CSS_SELECTOR, "#litigant-results [data-testid=summary] li")
    assert summary and any("中位数" in s.text or "最可能" in s.text for s in summary)
    assert driver.find_elements(By.CSS_SELECTOR, "#litigant-results svg[data-testid=distribution-chart] rect.bar")
    assert not driver.find_elements(By.CSS_SELECTOR, "#litigant-results [data-testid=proposal-mark]")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#litigant-results [data-testid=similar-case]")) >= 5
    # a case's whole anonymized facts open as in the judge's view (and are checked for names below)
    facts = driver.find_element(By.CSS_SELECTOR, "#litigant-results [data-testid=similar-case] details.facts")
    facts.find_element(By.TAG_NAME, "summary").click()
    WebDriverWait(driver, 30).until(lambda d: facts.get_attribute("data-full") in ("yes", "failed"))
    assert facts.get_attribute("data-full") == "yes"
    shown = _text(driver, "#litigant-results")
    assert not [n for n in names if n in shown]
    assert not JUDGE_NAME.search(shown), JUDGE_NAME.search(shown)
    assert not driver.find_elements(By.CSS_SELECTOR, "#litigant-results [data-testid=deviation], #litigant-results .alert-note")
    metas = [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#litigant-results .case-meta")]
    assert metas and not [m for m in metas if "法院" in m or "号" in m]  # no court, no case number


def test_errors_show_as_messages_naming_the_field(driver, server: str) -> None:
    from selenium.webdriver.common.by import By

    open_view(driver, server, "judge")
    driver.find_element(By.ID, "judge-text").clear()
    driver.find_element(By.ID, "judge-submit").click()
    status = driver.find_element(By.ID, "judge-status")
    assert "error" in status.get_attribute("class") and "请先粘贴" in status.text
    ok, text = judge_assess(driver, text=_judge_judgment()["text"], proposed_type="detention", months=None, years=2)
    assert not ok
    assert "填写的内容有误" in text and "proposed.months" in text and "Traceback" not in text
    assert driver.find_element(By.CSS_SELECTOR, "#judge-results .error").text.startswith("量刑评估未完成")
    assert driver.find_elements(By.CSS_SELECTOR, "#judge-results [data-testid=similar-case]")  # search still shown


def test_keyboard_moves_between_tabs_and_the_access_key_is_sent(driver, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_view(driver, server, "judge")
    tab = driver.find_element(By.ID, "tab-judge")
    tab.send_keys(Keys.ARROW_RIGHT)
    assert driver.switch_to.active_element.get_attribute("id") == "tab-litigant"
    assert driver.find_element(By.ID, "panel-litigant").is_displayed() and not driver.find_element(By.ID, "panel-judge").is_displayed()
    driver.switch_to.active_element.send_keys(Keys.END)
    assert driver.find_element(By.ID, "tab-manager").get_attribute("aria-selected") == "true"
    assert all(b.tag_name == "button" for b in driver.find_elements(By.CSS_SELECTOR, "[role=tab], .actions > *"))
    for field in driver.find_elements(By.CSS_SELECTOR, "main input:not([type=radio]):not(.file-input), main select, main textarea"):
        fid = field.get_attribute("id")
        assert fid and driver.find_elements(By.CSS_SELECTOR, f'label[for="{fid}"]'), fid

    driver.get_log("performance")  # drop what came before
    driver.find_element(By.ID, "api-key").send_keys("web-test-key")
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
    try:
        assert driver.execute_script("return sessionStorage.getItem('leian.apiKey')") == "web-test-key"
        sent: list[str | None] = []
        deadline = time.monotonic() + 15  # the page refetches after saving: wait for it, not for a fixed time
        while not sent and time.monotonic() < deadline:
            for entry in driver.get_log("performance"):
                msg = json.loads(entry["message"])["message"]
                if msg["method"] == "Network.requestWillBeSent" and msg["params"]["request"]["url"].endswith("/v1/charges"):
                    sent.append(msg["params"]["request"]["headers"].get("Authorization"))
            time.sleep(0.1)
        assert sent == ["Bearer web-test-key"]
    finally:
        driver.execute_script("sessionStorage.removeItem('leian.apiKey')")


def _use_key(driver, key: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "api-key")
    box.clear()
    box.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()


def _tabs(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [t.text for t in driver.find_elements(By.CSS_SELECTOR, "[role=tab]") if t.is_displayed()]


def test_with_keys_the_page_asks_for_one_and_shows_each_role_its_views(driver, keyed: Keyed) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = _judge_judgment()["text"]
    open_view(driver, keyed.base, "judge")  # the page itself needs no key
    try:
        assert driver.find_element(By.ID, "key-status").text == "请填写访问密钥后保存"
        ok, status = judge_assess(driver, text=text)
        assert not ok and "需要访问密钥" in status and "an API key is required" in status

        _use_key(driver, keyed.keys["litigant"])
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "key-status").text == "已登录：当事人")
        assert _tabs(driver) == ["当事人"] and driver.find_element(By.ID, "panel-litigant").is_displayed()
        ok, status = litigant_expect(driver, text)
        assert ok, status

        _use_key(driver, keyed.keys["judge"])
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "key-status").text == "已登录：法官")
        assert _tabs(driver) == ["法官", "当事人"]
        driver.find_element(By.ID, "tab-judge").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#charge-options option"))
        ok, status = judge_assess(driver, text=text)
        assert ok, status
        assert driver.find_elements(By.CSS_SELECTOR, "#judge-results [data-testid=distribution-chart]")

        _use_key(driver, keyed.keys["manager"])
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "key-status").text == "已登录：审判管理")
        assert _tabs(driver) == ["当事人", "审判管理"]
        driver.find_element(By.ID, "tab-manager").click()
        ok, status = wait_status(driver, "alerts-status")
        assert ok and status.startswith("共")

        _use_key(driver, "leian_00000000_not-a-key")
        WebDriverWait(driver, 30).until(lambda d: "invalid or revoked API key" in d.find_element(By.ID, "key-status").text)
    finally:
        driver.execute_script("sessionStorage.removeItem('leian.apiKey')")


def test_screenshot_helper_writes_pngs(driver, server: str, tmp_path: Path) -> None:
    from evaluation.browser import page_png

    open_view(driver, server, "judge")
    page_png(driver, tmp_path / "judge.png")
    assert (tmp_path / "judge.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

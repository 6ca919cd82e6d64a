"""Headless Debian Chromium driven by Selenium, for the web page's tests and screenshots.

Why explicit paths: Selenium Manager would otherwise try to download a browser and a driver, and
nothing here may download one. Both come from Debian (`chromium`, `chromium-driver`, installed by
scripts/setup); when they are missing the error says so instead of anything being skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("LEIAN_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("LEIAN_CHROMEDRIVER", "/usr/bin/chromedriver"))


class BrowserUnavailable(RuntimeError):
    """Chromium, its driver or selenium is missing; the message names what to install."""


def missing() -> str | None:
    """Why a browser cannot be started here, or None when it can."""
    problems = [f"{p} not found" for p in (CHROMIUM, CHROMEDRIVER) if not (p.exists() and os.access(p, os.X_OK))]
    if problems:
        return "; ".join(problems) + " (run scripts/browser-packages as root (scripts/test does): chromium, chromium-driver, fonts-noto-cjk)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing (pip install -e '.[dev]')"
    return None


def chromium(width: int = 1366, height: int = 900):  # -> selenium.webdriver.Chrome
    """A headless Chromium window of a laptop's size, Chinese UI language."""
    reason = missing()
    if reason:
        raise BrowserUnavailable(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=zh-CN",
                f"--window-size={width},{height}", "--hide-scrollbars", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})  # tests read requests sent
    # on Linux Chromium takes its UI locale (date pickers, the file button) from LANGUAGE, not --lang
    env = {**os.environ, "LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"}
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER), env=env), options=options)


# --------------------------------------------------------------------------------------------------
# What a user does on the page (shared by tests/service/test_web_page.py and evaluation/screenshots.py)

VIEWS = ("judge", "litigant", "manager")


def open_view(driver, base: str, view: str, timeout: float = 30) -> None:
    """Load the page on one tab and wait until its scripts have started."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")  # the same URL again would only move to the #fragment, keeping the old page
    driver.get(f"{base}/ui/#{view}")
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    driver.find_element("id", f"tab-{view}").click()


def wait_status(driver, status_id: str, timeout: float = 120) -> tuple[bool, str]:
    """Wait until a view's status line says done or shows an error; (ok, its text)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d) -> str | bool:
        cls = d.find_element("id", status_id).get_attribute("class") or ""
        return cls if ("done" in cls or "error" in cls) else False

    cls = WebDriverWait(driver, timeout).until(settled)
    return "error" not in cls, driver.find_element("id", status_id).text


def fill(driver, element_id: str, text: str) -> None:
    """Put text into a field as a paste would (send_keys of a whole judgment is slow and drops nothing)."""
    el = driver.find_element("id", element_id)
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", el, text)


def judge_assess(
    driver,
    *,
    text: str | None = None,
    file: Path | None = None,
    charges: tuple[str, ...] = (),
    proposed_type: str | None = None,
    years: int | None = None,
    months: int | None = None,
    court: str | None = None,
    case_ref: str | None = None,
) -> tuple[bool, str]:
    """Fill the judge form (text pasted or a .txt uploaded) and submit it; (ok, status text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    if file is not None:
        driver.find_element(By.ID, "judge-file").send_keys(str(file))
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "judge-text").get_attribute("value"))
    if text is not None:
        fill(driver, "judge-text", text)
    for charge in charges:
        driver.find_element(By.ID, "judge-charge-input").send_keys(charge)
        driver.find_element(By.CSS_SELECTOR, "#judge-charges .charge-add").click()
    if proposed_type:
        Select(driver.find_element(By.ID, "judge-type")).select_by_value(proposed_type)
    for field, value in (("judge-years", years), ("judge-months", months), ("judge-court", court), ("judge-case-ref", case_ref)):
        box = driver.find_element(By.ID, field)
        if box.is_enabled():  # term fields are disabled for outcome types without a term
            box.clear()
            if value is not None:
                box.send_keys(str(value))
    driver.find_element(By.ID, "judge-submit").click()
    return wait_status(driver, "judge-status")


def litigant_expect(driver, text: str) -> tuple[bool, str]:
    fill(driver, "litigant-text", text)
    driver.find_element("id", "litigant-submit").click()
    return wait_status(driver, "litigant-status")


def acknowledge(driver, alert_id: str, *, resolution: str, note: str, by: str | None = None) -> tuple[bool, str]:
    """Press 确认 on one alert row, choose the resolution, give the reason, submit."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-alert-id="{alert_id}"]')
    row.find_element(By.CSS_SELECTOR, "button.ack").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "ack-dialog").get_attribute("open") is not None)
    driver.find_element(By.ID, f"ack-{resolution}").click()
    driver.find_element(By.ID, "ack-note").send_keys(note)
    if by:
        driver.find_element(By.ID, "ack-by").send_keys(by)
    driver.find_element(By.ID, "ack-submit").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "ack-dialog").get_attribute("open") is None)
    return wait_status(driver, "alerts-status")


def page_png(driver, path: Path, *, top_css: str | None = None, bottom_css: str | None = None, max_height: int = 4000) -> None:
    """Screenshot of the page beyond the window (Chrome DevTools), from the top (or top_css) down to the
    bottom of bottom_css (or of the page), at most max_height CSS pixels."""
    import base64

    driver.execute_script("window.scrollTo(0, 0)")
    rect = "return arguments[0] ? document.querySelector(arguments[0]).getBoundingClientRect() : null"
    top = driver.execute_script(rect, top_css) if top_css else None
    bottom = driver.execute_script(rect, bottom_css) if bottom_css else None
    y0 = max(0, float(top["top"]) - 8) if top else 0.0
    y1 = float(bottom["bottom"]) + 12 if bottom else float(driver.execute_script("return document.documentElement.scrollHeight"))
    width = float(driver.execute_script("return document.documentElement.clientWidth"))
    clip = {"x": 0, "y": y0, "width": width, "height": min(max_height, y1 - y0), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))

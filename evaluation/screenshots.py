"""PNG screenshots of the web page's three views (法官, 当事人, 审判管理) for docs/screenshots/.

Run: ``python -m evaluation.screenshots [--data-dir DIR] [--out docs/screenshots]``. Without
``--data-dir`` it ingests data_samples/ into a temporary directory and builds an index there (a few
minutes); with it, it serves that built data dir and writes its demonstration assessments (and the
alerts they raise) into that dir's database. The page is driven in headless Debian Chromium against a
live server on 127.0.0.1, with real judgments from data_samples/ as drafts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from evaluation.browser import (
    acknowledge,
    chromium,
    judge_assess,
    litigant_expect,
    open_view,
    page_png,
    wait_status,
)
from evaluation.live_server import serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
DEMO_COURTS = ("演示法院甲", "演示法院乙", "演示法院丙")


def cail_records(charge: str, n: int) -> list[dict]:
    """The first n real CAIL records with exactly this charge (CAIL notation) and a term of months."""
    out = []
    with (SAMPLES / "cail_sample.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            term = rec["meta"]["term_of_imprisonment"]
            if rec["meta"]["accusation"] == [charge] and term["imprisonment"] >= 1 and not term["death_penalty"] \
                    and not term["life_imprisonment"]:
                out.append(rec)
                if len(out) == n:
                    break
    return out


def litigant_text() -> str:
    """A real CAIL fact paragraph (names already masked at the source), as a litigant might paste it.

    The tests use a LeCaRDv2 head with real names instead; a committed picture should not show them.
    """
    return cail_records("故意伤害", 5)[4]["fact"]


def outlier_months(client: httpx.Client, text: str, charges: list[str] | None = None) -> int:
    """A fixed term well above the 95 % range the service expects for this draft (lawful: 6–300 months)."""
    exp = client.post("/v1/assess", json={"text": text, "charges": charges}).raise_for_status().json()["expected"]
    hi = float((exp.get("range_95") or [0, exp.get("term_median_months") or 12])[1])
    return int(min(300, max(24, round(2.2 * hi)))) if math.isfinite(hi) else 300


def seed_assessments(client: httpx.Client) -> int:
    """Real CAIL drafts with their real sentences proposed, and a few tripled: data for the manager view."""
    n = 0
    for charge in ("盗窃", "危险驾驶", "故意伤害", "诈骗", "[走私、贩卖、运输、制造]毒品"):
        for i, rec in enumerate(cail_records(charge, 3)):
            months = rec["meta"]["term_of_imprisonment"]["imprisonment"]
            if i == 2:
                months = min(300, 3 * months)
            # CAIL gives months only: up to 6 months of 危险驾驶 is 拘役, anything else a fixed term
            kind = "detention" if charge == "危险驾驶" and months <= 6 else "fixed_term"
            body = {"text": rec["fact"], "charges": [charge], "proposed": {"type": kind, "months": months if kind == "detention" else max(6, months)},
                    "court": DEMO_COURTS[(n + i) % len(DEMO_COURTS)], "case_ref": f"（演示）刑初{n + 1}号"}
            client.post("/v1/assess", json=body).raise_for_status()
            n += 1
    return n


@contextmanager
def live_server(data_dir: Path) -> Iterator[str]:
    """`leian serve` in a thread on a free loopback port; yields its base URL."""
    from service.config import Settings
    from service.main import create_app

    with serve_in_thread(create_app(Settings(data_dir=data_dir)), within_s=120, request_timeout_s=60) as base:
        yield base


def build_samples(data_dir: Path) -> None:
    from indexing.build import BuildConfig, build_index
    from indexing.db import make_engine
    from indexing.pipeline import ingest

    engine = make_engine(f"sqlite:///{data_dir / 'leian.db'}")
    ingest([SAMPLES], engine, data_dir / "quarantine", progress=False)
    build_index(engine, BuildConfig(data_dir=data_dir))
    engine.dispose()


def take(base: str, out: Path) -> list[Path]:
    """Drive the three views like a user and save one full-page PNG of each."""
    with httpx.Client(base_url=base, timeout=120) as client:
        seed_assessments(client)
        draft, other, third = (cail_records("盗窃", 6)[3:6])
        months = outlier_months(client, draft["fact"], ["盗窃"])
    driver = chromium()
    try:
        open_view(driver, base, "judge")
        ok, status = judge_assess(driver, text=draft["fact"], charges=("盗窃",), proposed_type="fixed_term",
                                  years=months // 12, months=months % 12, court=DEMO_COURTS[0], case_ref="（演示）刑初100号")
        if not ok:
            raise RuntimeError(f"judge view: {status}")
        boxes = driver.find_elements("css selector", "#compare-list .submitted-text")
        boxes[0].send_keys(other["fact"][:400])
        driver.find_element("id", "compare-add").click()
        driver.find_elements("css selector", "#compare-list .submitted-text")[1].send_keys(third["fact"][:400])
        driver.find_element("id", "compare-submit").click()
        wait_status(driver, "compare-status")
        # the first two similar cases open, as a judge reading them would
        for details in driver.find_elements("css selector", "#judge-results details.facts")[:2]:
            driver.execute_script("arguments[0].open = true", details)
        shots = [out / "judge.png", out / "judge-compare.png"]
        page_png(driver, shots[0], bottom_css="#judge-results .case-list > li:nth-child(3)")
        page_png(driver, shots[1], top_css="#compare-h")

        open_view(driver, base, "litigant")
        ok, status = litigant_expect(driver, litigant_text())
        if not ok:
            raise RuntimeError(f"litigant view: {status}")
        shots.append(out / "litigant.png")
        page_png(driver, shots[-1])

        open_view(driver, base, "manager")
        wait_status(driver, "alerts-status")
        wait_status(driver, "stats-status")
        rows = driver.find_elements("css selector", 'tr[data-status="open"]')
        if rows:
            acknowledge(driver, rows[-1].get_attribute("data-alert-id"), resolution="justified",
                        note="被告人系累犯且拒不退赃，从重处罚有据", by="审判管理办公室")
        shots.append(out / "manager.png")
        page_png(driver, shots[-1])
        return shots
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a built data dir (default: build data_samples/ in a temp dir)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leian-shots-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp)
            print("screenshots: building an index from data_samples/ (a few minutes)", file=sys.stderr)
            build_samples(data_dir)
        with live_server(data_dir) as base:
            for path in take(base, args.out):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""/docs and /redoc work without internet, and the OpenAPI schema declares the errors as they are sent.

Over live servers: the pages' scripts, styles and icon come from the server itself (not a CDN), with
or without API keys in use; every error response is declared as RFC 9457 problem details, and real
error responses (422, 400, 401, 404, 503) validate against the schema their operation declares.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jsonschema_rs
import pytest

from evaluation.live_server import free_port
from service.config import Settings
from service.main import create_app
from tests.service.conftest import Keyed

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ASSET = re.compile(r'(?:src|href|spec-url)="([^"]+)"')


@pytest.fixture(scope="module")
def openapi(client: httpx.Client) -> dict:
    return client.get("/openapi.json").json()


def _operations(schema: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _declared(schema: dict, path: str, method: str, status: int) -> dict:
    """The body schema the operation declares for ``status`` (its own entry, else 4XX/5XX), refs resolved."""
    responses = schema["paths"][path][method]["responses"]
    response = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
    assert set(response["content"]) == {"application/problem+json"}, response
    ref = response["content"]["application/problem+json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _check_problem(schema: dict, path: str, method: str, resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    declared = _declared(schema, path, method, status)
    errors = [e.message for e in jsonschema_rs.validator_for(declared).iter_errors(body)]
    assert errors == [], (body, errors)
    assert body["status"] == status
    return body


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_load_only_local_assets_without_a_key(keyed: Keyed, page: str) -> None:
    """With keys in use and none sent, as /openapi.json: the page and everything it loads are served here."""
    with httpx.Client(base_url=keyed.base, timeout=60) as c:
        html = c.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert not re.search(r"https?://", html.text), "the page names another host"
        urls = ASSET.findall(html.text) + re.findall(r"url: '([^']+)'", html.text)  # Swagger UI's spec URL
        assert "/openapi.json" in urls
        scripts = [u for u in urls if u.endswith(".js")]
        assert scripts, html.text
        for url in urls:
            assert url.startswith("/"), url
            asset = c.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > (100_000 if url.endswith((".js", ".css")) else 100), url


def test_no_fastapi_validation_error_in_the_schema(openapi: dict) -> None:
    text = json.dumps(openapi)
    assert "HTTPValidationError" not in text and "ValidationError" not in openapi["components"]["schemas"]
    problem = openapi["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "field"}
    assert openapi["paths"]["/v1/search"]["post"]["responses"]["422"]["content"] == PROBLEM_CONTENT


def test_every_error_response_is_declared_as_problem_details(openapi: dict) -> None:
    operations = list(_operations(openapi))
    assert len(operations) >= 12
    for path, method, operation in operations:
        responses = operation["responses"]
        assert responses["4XX"]["content"] == PROBLEM_CONTENT, (method, path)
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"] == PROBLEM_CONTENT, (method, path, status)
            else:
                assert "application/problem+json" not in response.get("content", {}), (method, path, status)
    # the operations that need the index declare its absence; those that do not, do not
    for path, method in [("/v1/search", "post"), ("/v1/assess", "post"), ("/v1/charges", "get"), ("/healthz", "get")]:
        assert openapi["paths"][path][method]["responses"]["503"]["content"] == PROBLEM_CONTENT, path
    assert "503" not in openapi["paths"]["/v1/me"]["get"]["responses"]
    # the uploads, their provenance and the build: documented, with their errors as problem details
    assert {"/v1/cases", "/v1/cases/quarantine", "/v1/cases/{case_id}/provenance", "/v1/admin/build"} <= set(openapi["paths"])
    assert openapi["paths"]["/v1/admin/build"]["post"]["responses"]["409"]["content"] == PROBLEM_CONTENT
    assert openapi["paths"]["/v1/cases"]["post"]["responses"]["422"]["content"] == PROBLEM_CONTENT


def test_real_errors_validate_against_the_declared_schema(client: httpx.Client, keyed: Keyed, openapi: dict) -> None:
    search = "/v1/search"
    body = _check_problem(openapi, search, "post", client.post(search, json={"text": "", "k": 3}), 422)
    assert body["field"] == "text"
    body = _check_problem(openapi, search, "post", client.post(search, json={"text": "被告人盗窃", "k": 0}), 422)
    assert body["field"] == "k"
    not_utf8 = client.post(search, content=b'{"text": "\xff"}', headers={"content-type": "application/json"})
    assert _check_problem(openapi, search, "post", not_utf8, 400)["field"] == "body"
    missing = _check_problem(openapi, "/v1/cases/{case_id}", "get", client.get("/v1/cases/no-such-case"), 404)
    assert "field" not in missing  # absent, not null, when no field is at fault
    with httpx.Client(base_url=keyed.base, timeout=60) as c:  # keys in use, none sent
        assert _check_problem(openapi, search, "post", c.post(search, json={"text": "被告人盗窃"}), 401)["field"] == "Authorization"


@contextmanager
def _serving_without_an_index(tmp_path: Path) -> Iterator[str]:
    """A real uvicorn server on loopback with no index built (live_server waits for a 200 from /healthz)."""
    import uvicorn

    app = create_app(Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'leian.db'}"))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not srv.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.started, "the server did not start within 60 s"
        yield f"http://127.0.0.1:{srv.config.port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_without_an_index_the_503_is_what_is_declared(tmp_path: Path) -> None:
    with _serving_without_an_index(tmp_path) as base, httpx.Client(base_url=base, timeout=60) as c:
        schema = c.get("/openapi.json").json()
        _check_problem(schema, "/healthz", "get", c.get("/healthz"), 503)
        _check_problem(schema, "/v1/search", "post", c.post("/v1/search", json={"text": "被告人盗窃"}), 503)


def test_swagger_ui_renders_the_operations_offline(keyed: Keyed, openapi: dict) -> None:
    """In headless Chromium: /docs lists every operation, and the browser asked no other host for anything."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from evaluation.browser import BrowserUnavailable, chromium

    try:
        driver = chromium()
    except BrowserUnavailable as exc:
        pytest.fail(f"headless Chromium unavailable: {exc}")
    try:
        driver.get(f"{keyed.base}/docs")
        expected = len(list(_operations(openapi)))
        WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= expected)
        assert "/v1/search" in driver.find_element(By.CSS_SELECTOR, "#swagger-ui").text
        time.sleep(0.5)  # anything the page starts loading once rendered
        requested = {json.loads(e["message"])["message"]["params"]["request"]["url"]
                     for e in driver.get_log("performance")
                     if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"}
        assert requested and all(u.startswith(keyed.base) or u.startswith("data:") for u in requested), requested
    finally:
        driver.quit()

"""Roles: every endpoint x role on a live server with keys; 401/403/429 problem details; local mode and its limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from evaluation.live_server import free_port, wait_until_serving
from indexing.db import make_engine
from service.config import Settings
from service.keys import Role, create_key, lookup_key, revoke_key
from service.main import create_app
from service.ratelimit import RateLimiter
from tests.service.conftest import Built, Keyed, live_server
from tests.utils.samples import lecard_fact

ROLES = [r.value for r in Role]
EVERY = set(ROLES)
READERS = EVERY - {"clerk"}  # a clerk's key uploads cases and reads nothing of them
PUBLIC = ["/", "/ui/", "/healthz", "/docs", "/openapi.json"]


DRAFT = lecard_fact("危险驾驶罪")
# a real case as an exchange record (data_samples/lecard_v1_sample.jsonl, the draft's own case)
UPLOAD = {"schema_version": "1.0", "source": "role-table", "source_id": "lecard-danger-1", "facts": DRAFT,
          "charges": ["危险驾驶罪"]}

# endpoint name -> (method, path, request kwargs, roles allowed): the contract's endpoint x role table
ENDPOINTS: dict[str, tuple[str, str, dict, set[str]]] = {
    "search": ("POST", "/v1/search", {"json": {"text": DRAFT, "k": 3}}, READERS),
    "compare": ("POST", "/v1/compare", {"json": {"draft": DRAFT, "cases": [{"id": "c1", "text": DRAFT[:200]}]}}, READERS),
    "expectations": ("POST", "/v1/expectations", {"json": {"text": DRAFT, "charges": ["危险驾驶"]}}, READERS),
    "charges": ("GET", "/v1/charges", {}, READERS),
    "me": ("GET", "/v1/me", {}, EVERY),
    "case": ("GET", "/v1/cases/{case_id}", {}, READERS),
    "schema.case": ("GET", "/v1/schema/case", {}, EVERY),
    "assess": ("POST", "/v1/assess", {"json": {"text": DRAFT, "charges": ["危险驾驶"]}}, {"judge", "admin"}),
    "report": ("POST", "/v1/reports", {"json": {"text": DRAFT, "charges": ["危险驾驶"], "question": "醉驾是否适用缓刑"}},
               {"judge", "admin"}),
    "alerts": ("GET", "/v1/alerts", {}, {"manager", "admin"}),
    "alert": ("GET", "/v1/alerts/{alert_id}", {}, {"manager", "admin"}),
    "alert.update": ("PATCH", "/v1/alerts/{alert_id}", {"json": {"resolution": "justified", "note": "测试"}}, {"manager", "admin"}),
    "stats": ("GET", "/v1/stats", {"params": {"group_by": "court"}}, {"manager", "admin"}),
    "upload": ("POST", "/v1/cases", {"json": {"cases": [UPLOAD]}}, {"clerk", "admin"}),
    "provenance": ("GET", "/v1/cases/{case_id}/provenance", {}, {"manager", "admin"}),
    "quarantine": ("GET", "/v1/cases/quarantine", {}, {"manager", "admin"}),
    "build": ("POST", "/v1/admin/build", {}, {"admin"}),
    "build.state": ("GET", "/v1/admin/build", {}, {"admin"}),
}
SUCCESS = {"build": 202}  # a build is started in the background; every other allowed call answers 200


@pytest.fixture(scope="module")
def http(keyed: Keyed) -> httpx.Client:
    with httpx.Client(base_url=keyed.base, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def alert_id(http: httpx.Client, keyed: Keyed) -> str:
    """A real alert: a judge proposes 5 years for a drunk-driving draft."""
    body = {"text": DRAFT, "charges": ["危险驾驶"], "proposed": {"type": "fixed_term", "months": 60}, "court": "权限测试法院"}
    resp = http.post("/v1/assess", json=body, headers=keyed.headers("judge"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["alert_id"]
    return resp.json()["alert_id"]


@pytest.fixture(scope="module")
def ids(http: httpx.Client, keyed: Keyed, alert_id: str) -> dict[str, str]:
    """The ids the endpoints' paths name: the alert above and a case the index holds."""
    resp = http.post("/v1/search", json={"text": DRAFT, "k": 1}, headers=keyed.headers("admin"))
    assert resp.status_code == 200, resp.text
    return {"alert_id": alert_id, "case_id": resp.json()["results"][0]["case_id"]}


def _call(http: httpx.Client, name: str, ids: dict[str, str], headers: dict[str, str] | None) -> httpx.Response:
    method, path, kwargs, _roles = ENDPOINTS[name]
    return http.request(method, path.format(**ids), headers=headers, **kwargs)


def _assert_problem(resp: httpx.Response, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_endpoint_for_every_role(http: httpx.Client, keyed: Keyed, ids: dict[str, str], endpoint: str, role: str) -> None:
    resp = _call(http, endpoint, ids, keyed.headers(role))
    if role in ENDPOINTS[endpoint][3]:
        assert resp.status_code == SUCCESS.get(endpoint, 200), resp.text
        if endpoint == "me":
            assert resp.json() == {"role": role, "local": False}
    else:
        body = _assert_problem(resp, 403, "Authorization")
        assert repr(role) in body["detail"]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_key_or_a_bad_key_is_401(http: httpx.Client, keyed: Keyed, ids: dict[str, str], endpoint: str) -> None:
    for headers in (None, {"Authorization": "Bearer leian_00000000_not-a-key"}, {"Authorization": f"Basic {keyed.keys['admin']}"},
                    {"X-API-Key": keyed.keys["admin"] + "x"}):
        resp = _call(http, endpoint, ids, headers)
        _assert_problem(resp, 401, "Authorization")
        assert resp.headers["www-authenticate"] == "Bearer"


def test_openapi_names_both_ways_of_sending_a_key_on_every_v1_operation(http: httpx.Client) -> None:
    """The schema declares the key on exactly the operations the table above shows answer 401 without one."""
    schema = http.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "an API key from `leian keys create`"},
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                         "description": "the same key, in a header of its own"},
    }
    operations = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    v1 = {op for op in operations if op[1].startswith("/v1/")}
    assert v1 == {(method, path) for method, path, _kwargs, _roles in ENDPOINTS.values()}
    for method, path in operations:
        security = schema["paths"][path][method.lower()].get("security")
        assert security == ([{"HTTPBearer": []}, {"APIKeyHeader": []}] if path.startswith("/v1/") else None), path


def test_x_api_key_header_is_accepted(http: httpx.Client, keyed: Keyed) -> None:
    assert http.get("/v1/alerts", headers={"X-API-Key": keyed.keys["manager"]}).status_code == 200
    _assert_problem(http.get("/v1/alerts", headers={"X-API-Key": keyed.keys["litigant"]}), 403)


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_need_no_key(http: httpx.Client, path: str) -> None:
    assert http.get(path, follow_redirects=True).status_code == 200


def test_revoked_key_is_refused_from_the_next_request(http: httpx.Client, keyed: Keyed) -> None:
    engine = make_engine(keyed.database_url)
    key, secret = create_key(engine, role=Role.manager, name="temporary")
    assert http.get("/v1/alerts", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert revoke_key(engine, key_id=key.id).revoked_at is not None
    _assert_problem(http.get("/v1/alerts", headers={"Authorization": f"Bearer {secret}"}), 401)
    assert lookup_key(engine, key=secret) is None
    engine.dispose()


def test_keys_are_stored_only_as_hashes(keyed: Keyed) -> None:
    engine = make_engine(keyed.database_url)
    with engine.connect() as conn:
        dump = repr(conn.exec_driver_sql("SELECT * FROM api_keys").all())
    engine.dispose()
    assert not [role for role, secret in keyed.keys.items() if secret in dump or secret.split("_", 2)[2] in dump]


def test_litigants_get_no_judge_ids_or_alerts(http: httpx.Client, keyed: Keyed, alert_id: str) -> None:
    resp = http.post("/v1/expectations", json={"text": DRAFT}, headers=keyed.headers("litigant"))
    assert resp.status_code == 200
    assert "alert" not in resp.text and "judge" not in resp.text
    _assert_problem(http.get(f"/v1/alerts/{alert_id}", headers=keyed.headers("litigant")), 403)


def test_local_mode_admits_keyless_loopback_requests_until_the_first_key(built: Built, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leian.db'}"
    with live_server(create_app(Settings(data_dir=built.data_dir, database_url=url))) as base:
        assert httpx.get(f"{base}/v1/alerts").status_code == 200
        _assert_problem(httpx.get(f"{base}/v1/alerts", headers={"Authorization": "Bearer leian_x_y"}), 401)
        engine = make_engine(url)
        create_key(engine, role=Role.litigant)
        engine.dispose()
        _assert_problem(httpx.get(f"{base}/v1/alerts"), 401, "Authorization")


def test_local_mode_is_refused_when_the_bind_address_is_not_loopback(built: Built, tmp_path: Path) -> None:
    settings = Settings(data_dir=built.data_dir, database_url=f"sqlite:///{tmp_path / 'leian.db'}", host="0.0.0.0")
    with live_server(create_app(settings)) as base:
        _assert_problem(httpx.get(f"{base}/v1/alerts"), 401, "Authorization")


def _leian(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}, check=False)


def test_serve_refuses_an_open_bind_without_keys_and_serves_with_them(built: Built, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leian.db'}"
    env = {"LEIAN_DATABASE_URL": url}
    refused = _leian("serve", "--data-dir", str(built.data_dir), "--host", "0.0.0.0", "--port", "1", env=env)
    assert refused.returncode == 2 and "refusing to serve on 0.0.0.0 without API keys" in refused.stderr

    created = _leian("keys", "create", "--role", "judge", "--name", "法官甲", "--data-dir", str(tmp_path), env=env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("leian_") and len(secret) > 40
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--data-dir", str(built.data_dir), "--host", "0.0.0.0",
                             "--port", str(port)], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        if not wait_until_serving(base, within_s=90):
            pytest.fail("leian serve --host 0.0.0.0 did not come up")
        _assert_problem(httpx.get(f"{base}/v1/alerts"), 401)
        assert httpx.post(f"{base}/v1/assess", json={"text": DRAFT}, headers={"Authorization": f"Bearer {secret}"},
                          timeout=60).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_keys_cli_lists_and_revokes_without_showing_secrets(tmp_path: Path) -> None:
    env = {"LEIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'leian.db'}"}
    created = _leian("keys", "create", "--role", "manager", "--name", "庭长", "--data-dir", str(tmp_path), env=env)
    secret = created.stdout.strip()
    key_id = secret.split("_")[1]
    listed = _leian("keys", "list", "--json", "--data-dir", str(tmp_path), env=env)
    rows = [json.loads(x) for x in listed.stdout.splitlines()]
    assert rows == [{**rows[0], "id": key_id, "role": "manager", "name": "庭长", "revoked_at": None}]
    assert secret not in listed.stdout
    bad_role = _leian("keys", "create", "--role", "registrar", "--data-dir", str(tmp_path), env=env)
    assert bad_role.returncode == 2 and "registrar" in bad_role.stderr
    assert _leian("keys", "revoke", key_id, "--data-dir", str(tmp_path), env=env).returncode == 0
    assert _leian("keys", "revoke", "nope", "--data-dir", str(tmp_path), env=env).returncode == 1
    rows = [json.loads(x) for x in _leian("keys", "list", "--json", "--data-dir", str(tmp_path), env=env).stdout.splitlines()]
    assert rows[0]["revoked_at"] is not None


def test_rate_limit_answers_429_with_retry_after_per_key(built: Built, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leian.db'}"
    engine = make_engine(url)
    first = create_key(engine, role=Role.manager)[1]
    second = create_key(engine, role=Role.manager)[1]
    engine.dispose()
    settings = Settings(data_dir=built.data_dir, database_url=url, rate_limit_per_second=0.5, rate_limit_burst=3)
    with live_server(create_app(settings)) as base, httpx.Client(base_url=base) as c:
        auth = {"Authorization": f"Bearer {first}"}
        assert [c.get("/v1/alerts", headers=auth).status_code for _ in range(3)] == [200, 200, 200]
        limited = c.get("/v1/alerts", headers=auth)
        body = _assert_problem(limited, 429, "Authorization")
        assert 1 <= int(limited.headers["retry-after"]) <= 2 and "rate limit" in body["detail"]
        assert c.get("/v1/alerts", headers={"Authorization": f"Bearer {second}"}).status_code == 200  # its own bucket
        time.sleep(int(limited.headers["retry-after"]))
        assert c.get("/v1/alerts", headers=auth).status_code == 200  # obeying Retry-After is enough


def test_local_mode_is_not_rate_limited(built: Built, tmp_path: Path) -> None:
    settings = Settings(data_dir=built.data_dir, database_url=f"sqlite:///{tmp_path / 'leian.db'}",
                        rate_limit_per_second=0.5, rate_limit_burst=1)
    with live_server(create_app(settings)) as base, httpx.Client(base_url=base) as c:
        assert {c.get("/v1/alerts").status_code for _ in range(10)} == {200}


def test_token_bucket_refills_at_its_rate_and_divides_among_workers() -> None:
    bucket = RateLimiter(10, 20, workers=2)  # each of 2 workers: 5/s, burst 10
    assert [bucket.acquire("k", now=0.0) for _ in range(10)] == [0.0] * 10
    assert bucket.acquire("k", now=0.0) == pytest.approx(0.2)
    assert bucket.acquire("k", now=0.2) == 0.0  # one token back after 1/5 s
    assert bucket.acquire("other", now=0.2) == 0.0
    assert RateLimiter(0, 1).acquire("k") == 0.0  # 0 turns limiting off


def _doc_role_table() -> dict[tuple[str, str], set[str]]:
    """(method, path with {} for parameters) -> roles allowed, as docs/operations.md's role table says."""
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| endpoint | judge"))
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    table: dict[tuple[str, str], set[str]] = {}
    rows = text.split(header, 1)[1].splitlines()[2:]
    for row in rows:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip("|").split("|")]
        allowed = {role for role, cell in zip(columns, cells[1:], strict=True) if cell == "✓"}
        for methods, path in re.findall(r"`([A-Z/]+) (/v1/[^`]*)`", cells[0]):
            for method in methods.split("/"):
                table[(method, re.sub(r"\{[^}]*\}", "{}", path))] = allowed
    return table


def test_the_role_table_in_the_docs_is_the_contract_the_tests_check(http: httpx.Client) -> None:
    import re

    documented = _doc_role_table()
    tested = {(m, re.sub(r"\{[^}]*\}", "{}", p)): roles for m, p, _kw, roles in ENDPOINTS.values()}
    served = {(m.upper(), re.sub(r"\{[^}]*\}", "{}", p)) for p, ops in http.get("/openapi.json").json()["paths"].items()
              if p.startswith("/v1/") for m in ops}
    assert served == set(tested), "every served /v1 operation is in ENDPOINTS, and only those"
    assert documented == tested, "docs/operations.md's role table says what the role tests check"

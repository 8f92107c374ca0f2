"""The gateway over real HTTP: tokens, roles, validation at the edge, error shape, OpenAPI, readiness."""
import datetime as dt

import jwt
import pytest
import requests

from gateway.service import GatewayService
from gateway.users import create_user
from intake.service import IntakeService

PASSWORD = "a-long-password-1"


@pytest.fixture
def gateway(container_factory, service_config, web_config):
    intake_cfg = service_config("intake")
    cfg = service_config("gateway", AMQP_URI=intake_cfg["AMQP_URI"], **web_config)
    container_factory(IntakeService, intake_cfg).start()
    gw = container_factory(GatewayService, cfg)
    gw.start()
    from gateway.admin import UserDb
    users = UserDb(cfg["DATABASE_URL"])
    for username, role in (("officer", "programme_officer"), ("auditor", "auditor"), ("admin", "admin")):
        create_user(users, {"username": username, "password": PASSWORD, "role": role})
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
    return base, cfg


def token(base, username):
    r = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_a_person_logs_in_and_the_token_carries_role_and_expiry(gateway):
    base, cfg = gateway
    claims = jwt.decode(token(base, "officer"), cfg["JWT_SECRET"], algorithms=["HS256"], issuer="grassroots-gateway")
    assert claims["role"] == "programme_officer" and claims["exp"] > claims["iat"]
    me = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token(base, 'officer')}"}, timeout=10)
    assert me.json()["role"] == "programme_officer"


def test_a_wrong_password_gets_401_with_a_stable_code_and_a_chinese_message(gateway):
    base, _ = gateway
    r = requests.post(f"{base}/api/v1/auth/token", json={"username": "officer", "password": "nope"}, timeout=10)
    assert r.status_code == 401
    assert r.json() == {"code": "bad_credentials", "message": "用户名或密码错误"}


def test_an_expired_token_is_refused(gateway):
    base, cfg = gateway
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    stale = jwt.encode({"sub": "x", "role": "admin", "iat": past, "exp": past + dt.timedelta(minutes=5),
                        "iss": "grassroots-gateway"}, cfg["JWT_SECRET"], algorithm="HS256")
    r = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {stale}"}, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "token_expired"


def test_a_forged_token_is_refused(gateway):
    base, _ = gateway
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": 9999999999, "iss": "grassroots-gateway"},
                        "another-secret-that-is-long-enough-000", algorithm="HS256")
    r = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"


def test_a_role_without_the_right_gets_403(gateway):
    base, _ = gateway
    r = requests.post(f"{base}/api/v1/units", json={"name": "x", "kind": "other", "league_city_code": "150100"},
                      headers={"Authorization": f"Bearer {token(base, 'auditor')}"}, timeout=10)
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"


def test_a_bad_body_gets_every_problem_at_once_with_its_path(gateway):
    base, _ = gateway
    r = requests.post(f"{base}/api/v1/units", json={"kind": "castle", "league_city_code": "1501"},
                      headers={"Authorization": f"Bearer {token(base, 'officer')}"}, timeout=10)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_request"
    paths = {p["path"] for p in body["details"]}
    assert {"name", "kind", "league_city_code"} <= paths


def test_invalid_json_gets_400_not_a_stack_trace(gateway):
    base, _ = gateway
    r = requests.post(f"{base}/api/v1/units", data="{not json", headers={
        "Authorization": f"Bearer {token(base, 'officer')}", "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    assert "Traceback" not in r.text


def test_a_domain_error_from_a_service_keeps_its_code_and_status(gateway):
    base, _ = gateway
    r = requests.get(f"{base}/api/v1/calls/does-not-exist", headers={
        "Authorization": f"Bearer {token(base, 'officer')}"}, timeout=10)
    assert r.status_code == 404 and r.json()["code"] == "call_not_found"


def test_the_openapi_document_is_valid_and_describes_every_route(gateway):
    from openapi_spec_validator import validate
    from gateway.api import ROUTES
    base, _ = gateway
    doc = requests.get(f"{base}/api/v1/openapi.json", timeout=10).json()
    validate(doc)
    for spec in ROUTES:
        assert spec.method.lower() in doc["paths"][spec.path]


def test_readiness_says_which_services_are_down(gateway):
    base, _ = gateway
    r = requests.get(f"{base}/readyz", timeout=30)
    body = r.json()
    assert r.status_code == 503 and body["checks"]["intake"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"]["funding"].startswith("down")
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200

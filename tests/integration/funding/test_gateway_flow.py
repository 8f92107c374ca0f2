"""Done-when, through the gateway over HTTP: review's selection creates a budget, finance officer A requests a
tranche, officer B approves it (A may not), A records the payment, and an auditor finds it with its audit
records, exports it and verifies the chain."""
from __future__ import annotations

import csv
import io
import uuid

import pytest
import requests

from funding_helpers import selection_payload
from gateway.admin import UserDb
from gateway.service import GatewayService
from gateway.users import create_user

PASSWORD = "a-long-password-1"


@pytest.fixture
def web(funding, container_factory, service_config, web_config):
    cfg = service_config("gateway", AMQP_URI=funding.config["AMQP_URI"], **web_config)
    container_factory(GatewayService, cfg).start()
    users = UserDb(cfg["DATABASE_URL"])
    for name, role in (("fo_a", "finance_officer"), ("fo_b", "finance_officer"), ("auditor", "auditor")):
        create_user(users, {"username": name, "password": PASSWORD, "role": role})
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"

    def session(username):
        r = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10)
        assert r.status_code == 200, r.text
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return s

    return base, session


def test_selection_budget_two_person_payment_and_the_auditor_verifies_it_through_the_gateway(funding, web):
    base, session = web
    fo_a, fo_b, auditor = session("fo_a"), session("fo_b"), session("auditor")
    payload = selection_payload(amount="150000.00")
    app_id = payload["application"]["id"]
    funding.publish("application_selected", payload)
    budget = funding.wait(lambda: (fo_a.get(f"{base}/api/v1/funding/budgets", params={"project_id": app_id},
                                            timeout=10).json() or [None])[0], what="budget over HTTP")
    assert budget["amount"] == "150000.00"

    url = f"{base}/api/v1/funding/budgets/{budget['id']}/disbursements"
    key = uuid.uuid4().hex
    r = fo_a.post(url, json={"amount": "60000.00", "purpose": "第一批拨付"}, headers={"Idempotency-Key": key}, timeout=10)
    assert r.status_code == 201, r.text
    d = r.json()
    again = fo_a.post(url, json={"amount": "60000.00", "purpose": "第一批拨付"}, headers={"Idempotency-Key": key},
                      timeout=10)
    assert again.status_code == 201 and again.json()["id"] == d["id"]
    reused = fo_a.post(url, json={"amount": "70000.00", "purpose": "第一批拨付"}, headers={"Idempotency-Key": key},
                       timeout=10)
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    float_amount = fo_a.post(url, json={"amount": 60000.5}, headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=10)
    assert float_amount.status_code == 422

    own = fo_a.post(f"{base}/api/v1/funding/disbursements/{d['id']}/approve", json={}, timeout=10)
    assert own.status_code == 403 and own.json()["code"] == "four_eyes_violation"
    ok = fo_b.post(f"{base}/api/v1/funding/disbursements/{d['id']}/approve", json={"reason": "材料齐全"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["approved_by"] != d["requested_by"]
    paid = fo_a.post(f"{base}/api/v1/funding/disbursements/{d['id']}/paid", json={"bank_reference": "ICBC-0001"},
                     timeout=10)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"

    found = auditor.get(f"{base}/api/v1/audit/disbursements", params={"project_id": app_id, "status": "paid"},
                        timeout=10).json()
    assert [i["id"] for i in found["items"]] == [d["id"]] and found["totals"]["amount"] == "60000.00"
    trail = auditor.get(f"{base}/api/v1/audit/records", params={"entity_id": d["id"], "reason": "年度审计"},
                        timeout=10).json()
    assert [r["action"] for r in trail["items"]] == ["disbursement_requested", "disbursement_approved",
                                                     "disbursement_paid"]
    ledger = auditor.get(f"{base}/api/v1/audit/ledger", params={"project_id": app_id}, timeout=10).json()
    assert ledger["totals"]["debit"] == ledger["totals"]["credit"] == "210000.00"
    export = auditor.get(f"{base}/api/v1/audit/disbursements/export.csv", params={"project_id": app_id}, timeout=10)
    assert export.status_code == 200 and export.headers["X-Row-Count"] == "1"
    assert list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))[1][0] == d["id"]
    verdict = auditor.get(f"{base}/api/v1/audit/verify", timeout=30).json()
    assert verdict["ok"] is True and verdict["checked"] >= 8
    # the auditor's own look is on the record
    mine = auditor.get(f"{base}/api/v1/audit/records", params={"status": "auditor_query,audit_chain_verified"},
                       timeout=10).json()
    assert any(r["reason"] == "年度审计" for r in mine["items"])
    denied = fo_a.post(f"{base}/api/v1/funding/disbursements/{d['id']}/paid", json={"bank_reference": "x"}, timeout=10)
    assert denied.status_code == 409 and denied.json()["code"] == "invalid_transition"
    assert auditor.post(url, json={"amount": "1.00"}, headers={"Idempotency-Key": "k"}, timeout=10).status_code == 403

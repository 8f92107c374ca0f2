"""The walking-skeleton scenario, driven over HTTP through the gateway as a web client would.

An officer opens a call; a city unit drafts an application, uploads a scan straight to the object store by
presigned URL and submits; review receives the submission event and an officer selects it; funding creates
a budget; one finance officer requests a disbursement, a second approves it, the first records the payment;
an auditor lists the records and verifies the chain; the unit reads its messages.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Passw0rd-local-demo"


class ApiError(Exception):
    def __init__(self, status, body):
        self.status, self.body = status, body
        super().__init__(f"{status} {body}")


class Client:
    def __init__(self, base_url: str, token: str | None = None):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.token = token

    def login(self, username: str, password: str = PASSWORD) -> "Client":
        body = self.call("POST", "/api/v1/auth/token", {"username": username, "password": password})
        return Client(self.base, body["access_token"])

    def call(self, method: str, path: str, body=None, expect=(200, 201), headers=None, **params):
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        resp = self.session.request(method, self.base + path, json=body, params=params or None, headers=h,
                                    timeout=60)
        try:
            data = resp.json()
        except ValueError:
            data = resp.text
        if expect and resp.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise ApiError(resp.status_code, data)
        return data

    def wait_for(self, method, path, predicate, timeout=30.0, **params):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.call(method, path, **params)
            if predicate(last):
                return last
            time.sleep(0.2)
        raise TimeoutError(f"{path}: condition not met within {timeout}s; last={last!r}")


def tiny_pdf(text: str = "scan") -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
            b"% " + text.encode() + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def demo_call_definition(deadline_local: dt.datetime) -> dict:
    """The bundled 2025 call, moved to this year with a deadline in the future for the demo."""
    return {"template": 2025, "year": deadline_local.year, "deadline": deadline_local.strftime("%Y-%m-%dT%H:%M:%S"),
            "title": f"关于做好{deadline_local.year}年各类专家人才服务基层有关工作的通知（演示）",
            "doc_no": f"内人社办发〔{deadline_local.year}〕演示{uuid.uuid4().hex[:6]}号"}


def ensure_users(admin: Client, unit_id: str, suffix: str) -> dict:
    users = {
        "officer": ("programme_officer", None), "officer2": ("programme_officer", None),
        "clerk": ("intake_clerk", None), "finance1": ("finance_officer", None), "finance2": ("finance_officer", None),
        "auditor": ("auditor", None), "unit": ("applicant_unit", unit_id),
    }
    names = {}
    for key, (role, unit) in users.items():
        username = f"{key}-{suffix}"
        body = {"username": username, "password": PASSWORD, "role": role, "name": key}
        if unit:
            body["unit_id"] = unit
        admin.call("POST", "/api/v1/users", body, expect=201)
        names[key] = username
    return names


def run(base_url: str, admin_user: str = "admin", admin_password: str = PASSWORD, say=print,
        pause=None) -> dict:
    """Run the scenario; ``pause(step)`` is called between steps (the e2e test kills services there)."""
    pause = pause or (lambda step: None)
    suffix = uuid.uuid4().hex[:6]
    admin = Client(base_url).login(admin_user, admin_password)
    officer_bootstrap = admin
    from scenario_forms import demo_uscc, service_team_form_2025  # noqa: PLC0415 - sibling module
    unit = officer_bootstrap.call("POST", "/api/v1/units", {
        "name": f"呼和浩特市人力资源和社会保障局（演示{suffix}）", "kind": "league_city", "league_city_code": "150100",
        "uscc": demo_uscc(int(suffix, 16)),
        "contacts": [{"name": "王敏", "mobile": "13800471234", "email": "hr-demo@example.cn"}]}, expect=201)
    names = ensure_users(admin, unit["id"], suffix)
    c = {k: Client(base_url).login(v) for k, v in names.items()}
    say(f"· 用户已就绪：{', '.join(names.values())}")

    now_local = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    # The deadline stays within this year: service periods must fall in the call's year.
    deadline = min(now_local + dt.timedelta(days=30), now_local.replace(month=12, day=31, hour=23, minute=59))
    call = c["officer"].call("POST", "/api/v1/calls", demo_call_definition(deadline), expect=201)
    c["officer"].call("POST", f"/api/v1/calls/{call['id']}/open")
    say(f"· 项目处发布申报通知：{call['title']}（截止 {deadline:%Y-%m-%d %H:%M} 北京时间）")
    pause("call_opened")

    app = c["unit"].call("POST", "/api/v1/applications", {
        "call_id": call["id"], "programme_code": "service_team", "title": "草原生态修复与畜牧业提质增效专家服务团",
        "form": service_team_form_2025(unit["name"], deadline.year)}, expect=201)
    say(f"· 申报单位新建申报草稿 {app['id']}")

    for kind in ("stamped_form_scan", "recommendation_letter"):
        data = tiny_pdf(f"{kind}-{app['id']}")
        up = c["unit"].call("POST", f"/api/v1/applications/{app['id']}/documents", {
            "kind": kind, "filename": f"{kind}.pdf", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
            expect=201)
        put = requests.put(up["upload_url"], data=data, timeout=30)
        put.raise_for_status()
        doc = c["unit"].call("POST", f"/api/v1/documents/{up['document']['id']}/confirm")
        say(f"· 附件 {kind} 直传对象存储并通过校验（{doc['size']} 字节，SHA-256 {doc['sha256'][:12]}…）")
    pause("documents_stored")

    sub = c["unit"].call("POST", f"/api/v1/applications/{app['id']}/submit")
    say(f"· 申报单位提交申报，状态：{sub['status']}")
    usage = c["officer"].call("GET", f"/api/v1/calls/{call['id']}/quota-usage", unit_id=unit["id"])
    team = next(p for p in usage[0]["programmes"] if p["programme"] == "service_team")
    xlsx = c["officer"].session.get(f"{c['officer'].base}/api/v1/calls/{call['id']}/export.xlsx", timeout=60,
                                    headers={"Authorization": f"Bearer {c['officer'].token}"})
    if xlsx.status_code != 200:
        raise ApiError(xlsx.status_code, xlsx.text)
    say(f"· 项目处查看名额：{team['programme_name']}已用 {team['used']} 个（限报 {team['quota_label']}）；"
        f"导出申报汇总表 {len(xlsx.content)} 字节")
    pause("submitted")

    c["officer"].wait_for("GET", "/api/v1/review/candidates",
                          lambda rows: any(r["application_id"] == app["id"] for r in rows), call_id=call["id"])
    say("· 评审服务经事件收到该申报")
    c["officer"].call("POST", f"/api/v1/review/candidates/{app['id']}/select",
                      {"reason": "演示：择优入选", "amount": "120000.00", "source": "department"})
    say("· 项目处确定入选（资助 120,000.00 元）")
    pause("selected")

    budgets = c["finance1"].wait_for("GET", "/api/v1/funding/budgets", lambda rows: len(rows) == 1,
                                     application_id=app["id"])
    budget = budgets[0]
    say(f"· 资金服务经事件创建预算 {budget['id']}：{budget['amount']} 元")
    key = f"demo-{suffix}-1"
    d = c["finance1"].call("POST", f"/api/v1/funding/budgets/{budget['id']}/disbursements",
                           {"amount": "60000.00", "purpose": "第一笔拨款"}, headers={"Idempotency-Key": key}, expect=201)
    again = c["finance1"].call("POST", f"/api/v1/funding/budgets/{budget['id']}/disbursements",
                               {"amount": "60000.00", "purpose": "第一笔拨款"}, headers={"Idempotency-Key": key},
                               expect=201)
    assert again["id"] == d["id"], "the same idempotency key must return the first result"
    refused = c["finance1"].call("POST", f"/api/v1/funding/disbursements/{d['id']}/approve", {}, expect=403)
    say(f"· 财务一申请拨款 60,000.00 元；本人审批被拒绝：{refused['message']}")
    c["finance2"].call("POST", f"/api/v1/funding/disbursements/{d['id']}/approve", {"reason": "材料齐全"})
    paid = c["finance1"].call("POST", f"/api/v1/funding/disbursements/{d['id']}/paid", {"bank_ref": f"BANK-{suffix}"})
    say(f"· 财务二审批，财务一登记支付（回单 {paid['bank_ref']}）")
    pause("paid")

    rows = c["auditor"].call("GET", "/api/v1/funding/disbursements", budget_id=budget["id"])
    trail = c["auditor"].call("GET", "/api/v1/audit/records")
    verdict = c["auditor"].call("GET", "/api/v1/audit/verify")
    say(f"· 审计人员查到 {len(rows)} 笔拨款、{len(trail)} 条审计记录；哈希链校验：{'通过' if verdict['ok'] else '失败'}")

    expected = {"application_submitted", "application_selected", "budget_created", "disbursement_approved",
                "disbursement_paid"}
    msgs = c["unit"].wait_for("GET", "/api/v1/messages",
                              lambda ms: expected <= {m["event_type"] for m in ms}, timeout=30)
    for m in msgs:
        say(f"  ✉ {m['subject']}")
    return {"call": call, "application": app, "budget": budget, "disbursement": paid, "audit": verdict,
            "messages": msgs, "clients": c, "unit": unit}

"""The whole programme year in miniature, driven over HTTP through the gateway as a web client would.

An officer opens a call (the service-team programme marked rolling, so review may start before the
deadline); two experts from other leagues are registered and admitted to the key-contact pool; a city unit
drafts an application, uploads its scans straight to the object store by presigned URL and submits; review
receives the submission by event, an officer opens a round and the experts service proposes conflict-free
reviewers, who score; the round closes, the ranking is explained, one officer proposes the selection within
the call's caps and a second approves and publishes it; the ministry's approval is recorded; funding
creates the budget from that event; one finance officer requests a disbursement, a second approves it, the
first records the payment; an auditor finds it with its audit records and verifies the chain; the unit
reads its messages.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from pathlib import Path

import requests
import yaml

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
    """The bundled 2025 call, moved to this year with a deadline in the future for the demo.

    The service-team programme is marked rolling (the call may say so), which lets review start before the
    deadline: the demo need not wait a month."""
    bundled = yaml.safe_load((ROOT / "services/intake/intake/calls/call_2025.yaml").read_text(encoding="utf-8"))
    programmes = [dict(p, rolling=True) if p["code"] == "service_team" else p for p in bundled["programmes"]]
    return {"template": 2025, "year": deadline_local.year, "deadline": deadline_local.strftime("%Y-%m-%dT%H:%M:%S"),
            "title": f"关于做好{deadline_local.year}年各类专家人才服务基层有关工作的通知（演示）",
            "doc_no": f"内人社办发〔{deadline_local.year}〕演示{uuid.uuid4().hex[:6]}号", "programmes": programmes}


def demo_id_number(seed: int) -> str:
    from grassroots.validators import id_check_char  # noqa: PLC0415 - installed with the suite
    first = f"150102197{seed % 10}0315{seed % 1000:03d}"
    return first + id_check_char(first)


def register_reviewers(officer: "Client", users: dict, call_id: str, say) -> list[dict]:
    """Two experts from leagues other than the applicant's, with logins, admitted to the key-contact pool."""
    experts = []
    for i, (key, league, unit, specialty) in enumerate((
            ("expert1", "150200", "内蒙古科技大学", "草原生态修复 畜牧业 肉羊养殖 布病防控"),
            ("expert2", "150600", "鄂尔多斯市农牧技术推广中心", "畜牧兽医 草原保护 饲草料种植"))):
        e = officer.call("POST", "/api/v1/experts", {
            "name": ["高志远", "乌兰"][i], "gender": ["男", "女"][i], "id_number": demo_id_number(int(time.time()) + i),
            "league_city_code": league, "unit_name": unit, "title": "研究员", "title_level": "正高级",
            "specialty": specialty, "user_id": users[key]["id"], "email": f"{key}@example.cn",
            "recommendation": {"call_id": call_id, "unit_name": unit, "league_city_code": league}}, expect=201)
        experts.append(officer.call("POST", f"/api/v1/experts/{e['id']}/admit", {}))
    say(f"· 专家库：{'、'.join(e['name'] for e in experts)} 纳入重点联系专家库（身份证号 {experts[0]['id_number_masked']}）")
    return experts


def ensure_users(admin: Client, unit_id: str, suffix: str) -> dict:
    users = {
        "officer": ("programme_officer", None), "officer2": ("programme_officer", None),
        "clerk": ("intake_clerk", None), "finance1": ("finance_officer", None), "finance2": ("finance_officer", None),
        "auditor": ("auditor", None), "unit": ("applicant_unit", unit_id),
        "expert1": ("expert", None), "expert2": ("expert", None),
    }
    names = {}
    for key, (role, unit) in users.items():
        username = f"{key}-{suffix}"
        body = {"username": username, "password": PASSWORD, "role": role, "name": key}
        if unit:
            body["unit_id"] = unit
        created = admin.call("POST", "/api/v1/users", body, expect=201)
        names[key] = {"username": username, "id": created["id"]}
    return names


def _create_round(officer: "Client", call_id: str, close_at: str) -> dict:
    # review learns of the call from intake's call_opened event: wait until it has
    deadline = time.monotonic() + 30
    while True:
        try:
            return officer.call("POST", "/api/v1/review/rounds", {
                "call_id": call_id, "programme_code": "service_team", "reviewers_per_application": 2,
                "close_at": close_at}, expect=201)
        except ApiError as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


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
    c = {k: Client(base_url).login(v["username"]) for k, v in names.items()}
    say(f"· 用户已就绪：{', '.join(v['username'] for v in names.values())}")

    now_local = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    # The deadline stays within this year: service periods must fall in the call's year.
    deadline = min(now_local + dt.timedelta(days=30), now_local.replace(month=12, day=31, hour=23, minute=59))
    call = c["officer"].call("POST", "/api/v1/calls", demo_call_definition(deadline), expect=201)
    c["officer"].call("POST", f"/api/v1/calls/{call['id']}/open")
    say(f"· 项目处发布申报通知：{call['title']}（截止 {deadline:%Y-%m-%d %H:%M} 北京时间）")
    pause("call_opened")
    register_reviewers(c["officer"], names, call["id"], say)

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
    close_at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat()
    rnd = _create_round(c["officer"], call["id"], close_at)
    c["officer"].call("POST", f"/api/v1/review/rounds/{rnd['id']}/open")
    assigned = c["officer"].call("POST", f"/api/v1/review/rounds/{rnd['id']}/assign")
    say(f"· 评审轮次开始，专家服务按回避与专业匹配分配 {len(assigned['assigned'])} 位评审专家"
        f"（{', '.join(str(round(a['fit'], 2)) for a in assigned['assigned'])}）")
    for key in ("expert1", "expert2"):
        for a in c[key].call("GET", "/api/v1/review/assignments"):
            crit = a["rubric"]["criteria"]
            c[key].call("PUT", f"/api/v1/review/assignments/{a['id']}/score", {
                "scores": {x["code"]: str(x["scale"]["max"]) for x in crit},
                "comments": {x["code"]: "需求明确，方案可行" for x in crit}})
    c["officer"].call("POST", f"/api/v1/review/rounds/{rnd['id']}/close")
    ranking = c["officer"].call("GET", f"/api/v1/review/rounds/{rnd['id']}/ranking")["ranking"]
    top = ranking[0]
    say(f"· 评审专家评分完毕；排名第1：{top['final_score']} 分（{top['method_text']}；{top['bonus']['reason']}）")
    # One complete candidate and a call asking for 2-3 ministry recommendations: the rule "when there are
    # enough candidates" makes it the ministry recommendation.
    proposal = c["officer"].call("POST", f"/api/v1/review/rounds/{rnd['id']}/proposals", {
        "lines": [{"application_id": app["id"], "outcome": "recommended_national"}], "note": "演示：择优推荐"},
        expect=201)
    refused = c["officer"].call("POST", f"/api/v1/review/proposals/{proposal['id']}/approve", {}, expect=403)
    c["officer2"].call("POST", f"/api/v1/review/proposals/{proposal['id']}/approve",
                       {"reason": "同意", "publish": True})
    say(f"· 项目处提出遴选方案；本人审批被拒绝：{refused['message']}；另一位处室人员批准并公布")
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    c["officer"].call("PUT", f"/api/v1/review/applications/{app['id']}/ministry-decision", {
        "approved": True, "document_ref": f"人社厅函〔{today[:4]}〕{int(suffix, 16) % 90 + 10}号", "decided_on": today,
        "amount": "120000.00"})
    say("· 登记人力资源社会保障部批准（资助 120,000.00 元）")
    pause("selected")

    budgets = c["finance1"].wait_for("GET", "/api/v1/funding/budgets", lambda rows: len(rows) == 1,
                                     project_id=app["id"])
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
    paid = c["finance1"].call("POST", f"/api/v1/funding/disbursements/{d['id']}/paid",
                              {"bank_reference": f"BANK-{suffix}"})
    say(f"· 财务二审批，财务一登记支付（银行流水号 {paid['bank_reference']}）")
    pause("paid")

    found = c["auditor"].call("GET", "/api/v1/audit/disbursements", project_id=app["id"], reason="演示：年度专项审计")
    trail = c["auditor"].call("GET", "/api/v1/audit/records", entity_id=d["id"], reason="演示：年度专项审计")
    verdict = c["auditor"].call("GET", "/api/v1/audit/verify", reason="演示：年度专项审计")
    say(f"· 审计人员查到 {found['total']} 笔拨付（合计 {float(found['totals']['amount']):,.2f} 元）、该笔拨付的 {trail['total']} 条审计记录；"
        f"哈希链校验：{'通过' if verdict['ok'] else '失败'}")

    expected = {"application_submitted", "application_recommended_to_ministry", "ministry_decided", "budget_created",
                "disbursement_approved", "disbursement_paid"}
    msgs = c["unit"].wait_for("GET", "/api/v1/messages",
                              lambda ms: expected <= {m["event_type"] for m in ms}, timeout=30)
    for m in msgs:
        say(f"  ✉ {m['subject']}")
    return {"call": call, "application": app, "budget": budget, "disbursement": paid, "audit": verdict,
            "messages": msgs, "clients": c, "unit": unit}

"""Intake on real containers: the service (and the gateway where routes matter) over RabbitMQ, its own fresh
PostgreSQL database, and the local S3 server. Time is the service's ``Clock``: tests stand on a chosen
second of the real 2025 call (deadline 2025-01-24 23:59:59 Beijing time) instead of waiting.

Fixtures:
    intake      an ``IntakeHarness``: ``.call(user, method, *args)`` over RPC as that user (DomainErrors
                re-raised as themselves), ``.at(local_time)`` sets the clock, ``.unit(kind)``,
                ``.open_call(2025)``, ``.draft(...)``, ``.upload(...)``, ``.events(type)`` (the outbox)
    forms       ``forms(programme_code, unit_name)``: a complete, valid form of the 2025 call
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from grassroots.errors import from_wire
from grassroots.validators import id_check_char, uscc_check_char
from intake.service import Clock, IntakeService

BJ = ZoneInfo("Asia/Shanghai")
OFFICER = {"id": "officer-1", "role": "programme_officer", "username": "officer", "name": "塞夫"}
CLERK = {"id": "clerk-1", "role": "intake_clerk", "username": "clerk", "name": "沈婷"}
AUDITOR = {"id": "auditor-1", "role": "auditor", "username": "auditor"}
SYSTEM = {"id": "system", "role": "system", "username": "system", "name": "系统"}
PDF = b"%PDF-1.7\n" + b"1 0 obj<</Type/Catalog>>endobj\n" * 20 + b"%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 400 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300

BEFORE_DEADLINE = dt.datetime(2025, 1, 20, 10, 0, tzinfo=BJ)


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


def uscc(seed: int) -> str:
    body = f"12150100MB{seed % 10**7:07d}"
    return body + uscc_check_char(body)


def id_number(birth: str = "19720315", seq: str = "123") -> str:
    first = "150102" + birth + seq
    return first + id_check_char(first)


class IntakeHarness:
    def __init__(self, container, config):
        self.container = container
        self.config = config
        self.clock = next(d for d in container.dependencies if isinstance(d, Clock))
        self._proxies = {}
        self.engine = sa.create_engine(config["DATABASE_URL"])

    # time -------------------------------------------------------------------------------------------
    def at(self, when: dt.datetime) -> "IntakeHarness":
        self.clock.now = lambda: when.astimezone(dt.timezone.utc)
        return self

    # rpc --------------------------------------------------------------------------------------------
    def proxy(self, user: dict):
        key = json.dumps(user, sort_keys=True)
        if key not in self._proxies:
            cp = ClusterRpcProxy(self.config, context_data={"user": user})
            self._proxies[key] = (cp, cp.start())
        return self._proxies[key][1]

    def call(self, user: dict, method: str, *args):
        return rpc_call(self.proxy(user), method, *args)

    def stop(self):
        for cp, _ in self._proxies.values():
            cp.stop()
        self.engine.dispose()

    # set-up -----------------------------------------------------------------------------------------
    def unit(self, kind: str = "league_city", league_city_code: str = "150100", name: str | None = None) -> dict:
        seed = uuid.uuid4().int
        unit = self.call(OFFICER, "create_unit", {
            "name": name or f"测试单位{seed % 100000}", "kind": kind, "league_city_code": league_city_code,
            "uscc": uscc(seed), "contacts": [{"name": "王敏", "mobile": "13800471234", "email": "wm@example.cn"}]})
        unit["user"] = {"id": f"user-{unit['id'][:8]}", "role": "applicant_unit", "unit_id": unit["id"],
                        "username": f"u-{unit['id'][:8]}", "name": "王敏"}
        return unit

    def open_call(self, year: int = 2025, **overrides) -> dict:
        call = self.call(OFFICER, "create_call", {"template": year, **overrides})
        return self.call(OFFICER, "open_call", call["id"])

    def draft(self, call: dict, unit: dict, programme: str, form: dict | None = None) -> dict:
        return self.call(unit["user"], "create_application", {
            "call_id": call["id"], "programme_code": programme,
            "form": form if form is not None else sample_form(programme, unit["name"])})

    def upload(self, unit: dict, application_id: str, kind: str, data: bytes = PDF, purpose: str | None = None,
               filename: str | None = None, declared: bytes | None = None, replaces: str | None = None) -> dict:
        body = {"kind": kind, "filename": filename or f"{kind}.pdf", "size": len(data),
                "sha256": hashlib.sha256(declared if declared is not None else data).hexdigest()}
        if purpose:
            body["purpose"] = purpose
        if replaces:
            body["replaces"] = replaces
        up = self.call(unit["user"], "request_upload", application_id, body)
        requests.put(up["upload_url"], data=data, timeout=10).raise_for_status()
        return self.call(unit["user"], "confirm_document", up["document"]["id"])

    def complete(self, unit: dict, application: dict) -> None:
        """Upload every required attachment of the application's programme."""
        call = self.call(OFFICER, "get_call", application["call_id"])
        prog = next(p for p in call["definition"]["programmes"] if p["code"] == application["programme_code"])
        for att in prog["attachments"]:
            if att.get("required", True):
                self.upload(unit, application["id"], att["kind"])

    def ready(self, call, unit, programme: str) -> dict:
        app = self.draft(call, unit, programme)
        self.complete(unit, app)
        return app

    # the outbox -------------------------------------------------------------------------------------
    def events(self, event_type: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY seq"),
                                {"t": event_type}).scalars().all()
        return [json.loads(r) for r in rows]

    def status_of(self, application_id: str) -> str:
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT status FROM application WHERE id = :i"),
                                {"i": application_id}).scalar_one()


def rpc_call(proxy, method: str, *args):
    try:
        return getattr(proxy.intake, method)(*args)
    except RemoteError as exc:
        err = from_wire(exc.exc_type, exc.value)
        if err is not None:
            raise err from None
        raise


@pytest.fixture
def intake_config(service_config):
    return service_config("intake", INTAKE_FORFEIT_SECONDS=3600, INTAKE_REPORT_OVERDUE_SECONDS=3600)


@pytest.fixture
def intake(container_factory, intake_config):
    container = container_factory(IntakeService, intake_config)
    container.start()
    harness = IntakeHarness(container, intake_config).at(BEFORE_DEADLINE)
    yield harness
    harness.stop()


@pytest.fixture
def forms():
    return sample_form


@pytest.fixture
def kit():
    """This module: constants and helpers (OFFICER, PDF, local(), ...) for the tests (importlib mode)."""
    return sys.modules[__name__]


PASSWORD = "a-long-password-1"


class Web:
    """HTTP clients of the gateway: ``web.client(role, unit_id=None)`` makes a user and logs in."""

    def __init__(self, base: str, users):
        self.base, self.users = base, users

    def client(self, role: str, unit_id: str | None = None) -> "HttpClient":
        from gateway.users import create_user
        username = f"{role}-{uuid.uuid4().hex[:6]}"
        body = {"username": username, "password": PASSWORD, "role": role, "name": username}
        if unit_id:
            body["unit_id"] = unit_id
        create_user(self.users, body)
        r = requests.post(f"{self.base}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                          timeout=10)
        assert r.status_code == 200, r.text
        return HttpClient(self.base, r.json()["access_token"])


class HttpClient:
    def __init__(self, base: str, token: str):
        self.base, self.headers = base, {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body=None, **params) -> requests.Response:
        return requests.request(method, self.base + path, json=body, params=params or None,
                                headers=self.headers, timeout=30)

    def ok(self, method: str, path: str, body=None, **params):
        r = self.request(method, path, body, **params)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def upload(self, path: str, kind: str, data: bytes = PDF, filename: str | None = None) -> dict:
        up = self.ok("POST", path, {"kind": kind, "filename": filename or f"{kind}.pdf", "size": len(data),
                                    "sha256": hashlib.sha256(data).hexdigest()})
        requests.put(up["upload_url"], data=data, timeout=10).raise_for_status()
        return self.ok("POST", f"/api/v1/documents/{up['document']['id']}/confirm")


@pytest.fixture
def web(intake, container_factory, service_config, web_config):
    from gateway.admin import UserDb
    from gateway.service import GatewayService
    cfg = service_config("gateway", AMQP_URI=intake.config["AMQP_URI"], **web_config)
    container_factory(GatewayService, cfg).start()
    return Web(f"http://{cfg['WEB_SERVER_ADDRESS']}", UserDb(cfg["DATABASE_URL"]))


# ---------------------------------------------------------------------------------------------------------
# complete, valid forms for each programme of the 2025 call (built from call_2025.yaml)
CONTACT = {"contact_person": "王敏", "contact_phone": "(0471) 6601234", "contact_mobile": "13800471234",
           "contact_email": "hr-demo@example.cn"}
BANK = {"account_name": "呼和浩特市人力资源和社会保障局", "account_no": "6222 0212 3456 7890 123",
        "bank_name": "中国工商银行呼和浩特新城支行", "interbank_code": "102191000011"}


def _base_form(unit_name: str) -> dict:
    return {
        "base_name": "草原畜牧业专家服务基地", "host_unit": unit_name[:50], "host_uscc": uscc(424242),
        "region": "150100", "address": "呼和浩特市赛罕区昭乌达路306号", "field": "畜牧兽医", "expert_count": 25,
        "introduction": "依托内蒙古农业大学畜牧兽医学科，面向牧区开展技术服务。", "facilities": "实验室三个，示范牧场一处。",
        "systems": "建立专家轮值、服务台账和考核制度。", "research_strength": "承担国家重点研发计划课题两项。",
        "achievements": "近三年服务牧户一千二百户，培训基层技术人员八百人次。",
        "planned_activities": [{"name": "春季接羔保育技术服务", "period": {"start": "2025-04-01", "end": "2025-04-10"},
                                "place": "四子王旗", "content": "现场指导接羔保育与疫病防控。"}],
        "funds_use_plan": "专家劳务与差旅、培训资料印制。", "unit_opinion": "同意推荐。", **CONTACT, **BANK,
    }


def sample_form(programme: str, unit_name: str = "呼和浩特市人力资源和社会保障局") -> dict:
    if programme == "service_team":
        return {
            "project_name": "草原生态修复与畜牧业提质增效专家服务团", "applicant_unit": unit_name[:50],
            "applicant_region": "150100", "themes": ["rural_revitalisation", "local_industries"],
            "service_places": [{"region": "150100", "county": "武川县", "place": "武川县上秃亥乡",
                                "priority_areas": ["rural_revitalisation_key_county"]}],
            "demands": [{"title": "肉羊布病防控技术指导", "demand_unit": "武川县农牧和科技局",
                         "description": "基层兽医对布病防控规程掌握不足，需要专家现场培训与指导。"}],
            "experts": [{"name": "张建国", "unit": "内蒙古农业大学", "title": "教授", "title_level": "senior",
                         "specialty": "畜牧兽医", "mobile": "13904711234"}],
            # 2025-06-09 (Mon) .. 2025-06-20 (Fri): ten working days
            "service_period": {"start": "2025-06-09", "end": "2025-06-20"}, "service_days": 10,
            "background": "武川县为自治区乡村振兴重点帮扶旗县，肉羊产业是主导产业。",
            "activity_plan": "组织畜牧兽医、草原生态专家分三组深入乡镇开展现场诊断和培训。",
            "expected_results": "培训基层技术人员200人次，建立示范户30户。",
            "budget_total": "120000.00",
            "budget_items": [{"item": "专家劳务费", "amount": "60000.00"}, {"item": "差旅费", "amount": "60000.00"}],
            "unit_opinion": "同意推荐。", **CONTACT, **BANK}
    if programme == "national_base":
        return {"regional_base_approval": "内人社发〔2021〕12号", "regional_base_year": 2021, **_base_form(unit_name)}
    if programme == "regional_base":
        return _base_form(unit_name)
    if programme == "key_expert":
        return {"name": "李秀兰", "gender": "female", "birth_year": 1972, "ethnicity": "蒙古族",
                "id_number": id_number(), "region": "150100", "unit": "内蒙古农牧业科学院", "position": "研究室主任",
                "title": "研究员", "title_level": "senior", "specialty": "草原生态",
                "service_record": "连续五年参加专家服务基层活动，累计服务牧区四十余天。",
                "healthy": True, "willing": True, "mobile": "13947112345", "office_phone": "0471-5901234",
                "email": "lixl@example.cn", "unit_opinion": "同意推荐。"}
    if programme == "chizi":
        return {"has_returnee_team": True, "activity_name": "海外赤子乳业科技服务行", "host_unit": unit_name[:50],
                "activity_period": {"start": "2025-07-01", "end": "2025-07-05"}, "returnee_count": 12,
                "place": "呼和浩特市和林格尔县", "responsible_department": "人才开发科", "contact_person": "王敏",
                "office_phone": "(0471) 6601234", "mobile": "13800471234", "email": "hr-demo@example.cn",
                "total_budget": "300000.50", "interbank_code": "102191000011", "account_name": unit_name[:100],
                "bank_name": "中国工商银行呼和浩特新城支行", "account_no": "6222021234567890123",
                "activity_forms": ["technical_guidance", "other"], "activity_forms_other": "乳企技术难题会诊",
                "activity_content": "组织海外留学回国专家到乳业企业开展技术诊断、项目洽谈和人才培训。"}
    if programme == "postdoc_hosting":
        return {"applicant_unit": unit_name[:50], "venue": "150100",
                "held_period": {"start": "2025-08-12", "end": "2025-08-14"}, "contact_person": "王敏",
                "position": "科长", "landline": "(0471) 6601234", "mobile": "13800471234",
                "email": "hr-demo@example.cn", "activity_days": 3,
                "hosting_reasons": "本市乳业、新能源产业集聚，博士后技术需求旺盛。",
                "activity_plan": "8月中旬举办，分产业对接、现场服务和成果发布三个环节。",
                "demands": [{"title": f"技术需求{i + 1}", "demand_unit": f"需求单位{i + 1}", "field": "乳业",
                             "description": "需要专家现场指导解决生产工艺问题。"} for i in range(12)]}
    raise KeyError(programme)

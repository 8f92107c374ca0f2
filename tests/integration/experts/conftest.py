"""Experts on real containers: the experts service and intake over RabbitMQ, each with its own fresh
PostgreSQL database, the local S3 server for intake's documents, and the gateway where HTTP matters.

Facts reach experts the way they do in production: intake opens the 2025 call (``call_opened``) and
units submit applications (``application_submitted``); review's events, whose publisher is another
service, are dispatched on review's exchange with the same envelope.

Fixtures:
    suite     a ``Suite``: ``.experts(user, method, *args)`` / ``.intake(user, method, *args)`` over RPC as that
              user (DomainErrors re-raised as themselves), ``.open_call()``, ``.unit()``, ``.submit(...)``,
              ``.events(type)`` (experts' outbox), ``.wait(predicate)``, ``.dispatch(source, type, payload)``
    kit       this module (OFFICER, ADMIN, xlsx(), id_number(), expert_row(), ...)
    web       the gateway: ``web.client(role, unit_id=None)`` logs a new user in, ``.user_id`` is theirs
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import sys
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from openpyxl import Workbook

from experts.domain.roster import IMPORT_COLUMNS
from experts.service import Clock as ExpertsClock
from experts.service import ExpertsService
from grassroots.errors import from_wire
from grassroots.events import make_envelope
from grassroots.validators import id_check_char, uscc_check_char
from intake.service import Clock as IntakeClock
from intake.service import IntakeService

BJ = ZoneInfo("Asia/Shanghai")
OFFICER = {"id": "officer-1", "role": "programme_officer", "username": "officer", "name": "塞夫"}
ADMIN = {"id": "admin-1", "role": "admin", "username": "admin", "name": "管理员"}
AUDITOR = {"id": "auditor-1", "role": "auditor", "username": "auditor"}
SYSTEM = {"id": "system", "role": "system", "username": "system", "name": "系统"}
PDF = b"%PDF-1.7\n" + b"1 0 obj<</Type/Catalog>>endobj\n" * 20 + b"%%EOF\n"
BEFORE_DEADLINE = dt.datetime(2025, 1, 20, 10, 0, tzinfo=BJ)
# experts stands early in 2025: the postdoc activities (August) are still to come, so they count as load
EXPERTS_TODAY = dt.datetime(2025, 2, 1, 9, 0, tzinfo=BJ)


def uscc(seed: int) -> str:
    body = f"12150100MB{seed % 10**7:07d}"
    return body + uscc_check_char(body)


def id_number(seq: int, birth: str = "19720315", region: str = "150102") -> str:
    first = region + birth + f"{seq % 1000:03d}"
    return first + id_check_char(first)


def expert_row(seq: int, **over) -> dict:
    """One row of the import sheet, by field (see experts.domain.roster.IMPORT_COLUMNS)."""
    row = {"name": f"专家{seq}", "gender": "女" if seq % 2 else "男", "birth_year": 1972, "ethnicity": "蒙古族",
           "id_number": id_number(seq), "league_city_code": "呼和浩特市", "unit_name": f"内蒙古农牧业科学院{seq}所",
           "position": "研究员", "title": "研究员", "title_level": "正高级", "specialty": "肉羊养殖与疫病防控",
           "research_areas": "布病防控", "tags": "畜牧兽医", "service_record": "多次参加服务基层活动",
           "healthy": "是", "willing": "是", "mobile": f"1394711{seq % 10000:04d}", "email": f"e{seq}@example.cn"}
    row.update(over)
    return row


def xlsx(rows: list[dict], columns=None) -> bytes:
    columns = columns or IMPORT_COLUMNS
    wb = Workbook()
    ws = wb.active
    ws.append([head for _, head, _ in columns])
    for r in rows:
        ws.append([r.get(field, "") for field, _, _ in columns])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def postdoc_form(unit_name: str, demands: list[dict] | None = None, venue: str = "150100") -> dict:
    demands = demands or [{"title": f"技术需求{i + 1}", "demand_unit": f"需求单位{i + 1}", "field": "乳业",
                           "description": "需要专家现场指导解决乳制品生产工艺问题。"} for i in range(10)]
    return {"applicant_unit": unit_name[:50], "venue": venue,
            "held_period": {"start": "2025-08-12", "end": "2025-08-14"}, "contact_person": "王敏",
            "position": "科长", "landline": "(0471) 6601234", "mobile": "13800471234",
            "email": "hr-demo@example.cn", "activity_days": 3,
            "hosting_reasons": "本市乳业、新能源产业集聚，博士后技术需求旺盛。",
            "activity_plan": "8月中旬举办，分产业对接、现场服务和成果发布三个环节。", "demands": demands}


def key_expert_form(seq: int, title_level: str = "senior") -> dict:
    return {"name": f"推荐专家{seq}", "gender": "female", "birth_year": 1972, "ethnicity": "蒙古族",
            "id_number": id_number(seq), "region": "150100", "unit": "内蒙古农牧业科学院", "position": "研究室主任",
            "title": "研究员", "title_level": title_level, "specialty": "草原生态修复",
            "service_record": "连续五年参加专家服务基层活动。", "healthy": True, "willing": True,
            "mobile": "13947112345", "office_phone": "0471-5901234", "email": "lixl@example.cn",
            "unit_opinion": "同意推荐。"}


def call_rpc(proxy, service: str, method: str, *args, **kwargs):
    try:
        return getattr(getattr(proxy, service), method)(*args, **kwargs)
    except RemoteError as exc:
        err = from_wire(exc.exc_type, exc.value)
        if err is not None:
            raise err from None
        raise


class Suite:
    def __init__(self, experts_container, intake_container, config, intake_config):
        self.config, self.intake_config = config, intake_config
        self.experts_clock = next(d for d in experts_container.dependencies if isinstance(d, ExpertsClock))
        self.experts_clock.now = lambda: EXPERTS_TODAY.astimezone(dt.timezone.utc)
        intake_clock = next(d for d in intake_container.dependencies if isinstance(d, IntakeClock))
        intake_clock.now = lambda: BEFORE_DEADLINE.astimezone(dt.timezone.utc)
        self.engine = sa.create_engine(config["DATABASE_URL"])
        self._proxies = {}

    def proxy(self, user: dict):
        key = json.dumps(user, sort_keys=True)
        if key not in self._proxies:
            cp = ClusterRpcProxy(self.config, context_data={"user": user})
            self._proxies[key] = (cp, cp.start())
        return self._proxies[key][1]

    def experts(self, user: dict, method: str, *args, **kwargs):
        return call_rpc(self.proxy(user), "experts", method, *args, **kwargs)

    def intake(self, user: dict, method: str, *args):
        return call_rpc(self.proxy(user), "intake", method, *args)

    def stop(self):
        for cp, _ in self._proxies.values():
            cp.stop()
        self.engine.dispose()

    # intake set-up ----------------------------------------------------------------------------------
    def open_call(self) -> dict:
        call = self.intake(OFFICER, "create_call", {"template": 2025})
        call = self.intake(OFFICER, "open_call", call["id"])
        self.wait(lambda: self.scalar("SELECT count(*) FROM known_call WHERE id = :i", i=call["id"]) == 1)
        return call

    def unit(self, kind: str = "league_city", league_city_code: str = "150100") -> dict:
        seed = uuid.uuid4().int
        unit = self.intake(OFFICER, "create_unit", {
            "name": f"测试单位{seed % 100000}", "kind": kind, "league_city_code": league_city_code,
            "uscc": uscc(seed), "contacts": [{"name": "王敏", "mobile": "13800471234", "email": "wm@example.cn"}]})
        unit["user"] = {"id": f"user-{unit['id'][:8]}", "role": "applicant_unit", "unit_id": unit["id"],
                        "username": f"u-{unit['id'][:8]}", "name": "王敏"}
        return unit

    def submit(self, call: dict, unit: dict, programme: str, form: dict) -> dict:
        user = unit["user"]
        app = self.intake(user, "create_application", {"call_id": call["id"], "programme_code": programme,
                                                        "form": form})
        definition = self.intake(OFFICER, "get_call", call["id"])["definition"]
        prog = next(p for p in definition["programmes"] if p["code"] == programme)
        for att in prog["attachments"]:
            if att.get("required", True):
                up = self.intake(user, "request_upload", app["id"], {
                    "kind": att["kind"], "filename": f"{att['kind']}.pdf", "size": len(PDF),
                    "sha256": hashlib.sha256(PDF).hexdigest()})
                requests.put(up["upload_url"], data=PDF, timeout=10).raise_for_status()
                self.intake(user, "confirm_document", up["document"]["id"])
        return self.intake(user, "submit_application", app["id"])

    # observation ------------------------------------------------------------------------------------
    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def events(self, event_type: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY seq"),
                                {"t": event_type}).scalars().all()
        return [json.loads(r) for r in rows]

    @staticmethod
    def wait(predicate, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError("condition not reached in time")

    def dispatch(self, source: str, event_type: str, payload: dict, actor: dict | None = OFFICER) -> dict:
        from grassroots.context import Actor
        envelope = make_envelope(event_type, payload, source=source, actor=Actor.from_dict(actor),
                                 correlation_id=uuid.uuid4().hex)
        event_dispatcher(self.config)(source, event_type, envelope)
        return envelope

    def handled(self, envelope: dict) -> bool:
        return bool(self.scalar("SELECT count(*) FROM inbox WHERE event_id = :i", i=envelope["id"]))


@pytest.fixture
def experts_config(service_config):
    return service_config("experts", EXPERTS_ID_HASH_KEY="test-hash-key-" + "k" * 20,
                          EXPERTS_ID_ENCRYPTION_KEY="test-encryption-secret-" + "e" * 20)


@pytest.fixture
def suite(container_factory, service_config, experts_config):
    intake_config = service_config("intake", AMQP_URI=experts_config["AMQP_URI"], INTAKE_FORFEIT_SECONDS=3600,
                                   INTAKE_REPORT_OVERDUE_SECONDS=3600)
    intake_c = container_factory(IntakeService, intake_config)
    experts_c = container_factory(ExpertsService, experts_config)
    experts_c.start()
    intake_c.start()
    s = Suite(experts_c, intake_c, experts_config, intake_config)
    yield s
    s.stop()


@pytest.fixture
def kit():
    return sys.modules[__name__]


PASSWORD = "a-long-password-1"


class HttpClient:
    def __init__(self, base: str, token: str, user_id: str):
        self.base, self.headers, self.user_id = base, {"Authorization": f"Bearer {token}"}, user_id

    def request(self, method: str, path: str, body=None, **params) -> requests.Response:
        return requests.request(method, self.base + path, json=body, params=params or None,
                                headers=self.headers, timeout=60)

    def ok(self, method: str, path: str, body=None, **params):
        r = self.request(method, path, body, **params)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
        return r.json()


class Web:
    def __init__(self, base: str, users):
        self.base, self.users = base, users

    def client(self, role: str, unit_id: str | None = None) -> HttpClient:
        from gateway.users import create_user
        username = f"{role}-{uuid.uuid4().hex[:6]}"
        body = {"username": username, "password": PASSWORD, "role": role, "name": username}
        if unit_id:
            body["unit_id"] = unit_id
        user = create_user(self.users, body)
        r = requests.post(f"{self.base}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                          timeout=10)
        assert r.status_code == 200, r.text
        return HttpClient(self.base, r.json()["access_token"], user["id"])


@pytest.fixture
def web(suite, container_factory, service_config, web_config):
    from gateway.admin import UserDb
    from gateway.service import GatewayService
    cfg = service_config("gateway", AMQP_URI=suite.config["AMQP_URI"], **web_config)
    container_factory(GatewayService, cfg).start()
    return Web(f"http://{cfg['WEB_SERVER_ADDRESS']}", UserDb(cfg["DATABASE_URL"]))

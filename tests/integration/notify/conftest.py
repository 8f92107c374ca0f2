"""Notify on the real broker and database, with the gateway (users, directory RPCs, HTTP routes) and a real
SMTP server (aiosmtpd) started per test on a free port."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import uuid

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange

from gateway.admin import UserDb
from gateway.service import GatewayService
from gateway.users import create_user
from notify.models import Message
from notify.service import NotifyService

PASSWORD = "a-long-password-1"

CALL = {
    "id": "c" * 32, "year": 2025, "title": "关于做好2025年各类专家人才服务基层有关工作的通知",
    "doc_no": "内人社办发〔2025〕5号",
    "contacts": [{"name": "塞夫", "department": "专业技术人员管理处", "phone": "(0471) 6268105",
                  "email": "rstzjc2021@126.com"}],
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Accepts messages; ``data_replies`` scripts one reply per DATA (a non-250 reply refuses it)."""

    def __init__(self, data_replies=()):
        self.data_replies = list(data_replies)
        self.received = []   # (mail_from, rcpt_tos, raw bytes)
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if not reply.startswith("250"):
                return reply
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def messages(self):
        return [email.message_from_bytes(raw, policy=email.policy.default) for _f, _t, raw in self.received]

    def to(self, address):
        return [m for m in self.messages() if address in str(m["To"])]


@pytest.fixture
def smtp_server():
    controllers = []

    def start(mailbox):
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SENDER": "noreply@nmgrst.example.cn",
                "SMTP_TIMEOUT": "5"}

    yield start
    for controller in controllers:
        controller.stop()


class Suite:
    """The gateway and notify containers of one test, with helpers to publish events and read results."""

    def __init__(self, container_factory, service_config, web_config):
        self.container_factory = container_factory
        self.service_config = service_config
        self.gw_cfg = service_config("gateway", **web_config)
        self.amqp = self.gw_cfg["AMQP_URI"]
        self.gateway = container_factory(GatewayService, self.gw_cfg)
        self.gateway.start()
        self.users_db = UserDb(self.gw_cfg["DATABASE_URL"])
        self.base = f"http://{self.gw_cfg['WEB_SERVER_ADDRESS']}"
        self.notify_cfg = None
        self.notifiers = []
        self.unit_id = "u" * 31 + "1"
        self.users = {}

    call = CALL

    def application(self, title="草原畜牧业科技服务团", app_id=None, unit_id=None):
        return {"id": app_id or uuid.uuid4().hex, "title": title, "programme_code": "service_team",
                "programme_name": "专家服务团项目", "unit_id": unit_id or self.unit_id,
                "unit_name": "呼伦贝尔市人力资源和社会保障局", "league_city_code": "150700"}

    def add_user(self, key, role, unit_id=None, email=None, mobile=None, name=None):
        user = create_user(self.users_db, {"username": f"{key}-{uuid.uuid4().hex[:6]}", "password": PASSWORD,
                                           "role": role, "unit_id": unit_id, "name": name or key,
                                           "email": email, "mobile": mobile})
        self.users[key] = user
        return user

    def start_notify(self, replicas=1, **overrides):
        base = dict(NOTIFY_DELIVERY_SECONDS="0.1", NOTIFY_RETRY_BASE_SECONDS="0.1", NOTIFY_RETRY_MAX_SECONDS="1",
                    NOTIFY_RETRY_JITTER="0", AMQP_URI=self.amqp)
        base.update(overrides)
        self.notify_cfg = self.service_config("notify", **base)
        for _ in range(replicas):
            container = self.container_factory(NotifyService, dict(self.notify_cfg))
            container.start()
            self.notifiers.append(container)
        return self.notifiers[0]

    def publish(self, source, event_type, payload, event_id=None, actor=None):
        envelope = {"id": event_id or uuid.uuid4().hex, "type": event_type, "source": source,
                    "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(), "correlation_id": "test",
                    "actor": actor, "schema_version": 1, "payload": payload}
        self.send(envelope)
        return envelope

    def send(self, envelope):
        with Connection(self.amqp) as conn:
            producer = Producer(conn.channel())
            exchange = get_event_exchange(envelope["source"], {})
            exchange(producer.channel).declare()
            producer.publish(envelope, exchange=exchange, routing_key=envelope["type"], serializer="json",
                             delivery_mode=2)

    def messages(self, **where):
        engine = sa.create_engine(self.notify_cfg["DATABASE_URL"])
        try:
            with engine.connect() as conn:
                q = sa.select(Message.__table__)
                for key, value in where.items():
                    q = q.where(getattr(Message.__table__.c, key) == value)
                return [dict(r._mapping) for r in conn.execute(q)]
        finally:
            engine.dispose()

    def token(self, key):
        r = requests.post(f"{self.base}/api/v1/auth/token",
                          json={"username": self.users[key]["username"], "password": PASSWORD}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def http(self, method, path, key, **kwargs):
        headers = {"Authorization": f"Bearer {self.token(key)}"}
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=20, **kwargs)


@pytest.fixture
def suite(service_config, web_config, container_factory):
    # container_factory is set up last so its containers stop before the databases are dropped
    return Suite(container_factory, service_config, web_config)


@pytest.fixture
def make_mailbox():
    return Mailbox

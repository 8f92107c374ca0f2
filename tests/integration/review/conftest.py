"""Review on real containers: the review service and the gateway over RabbitMQ, each with its own fresh
PostgreSQL database; intake's events are published on the broker as intake would publish them.

The experts service is replaced by a small stand-in named ``experts`` whose ``propose_reviewers`` runs the
experts service's own optimal proposal (``experts.domain.reviewers``) over a reviewer list the test sets:
review sees exactly the RPC contract it depends on, and the proposals are real ones, conflicts and loads
included. (The real experts service is exercised with review in the end-to-end suite.)

Fixtures:
    rv   a ``ReviewHarness``: ``.call_opened(...)``, ``.submit(...)`` (intake's application_submitted),
         ``.http(method, path, user, json=...)``, ``.rpc(user, method, *args)``, ``.events(type)`` (review's
         outbox), ``.users[...]`` gateway accounts: officer_a, officer_b, auditor, reviewers r1..rN, units.
"""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Producer
from nameko.exceptions import RemoteError
from nameko.events import get_event_exchange
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy

from experts.domain import reviewers as dreviewers
from experts.domain.fit import Expert
from gateway.admin import UserDb
from gateway.service import GatewayService
from gateway.users import create_user
from grassroots.errors import from_wire
from review.service import ReviewService

PASSWORD = "a-long-password-1"
LEAGUES = ["150100", "150200", "150300", "150400", "150500", "150600", "150700", "150800"]


class FakeExperts:
    """The experts service's reviewer-proposal RPC, over the reviewers a test registers."""

    name = "experts"
    reviewers: list[dict] = []
    calls: list[dict] = []

    @rpc
    def propose_reviewers(self, applications, per_application, exclude=None, loads=None, load_cap=None):
        FakeExperts.calls.append({"applications": applications, "exclude": exclude, "loads": loads,
                                  "load_cap": load_cap})
        loads = loads or {}
        pool = [Expert(id=r["expert_id"], unit_id=r["unit_id"], region_code=r["league_city_code"],
                       specialty=r.get("specialty", ""), title_level=r.get("title_level", 1),
                       capacity=min(r.get("cap", 99), load_cap or 99), load=loads.get(r["expert_id"], 0))
                for r in FakeExperts.reviewers]
        apps = [dreviewers.Application(id=a["id"], unit_id=a["unit_id"], region_code=a["league_city_code"],
                                       text=a.get("text") or "", wanted=a.get("wanted")) for a in applications]
        result = dreviewers.propose_reviewers(apps, pool, per_application=per_application,
                                              already_assigned=[tuple(p) for p in exclude or []]).to_dict()
        by_id = {r["expert_id"]: r for r in FakeExperts.reviewers}
        return {"matches": [{"application_id": m["demand_id"], "expert_id": m["expert_id"], "fit": m["fit"],
                             "explanation": m["explanation"],
                             "reviewer": {k: by_id[m["expert_id"]].get(k) for k in
                                          ("expert_id", "user_id", "name", "unit_id", "league_city_code", "email",
                                           "mobile")}}
                            for m in result["matches"]],
                "unmet": [{"application_id": u["demand_id"], "missing": u["wanted"] - u["filled"],
                           "reason": u["message"]} for u in result["unmet"]]}


class ReviewHarness:
    def __init__(self, container_factory, service_config, web_config):
        self.review_cfg = service_config("review")
        self.amqp = self.review_cfg["AMQP_URI"]
        gw_cfg = service_config("gateway", AMQP_URI=self.amqp, **web_config)
        self.review = container_factory(ReviewService, self.review_cfg)
        self.review.start()
        FakeExperts.reviewers, FakeExperts.calls = [], []
        container_factory(FakeExperts, dict(self.review_cfg)).start()
        container_factory(GatewayService, gw_cfg).start()
        self.base = f"http://{gw_cfg['WEB_SERVER_ADDRESS']}"
        self.users_db = UserDb(gw_cfg["DATABASE_URL"])
        self.users: dict[str, dict] = {}
        self._tokens: dict[str, str] = {}
        self.engine = sa.create_engine(self.review_cfg["DATABASE_URL"])
        for key, role in (("officer_a", "programme_officer"), ("officer_b", "programme_officer"),
                          ("auditor", "auditor")):
            self.add_user(key, role)
        self.call_id = uuid.uuid4().hex
        self._rpc = None

    # people -----------------------------------------------------------------------------------------
    def add_user(self, key, role, unit_id=None, name=None):
        self.users[key] = create_user(self.users_db, {"username": f"{key}-{uuid.uuid4().hex[:6]}",
                                                      "password": PASSWORD, "role": role, "unit_id": unit_id,
                                                      "name": name or key})
        return self.users[key]

    def add_reviewer(self, key, league, unit_id=None, cap=99, specialty="畜牧 草原 生态"):
        user = self.add_user(key, "reviewer", name=f"专家{key}")
        FakeExperts.reviewers.append({"expert_id": f"x-{key}", "user_id": user["id"], "name": f"专家{key}",
                                      "unit_id": unit_id or f"unit-{key}", "league_city_code": league,
                                      "email": f"{key}@example.cn", "mobile": None, "cap": cap,
                                      "specialty": specialty})
        return user

    def token(self, key):
        if key not in self._tokens:
            r = requests.post(f"{self.base}/api/v1/auth/token",
                              json={"username": self.users[key]["username"], "password": PASSWORD}, timeout=10)
            assert r.status_code == 200, r.text
            self._tokens[key] = r.json()["access_token"]
        return self._tokens[key]

    def http(self, method, path, key, **kwargs):
        return requests.request(method, f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token(key)}"},
                                timeout=30, **kwargs)

    def ok(self, method, path, key, status=(200, 201), **kwargs):
        r = self.http(method, path, key, **kwargs)
        assert r.status_code in status, (r.status_code, r.text)
        return r.json()

    def rpc(self, user: dict, method: str, *args, **kwargs):
        """Call review directly over RPC as ``user`` (bypassing the gateway), DomainErrors re-raised."""
        with ClusterRpcProxy(self.review_cfg, context_data={"user": user}) as cp:
            try:
                return getattr(cp.review, method)(*args, **kwargs)
            except RemoteError as exc:
                err = from_wire(exc.exc_type, exc.value)
                if err is not None:
                    raise err from None
                raise

    # intake's events --------------------------------------------------------------------------------
    def publish(self, event_type, payload, source="intake"):
        envelope = {"id": uuid.uuid4().hex, "type": event_type, "source": source,
                    "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(), "correlation_id": "test",
                    "actor": None, "schema_version": 1, "payload": payload}
        with Connection(self.amqp) as conn:
            producer = Producer(conn.channel())
            exchange = get_event_exchange(source, {})
            exchange(producer.channel).declare()
            producer.publish(envelope, exchange=exchange, routing_key=event_type, serializer="json",
                             delivery_mode=2)
        return envelope

    def call_summary(self):
        return {"id": self.call_id, "year": 2025, "title": "关于做好2025年各类专家人才服务基层有关工作的通知",
                "doc_no": "内人社办发〔2025〕1号", "deadline": self.deadline.isoformat(),
                "contacts": [{"name": "塞夫", "phone": "(0471) 6268105"}]}

    def call_opened(self, deadline_hours_ago=1.0, rolling=False, review=None):
        self.deadline = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=deadline_hours_ago)
        programmes = [
            {"code": "service_team", "name": "专家服务团项目", "rolling": rolling,
             "selection": [{"key": "regional", "label": "遴选确定为自治区专家服务团项目", "min": None, "max": 10},
                           {"key": "ministry_recommendation", "label": "择优推荐申请人力资源社会保障部专家服务团项目",
                            "min": 2, "max": 3}]},
            {"code": "regional_base", "name": "自治区级专家服务基地", "rolling": False,
             "selection": [{"key": "regional", "label": "遴选设立为自治区级专家服务基地", "min": None, "max": 5}]}]
        self.publish("call_opened", {"call": self.call_summary(), "programmes": programmes,
                                     "review": review or {}, "recipients": {"unit_contacts": [], "user_ids": []}})
        self.wait(lambda: self.scalar("SELECT count(*) FROM review_call WHERE id = :i", i=self.call_id) == 1)

    def submit(self, n, league, programme="service_team", unit_id=None, places=(), title=None, creator=None):
        app_id = f"app{n:03d}-{uuid.uuid4().hex[:6]}"
        application = {"id": app_id, "title": title or f"草原生态与畜牧业服务团{n}", "programme_code": programme,
                       "programme_name": "专家服务团项目", "unit_id": unit_id or f"unit-{league}",
                       "unit_name": f"{league}人社局", "unit_kind": "league_city", "league_city_code": league,
                       "status": "submitted",
                       "submitted_at": (self.deadline - dt.timedelta(hours=2, minutes=n)).isoformat(),
                       "form": {"service_places": [{"county": c, "place": "嘎查"} for c in places],
                                "account_name": f"{league}人社局", "account_no": "6222000011112222",
                                "bank_name": "中国银行", "interbank_code": "104191000013"}}
        self.publish("application_submitted", {
            "call": self.call_summary(), "application": application,
            "recipients": {"unit_contacts": [{"name": "王敏", "email": "hr@example.cn"}],
                           "user_ids": [creator] if creator else []}})
        return app_id

    # reading back -----------------------------------------------------------------------------------
    def scalar(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def events(self, event_type):
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY seq"),
                                {"t": event_type}).scalars().all()
        return [json.loads(r) if isinstance(r, str) else r for r in rows]

    def wait(self, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError("condition not met in time")

    def wait_candidates(self, n):
        self.wait(lambda: self.scalar("SELECT count(*) FROM candidate WHERE call_id = :c", c=self.call_id) >= n)

    def stop(self):
        self.engine.dispose()


@pytest.fixture
def rv(container_factory, service_config, web_config):
    h = ReviewHarness(container_factory, service_config, web_config)
    yield h
    h.stop()

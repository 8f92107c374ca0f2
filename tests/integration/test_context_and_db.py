"""The acting user through RPC and events; PostgreSQL does not block the eventlet hub."""
import time

import eventlet
import pytest
import sqlalchemy as sa
from nameko.rpc import RpcProxy
from nameko.testing.services import entrypoint_hook

from grassroots.context import Actor
from grassroots.db import Database, make_base
from grassroots.events import event_handler, wait_for
from grassroots.service import ServiceBase, rpc

Base = make_base()
SEEN = {}


class Inner(ServiceBase):
    name = "inner"
    db = Database(Base)

    @rpc
    def who(self):
        actor = self.current_actor()
        with self.db.transaction() as uow:
            uow.publish("asked", {"x": 1})
        return actor.to_dict()

    @rpc
    def sleep_in_db(self, seconds):
        with self.db.session() as s:
            s.execute(sa.text("SELECT pg_sleep(:s)"), {"s": seconds})
        return "slept"

    @rpc
    def quick(self):
        with self.db.session() as s:
            return s.execute(sa.text("SELECT 1")).scalar()


class Outer(ServiceBase):
    name = "outer"
    db = Database(make_base())
    inner = RpcProxy("inner")

    @rpc
    def relay_who(self):
        return self.inner.who()

    @event_handler("inner", "asked")
    def on_asked(self, envelope):
        SEEN["envelope_actor"] = envelope["actor"]
        SEEN["context_actor"] = self.current_actor(optional=True)
        SEEN["correlation_id"] = envelope["correlation_id"]


def test_a_service_authorises_by_the_originating_user_not_by_its_caller(container_factory, service_config):
    inner_cfg = service_config("inner")
    outer_cfg = service_config("outer", AMQP_URI=inner_cfg["AMQP_URI"])
    container_factory(Inner, inner_cfg).start()
    outer = container_factory(Outer, outer_cfg)
    outer.start()
    user = {"id": "u-42", "role": "programme_officer", "unit_id": None, "username": "li", "name": "李"}
    with entrypoint_hook(outer, "relay_who", context_data={"user": user, "correlation_id": "corr-1"}) as relay_who:
        seen = relay_who()
    assert seen["id"] == "u-42" and seen["role"] == "programme_officer"
    assert wait_for(lambda: "context_actor" in SEEN, timeout=10)
    assert SEEN["envelope_actor"]["id"] == "u-42"
    assert SEEN["context_actor"] == Actor.from_dict(user), "the event's consumer inherits the user as context"
    assert SEEN["correlation_id"] == "corr-1"


def test_a_call_without_a_user_is_refused(container_factory, service_config):
    cfg = service_config("inner")
    c = container_factory(Inner, cfg)
    c.start()
    from grassroots.errors import Unauthenticated
    with entrypoint_hook(c, "who") as who:
        with pytest.raises(Unauthenticated):
            who()


@pytest.mark.skipif(__import__("os").environ.get("TEST_DATABASE") == "sqlite", reason="PostgreSQL behaviour")
def test_a_slow_query_in_one_worker_does_not_stall_another(container_factory, service_config):
    c = container_factory(Inner, service_config("inner"))
    c.start()
    with entrypoint_hook(c, "sleep_in_db") as slow, entrypoint_hook(c, "quick") as quick:
        gt = eventlet.spawn(slow, 1.5)
        eventlet.sleep(0.1)   # the slow query is now running
        t0 = time.perf_counter()
        assert quick() == 1
        quick_elapsed = time.perf_counter() - t0
        assert gt.wait() == "slept"
    assert quick_elapsed < 0.5, f"quick query waited {quick_elapsed:.2f}s behind the slow one"

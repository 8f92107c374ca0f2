"""Replicas of one service on one broker: work is shared, each event handled once; a rolling restart under
load loses nothing and handles nothing twice (graceful stop finishes in-flight workers, then acks)."""
import collections

import eventlet
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.standalone.events import event_dispatcher
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import Database, make_base
from grassroots.events import event_handler, make_envelope, wait_for
from grassroots.service import ServiceBase

Base = make_base()
INVOCATIONS = collections.Counter()      # container id -> handler invocations that changed state
DUPLICATES = collections.Counter()


class Effect(Base):
    __tablename__ = "effect"
    event_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)   # a second effect would fail
    n: Mapped[int] = mapped_column(sa.Integer)


class ContainerId(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return id(self.container)


class Worker(ServiceBase):
    name = "worker"
    db = Database(Base)
    me = ContainerId()

    @event_handler("producer", "job_posted")
    def on_job(self, envelope):
        eventlet.sleep(0.005)  # a little work, so that stopping finds workers in flight
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                DUPLICATES[self.me] += 1
                return
            uow.session.add(Effect(event_id=envelope["id"], n=envelope["payload"]["n"]))
            INVOCATIONS[self.me] += 1


def effects(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT n FROM effect")).scalars().all()
    engine.dispose()
    return rows


def publish(amqp_uri, count, start=0, pace=0.0):
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    for n in range(start, start + count):
        dispatch("producer", "job_posted", make_envelope("job_posted", {"n": n}, source="producer", actor=None,
                                                         correlation_id=None))
        if pace:
            eventlet.sleep(pace)


def test_two_replicas_share_the_work_and_handle_each_event_once(container_factory, service_config):
    INVOCATIONS.clear()
    DUPLICATES.clear()
    cfg = service_config("worker", max_workers=4)
    a, b = container_factory(Worker, cfg), container_factory(Worker, cfg)   # one database, like two pods
    a.start()
    b.start()
    publish(cfg["AMQP_URI"], 400)
    assert wait_for(lambda: len(effects(cfg["DATABASE_URL"])) >= 400, timeout=60)
    eventlet.sleep(0.5)
    rows = effects(cfg["DATABASE_URL"])
    assert sorted(rows) == list(range(400))
    assert sum(INVOCATIONS.values()) == 400 and sum(DUPLICATES.values()) == 0
    assert len(INVOCATIONS) == 2 and min(INVOCATIONS.values()) > 40, f"work not shared: {dict(INVOCATIONS)}"


def test_a_rolling_restart_under_load_loses_nothing_and_handles_nothing_twice(container_factory, service_config):
    INVOCATIONS.clear()
    DUPLICATES.clear()
    cfg = service_config("worker", max_workers=4)
    replicas = [container_factory(Worker, cfg), container_factory(Worker, cfg)]
    for r in replicas:
        r.start()
    total = 600
    producer = eventlet.spawn(publish, cfg["AMQP_URI"], total, 0, 0.004)
    # Replace each replica in turn while events keep arriving (what a Deployment's rolling update does).
    for i in range(2):
        eventlet.sleep(0.6)
        fresh = container_factory(Worker, cfg)
        fresh.start()
        replicas[i].stop()      # graceful: SIGTERM in a real pod leads here
        replicas[i] = fresh
    producer.wait()
    assert wait_for(lambda: len(effects(cfg["DATABASE_URL"])) >= total, timeout=60)
    eventlet.sleep(0.5)
    rows = effects(cfg["DATABASE_URL"])
    assert sorted(rows) == list(range(total)), "an event was lost"
    assert sum(INVOCATIONS.values()) == total
    assert sum(DUPLICATES.values()) == 0, "an event was delivered again after it had been handled"
    assert len(INVOCATIONS) >= 3, f"the replacements took no work: {dict(INVOCATIONS)}"

"""Batched event handling: a burst is handled in a few transactions, each event once, a redelivered one
not at all, and one bad event is retried and dead-lettered alone while the rest of its batch goes through."""
import json
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from sqlalchemy.orm import Mapped, mapped_column

from grassroots import deadletters
from grassroots.db import Database, make_base
from grassroots.events import batch_event_handler, wait_for
from grassroots.service import ServiceBase

Base = make_base()


class Got(Base):
    __tablename__ = "got"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(50))
    batch: Mapped[str] = mapped_column(sa.String(32))


class BatchSink(ServiceBase):
    name = "bsink"
    db = Database(Base)

    @batch_event_handler("bsrc", "thing_made")
    def on_thing_made(self, envelopes):
        batch = uuid.uuid4().hex
        with self.db.transaction(handling=envelopes) as uow:
            for envelope in uow.fresh:
                if envelope["payload"]["name"] == "poison":
                    raise RuntimeError("cannot handle this one")
                uow.acting_for(envelope)
                uow.session.add(Got(event_id=envelope["id"], name=envelope["payload"]["name"], batch=batch))
                uow.publish("thing_seen", {"name": envelope["payload"]["name"]})


def envelope(name, event_id=None):
    return {"id": event_id or uuid.uuid4().hex, "type": "thing_made", "source": "bsrc",
            "occurred_at": "2026-11-30T00:00:00+00:00", "correlation_id": f"corr-{name}",
            "actor": {"id": f"user-{name}", "role": "programme_officer"}, "schema_version": 1,
            "payload": {"name": name}}


def rows(url, table="got"):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    engine.dispose()
    return out


def burst(container_factory, cfg, envelopes):
    """Publish while the consumer is stopped, then start it: the whole burst is waiting in its queue."""
    first = container_factory(BatchSink, cfg)
    first.start()
    first.stop()
    dispatch = event_dispatcher({"AMQP_URI": cfg["AMQP_URI"]})
    for env in envelopes:
        dispatch("bsrc", "thing_made", env)
    container_factory(BatchSink, cfg).start()


def test_a_burst_is_handled_once_per_event_in_few_transactions_with_each_events_own_actor(container_factory,
                                                                                            service_config):
    cfg = service_config("bsink")
    envs = [envelope(f"n{i}") for i in range(40)]
    burst(container_factory, cfg, envs + [envs[3]])           # one redelivered
    got = wait_for(lambda: (r := rows(cfg["DATABASE_URL"])) and len(r) >= 40 and r, timeout=20)
    assert sorted(r["name"] for r in got) == sorted(e["payload"]["name"] for e in envs)
    assert len({r["batch"] for r in got}) <= 20              # 40 events, max_workers 10: batches of 5
    outbox = rows(cfg["DATABASE_URL"], "outbox")
    assert len(outbox) == 40
    by_name = {json.loads(r["body"])["payload"]["name"]: r for r in outbox}
    seen = json.loads(by_name["n7"]["body"])
    assert seen["actor"]["id"] == "user-n7" and seen["correlation_id"] == "corr-n7"
    for name, row in by_name.items():   # the AMQP headers too: the consuming worker inherits each event's user
        headers = json.loads(row["headers"])
        assert json.loads(headers["nameko.user"])["id"] == f"user-{name}"
        assert headers["nameko.correlation_id"] == f"corr-{name}"


def test_a_bad_event_is_dead_lettered_alone_and_the_rest_of_its_batch_is_handled(container_factory,
                                                                                service_config):
    cfg = service_config("bsink")
    envs = [envelope("a"), envelope("poison"), envelope("b"), envelope("c")]
    burst(container_factory, cfg, envs)
    got = wait_for(lambda: (r := rows(cfg["DATABASE_URL"])) and len(r) >= 3 and r, timeout=20)
    assert sorted(r["name"] for r in got) == ["a", "b", "c"]
    dlq = "evt-bsrc-thing_made--bsink.on_thing_made.dlq"
    assert wait_for(lambda: deadletters.count(cfg["AMQP_URI"], dlq) == 1, timeout=20)
    assert len(rows(cfg["DATABASE_URL"])) == 3


@pytest.mark.parametrize("configured,batch", [(None, 25), (7, 7)])
def test_the_broker_keeps_two_batches_with_a_batch_consumer(container_factory, service_config, rabbit_manager,
                                                            configured, batch):
    """One batch is planned while the one before it commits: the consumer's prefetch is two batches, of 25
    events unless EVENT_BATCH_SIZE says otherwise."""
    from urllib.parse import unquote, urlparse
    cfg = service_config("bsink", **({"EVENT_BATCH_SIZE": configured} if configured else {}))
    container = container_factory(BatchSink, cfg)
    container.start()
    handler = next(e for e in container.entrypoints if getattr(e, "batch_size", None))
    vhost = unquote(urlparse(cfg["AMQP_URI"]).path[1:])

    def prefetch():
        details = rabbit_manager.get_queue(vhost, handler.queue.name).get("consumer_details") or []
        return details and details[0]["prefetch_count"]
    assert handler.batch_size == batch
    assert wait_for(prefetch, timeout=15, interval=0.5) == 2 * batch

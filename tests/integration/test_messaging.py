"""The outbox, the inbox, durable queues, retries and dead letters, on the real broker and database."""
import datetime as dt
import functools
import json

import eventlet
import pytest
import sqlalchemy as sa
from nameko.testing.services import entrypoint_hook
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import Database, make_base
from grassroots.events import event_handler, wait_for
from grassroots.rpc import RpcProxy
from grassroots.service import ServiceBase, rpc

SourceBase = make_base()
SinkBase = make_base()


class Thing(SourceBase):
    __tablename__ = "thing"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))


class Seen(SinkBase):
    __tablename__ = "seen"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(50))
    actor_id: Mapped[str | None] = mapped_column(sa.String(64))
    context_user: Mapped[str | None] = mapped_column(sa.String(200))


class Source(ServiceBase):
    name = "src"
    db = Database(SourceBase)

    @rpc
    def make(self, name, fail_after_publish=False):
        with self.db.transaction() as uow:
            uow.session.add(Thing(name=name))
            uow.publish("thing_made", {"name": name})
            if fail_after_publish:
                raise ValueError("boom after publish")
        return name

    @rpc
    def counted(self, calls):
        return {"value": Counted(calls)}

    @rpc
    def unserialisable(self):
        return {"value": object()}


class Counted:
    """A value that counts how often it is serialised (kombu's JSON encoder calls ``__json__``)."""
    seen: dict = {}

    def __init__(self, key):
        self.key = key

    def __json__(self):
        Counted.seen[self.key] = Counted.seen.get(self.key, 0) + 1
        return "counted"


class Sink(ServiceBase):
    name = "sink"
    db = Database(SinkBase)
    failures = {"count": 0, "fail_times": 0}

    @event_handler("src", "thing_made")
    def on_thing_made(self, envelope):
        if Sink.failures["count"] < Sink.failures["fail_times"]:
            Sink.failures["count"] += 1
            raise RuntimeError("transient failure")
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            ctx_user = None
            uow.session.add(Seen(event_id=envelope["id"], name=envelope["payload"]["name"],
                                 actor_id=(envelope.get("actor") or {}).get("id"), context_user=ctx_user))


def seen_rows(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Seen.__table__)).all()
    engine.dispose()
    return rows


def commit_outbox_row(engine, i, pad: str = ""):
    """One event in the outbox, committed as a service's transaction would (event id: ``i`` on 32 digits)."""
    body = {"id": f"{i:032d}", **({"pad": pad} if pad else {})}
    with engine.begin() as conn:
        conn.execute(SourceBase.metadata.tables["outbox"].insert().values(
            event_id=f"{i:032d}", source="src", event_type="thing_made", body=json.dumps(body), headers="{}",
            created_at=sa.func.now(), attempts=0))


@pytest.fixture
def pg_relay(service_config):
    """An outbox relay on a PostgreSQL outbox of its own (skipped elsewhere: its claim statement and its
    connection of its own are PostgreSQL's), stopped afterwards. Yields (engine, relay)."""
    from grassroots.events import OutboxRelay
    cfg = service_config("src")
    if not cfg["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("the relay's claim and its connection of its own are PostgreSQL's")
    engine = sa.create_engine(cfg["DATABASE_URL"])
    SourceBase.metadata.create_all(engine)
    relay = OutboxRelay(engine, SourceBase.metadata, cfg)
    yield engine, relay
    relay.stop()
    engine.dispose()


@pytest.fixture(autouse=True)
def reset_failures():
    Sink.failures.update(count=0, fail_times=0)


@pytest.fixture
def pair(container_factory, service_config):
    src_cfg, sink_cfg = service_config("src"), service_config("sink")
    sink_cfg["AMQP_URI"] = src_cfg["AMQP_URI"]
    sink = container_factory(Sink, sink_cfg)
    sink.start()
    src = container_factory(Source, src_cfg)
    src.start()
    return src, sink, src_cfg, sink_cfg


def test_an_event_written_in_the_transaction_reaches_the_consumer_after_commit(pair):
    src, sink, src_cfg, sink_cfg = pair
    with entrypoint_hook(src, "make", context_data={"user": {"id": "u1", "role": "programme_officer"}}) as make:
        make("alpha")
    rows = wait_for(lambda: seen_rows(sink_cfg["DATABASE_URL"]), timeout=10)
    assert [r.name for r in rows] == ["alpha"]
    assert rows[0].actor_id == "u1", "the acting user travels in the envelope"


def test_a_rolled_back_transaction_publishes_nothing(pair):
    src, sink, src_cfg, sink_cfg = pair
    with entrypoint_hook(src, "make") as make:
        with pytest.raises(ValueError):
            make("never", fail_after_publish=True)
        make("after")
    wait_for(lambda: seen_rows(sink_cfg["DATABASE_URL"]), timeout=10)
    eventlet.sleep(0.5)
    assert [r.name for r in seen_rows(sink_cfg["DATABASE_URL"])] == ["after"]


def test_a_redelivered_event_changes_nothing(pair):
    src, sink, src_cfg, sink_cfg = pair
    with entrypoint_hook(src, "make") as make:
        make("once")
    rows = wait_for(lambda: seen_rows(sink_cfg["DATABASE_URL"]), timeout=10)
    # Publish the very same envelope again, as a relay that crashed before marking its row would.
    engine = sa.create_engine(src_cfg["DATABASE_URL"])
    with engine.connect() as conn:
        body = conn.execute(sa.text("SELECT body FROM outbox")).scalar()
    engine.dispose()
    from nameko.standalone.events import event_dispatcher
    dispatch = event_dispatcher({"AMQP_URI": src_cfg["AMQP_URI"]})
    dispatch("src", "thing_made", json.loads(body))
    dispatch("src", "thing_made", json.loads(body))
    eventlet.sleep(1.0)
    assert len(seen_rows(sink_cfg["DATABASE_URL"])) == 1 == len(rows)


def test_an_event_published_while_the_consumer_is_down_waits_for_it(pair, container_factory):
    src, sink, src_cfg, sink_cfg = pair
    sink.stop()   # its durable queue stays
    with entrypoint_hook(src, "make") as make:
        make("while-down")
    eventlet.sleep(0.5)
    assert seen_rows(sink_cfg["DATABASE_URL"]) == []
    container_factory(Sink, sink_cfg).start()   # a new process of the same service
    rows = wait_for(lambda: seen_rows(sink_cfg["DATABASE_URL"]), timeout=10)
    assert [r.name for r in rows] == ["while-down"]


def test_an_event_committed_while_the_broker_is_unreachable_is_published_later(container_factory, service_config):
    cfg = service_config("src", AMQP_URI="amqp://guest:guest@127.0.0.1:1/")  # nothing listens on port 1
    # Only the relay talks to the broker here: it runs alone.
    engine = sa.create_engine(cfg["DATABASE_URL"])
    SourceBase.metadata.create_all(engine)
    from grassroots.events import OutboxRelay
    commit_outbox_row(engine, 1)
    relay = OutboxRelay(engine, SourceBase.metadata, cfg)
    with pytest.raises(Exception):
        relay.flush()
    assert relay.backlog() == 1, "an unconfirmed row stays unpublished"
    relay.amqp_uri = service_config("x")["AMQP_URI"]
    relay._close()
    assert relay.flush() == 1
    assert relay.backlog() == 0
    relay.stop()
    engine.dispose()


def test_the_relay_opens_another_database_connection_when_its_own_is_lost(pg_relay):
    """The relay keeps its claim's connection between rounds; a round on a connection the server ended fails,
    the row stays unpublished, and the next round publishes it on a new connection."""
    import psycopg2
    engine, relay = pg_relay
    commit_outbox_row(engine, 1)
    assert relay.flush() == 1
    pid = relay._claim_conn.get_backend_pid()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    commit_outbox_row(engine, 2)
    with pytest.raises(psycopg2.OperationalError):   # the driver's error: the relay goes round SQLAlchemy
        relay.flush()
    assert relay.backlog() == 1, "a failed round leaves its rows unpublished"
    assert relay.flush() == 1
    assert relay._claim_conn.get_backend_pid() != pid
    assert relay.backlog() == 0


def test_a_failing_handler_is_retried_and_then_succeeds(pair):
    src, sink, src_cfg, sink_cfg = pair
    Sink.failures["fail_times"] = 2   # EVENT_MAX_ATTEMPTS is 3 in tests
    with entrypoint_hook(src, "make") as make:
        make("flaky")
    rows = wait_for(lambda: seen_rows(sink_cfg["DATABASE_URL"]), timeout=10)
    assert [r.name for r in rows] == ["flaky"]
    assert Sink.failures["count"] == 2


def test_a_handler_that_keeps_failing_dead_letters_the_message_and_replay_brings_it_back(pair):
    src, sink, src_cfg, sink_cfg = pair
    Sink.failures["fail_times"] = 3
    with entrypoint_hook(src, "make") as make:
        make("poison")
    from grassroots import deadletters
    dlq = "evt-src-thing_made--sink.on_thing_made.dlq"
    assert wait_for(lambda: deadletters.count(src_cfg["AMQP_URI"], dlq) == 1, timeout=10)
    assert seen_rows(sink_cfg["DATABASE_URL"]) == []
    listed = deadletters.list_messages(src_cfg["AMQP_URI"], dlq)
    assert listed[0]["event_type"] == "thing_made"
    moved = deadletters.replay(src_cfg["AMQP_URI"], dlq)
    assert moved == 1
    rows = wait_for(lambda: seen_rows(sink_cfg["DATABASE_URL"]), timeout=10)
    assert [r.name for r in rows] == ["poison"]
    assert deadletters.count(src_cfg["AMQP_URI"], dlq) == 0


def test_the_declared_topology_lists_every_subscription_of_the_suite():
    from grassroots import topology
    assert topology.load() == topology.introspect(), \
        "run `python -m grassroots.topology generate` after adding or renaming an event handler"


def test_an_event_published_before_its_consumer_ever_started_is_kept(rabbit_config):
    from grassroots import topology
    from nameko.standalone.events import event_dispatcher
    subs = [{"source": "src", "event_type": "thing_made", "queue": "evt-src-thing_made--sink.on_thing_made"}]
    topology.declare_all(rabbit_config["AMQP_URI"], subscriptions=subs)
    event_dispatcher(rabbit_config)("src", "thing_made", {"id": "x" * 32, "payload": {"name": "early"}})
    from grassroots import deadletters  # reuse its passive queue count
    assert deadletters.count(rabbit_config["AMQP_URI"], "evt-src-thing_made--sink.on_thing_made") == 1


def test_rpc_replies_are_sent_without_publisher_confirms_and_requests_with(container_factory, service_config,
                                                                          monkeypatch):
    """A reply is not confirmed (the caller's timeout covers a lost one); a request still is. Replies go out
    on producers the service keeps: two replies, one connection."""
    from amqp.channel import Channel
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ServiceRpcProxy
    cfg = service_config("src")
    container = container_factory(Source, cfg)
    container.start()
    sent = []
    real_publish, real_confirmed = Channel._basic_publish, Channel.basic_publish_confirm

    def publish(channel, msg, exchange="", routing_key="", *args, **kwargs):
        sent.append(["request" if routing_key.startswith("src.") else "reply", False, id(channel.connection)])
        return real_publish(channel, msg, exchange, routing_key, *args, **kwargs)

    def confirmed(channel, *args, **kwargs):
        mine = len(sent)   # the publish about to be recorded (a reply may come in while the confirm is awaited)
        result = real_confirmed(channel, *args, **kwargs)
        sent[mine][1] = True
        return result

    monkeypatch.setattr(Channel, "_basic_publish", publish)
    monkeypatch.setattr(Channel, "basic_publish", publish)      # its alias, used where there are no confirms
    monkeypatch.setattr(Channel, "basic_publish_confirm", confirmed)
    with ServiceRpcProxy("src", {"AMQP_URI": cfg["AMQP_URI"]}) as proxy:
        assert proxy.health()["ok"] is True
        with pytest.raises(RemoteError) as err:
            proxy.make("x", fail_after_publish=True)      # an error travels back the same way
    assert err.value.exc_type == "ValueError"
    requests = [confirmed for kind, confirmed, _ in sent if kind == "request"]
    replies = [(confirmed, connection) for kind, confirmed, connection in sent if kind == "reply"]
    assert requests == [True, True], sent
    assert [confirmed for confirmed, _ in replies] == [False, False], sent
    assert len({connection for _, connection in replies}) == 1, sent


class Caller(ServiceBase):
    name = "caller"
    src = RpcProxy("src")
    nowhere = RpcProxy("nowhere")

    @rpc
    def make_there(self, name):
        return self.src.make(name)

    @rpc
    def ask_nowhere(self):
        return self.nowhere.anything()


def test_rpc_requests_and_replies_are_transient_and_events_persistent(container_factory, service_config,
                                                                      monkeypatch):
    """An RPC message is worth nothing after a broker restart, so it is not written to disk; an event is.
    Requests and replies go out on producers the services keep: two calls, one connection each way."""
    from kombu import messaging
    from nameko.exceptions import UnknownService
    src_cfg, caller_cfg = service_config("src"), service_config("caller")
    caller_cfg["AMQP_URI"] = src_cfg["AMQP_URI"]
    sent = []
    real = messaging.Producer.publish

    reply_to, connections = [], []

    def spy(self, body, routing_key=None, delivery_mode=None, *args, **kwargs):
        sent.append((routing_key, delivery_mode))
        reply_to.append(kwargs.get("reply_to"))
        connections.append(id(self.connection))
        return real(self, body, routing_key, delivery_mode, *args, **kwargs)

    monkeypatch.setattr(messaging.Producer, "publish", spy)
    container_factory(Source, src_cfg).start()
    caller = container_factory(Caller, caller_cfg)
    caller.start()
    for name in ("transient", "again"):
        with entrypoint_hook(caller, "make_there") as make_there:
            assert make_there(name) == name
    wait_for(lambda: len([mode for key, mode in sent if key == "thing_made"]) == 2, timeout=10)
    modes = dict(sent)
    assert modes["src.make"] == 1, sent                           # the request
    reply_key = reply_to[[key for key, _ in sent].index("src.make")]
    assert reply_key and modes[reply_key] == 1, sent              # its reply, routed by the request's reply_to
    assert modes["thing_made"] == 2, sent                         # the event the call committed
    requests = {conn for (key, _), conn in zip(sent, connections) if key == "src.make"}
    replies = {conn for (key, _), conn in zip(sent, connections) if key == reply_key}
    assert len(requests) == 1 and len(replies) == 1 and requests != replies, (sent, connections)
    with entrypoint_hook(caller, "ask_nowhere") as ask_nowhere:   # still confirmed: an absent service fails at once
        with pytest.raises(UnknownService):
            ask_nowhere()


def test_an_rpc_reply_is_serialised_once_and_an_unserialisable_one_is_the_callers_error(container_factory,
                                                                                       service_config):
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ServiceRpcProxy
    cfg = service_config("src")
    container = container_factory(Source, cfg)
    container.start()
    with ServiceRpcProxy("src", {"AMQP_URI": cfg["AMQP_URI"]}) as proxy:
        assert proxy.counted("one") == {"value": "counted"}
        assert Counted.seen["one"] == 1            # Nameko's own responder serialised it twice
        with pytest.raises(RemoteError) as err:
            proxy.unserialisable()
        assert err.value.exc_type == "UnserializableValueError"
        assert proxy.health()["ok"] is True        # and the service lives on


def test_an_rpc_with_the_wrong_arguments_is_refused_before_the_method_runs(container_factory, service_config):
    """The arguments are checked against the method's signature, read once per entrypoint."""
    from nameko.exceptions import IncorrectSignature
    from nameko.standalone.rpc import ServiceRpcProxy
    cfg = service_config("src")
    container = container_factory(Source, cfg)
    container.start()
    with ServiceRpcProxy("src", {"AMQP_URI": cfg["AMQP_URI"]}) as proxy:
        for _ in range(2):
            with pytest.raises(IncorrectSignature, match="too many"):   # rebuilt from the reply by Nameko
                proxy.make("a", True, "one too many")
            with pytest.raises(IncorrectSignature, match="nonsense"):
                proxy.make(name="c", nonsense=1)
        assert proxy.make(name="b") == "b"
    [entrypoint] = [e for e in container.entrypoints if e.method_name == "make"]
    assert "_signature" in entrypoint.__dict__
    engine = sa.create_engine(cfg["DATABASE_URL"])
    with engine.connect() as conn:
        made = conn.execute(sa.select(Thing.name)).scalars().all()
    engine.dispose()
    assert made == ["b"]                           # the refused calls did nothing


def test_a_batch_is_written_to_a_corked_socket_and_every_event_is_confirmed(service_config):
    """The relay holds a batch's frames (TCP_CORK) until the last is written, then lets them go; the broker
    confirms each event and the rows are marked."""
    import socket
    from grassroots.events import OutboxRelay
    cfg = service_config("src")
    engine = sa.create_engine(cfg["DATABASE_URL"])
    SourceBase.metadata.create_all(engine)
    for i in range(3):
        commit_outbox_row(engine, i)
    relay = OutboxRelay(engine, SourceBase.metadata, cfg)
    relay._get_producer()
    transport = relay._conn.connection.transport
    real, calls = transport.sock, []

    class Watched:
        def __getattr__(self, name):
            return getattr(real, name)

        def setsockopt(self, level, option, value):
            calls.append((level, option, value))
            return real.setsockopt(level, option, value)

    transport.sock = Watched()
    try:
        assert relay.flush() == 3 and relay.backlog() == 0
    finally:
        transport.sock = real
        relay._close()
        engine.dispose()
    if hasattr(socket, "TCP_CORK"):
        assert calls == [(socket.IPPROTO_TCP, socket.TCP_CORK, 1), (socket.IPPROTO_TCP, socket.TCP_CORK, 0)]


def test_the_relay_claim_walks_past_published_rows_instead_of_reading_them_all(pg_relay):
    """Each published row leaves an index entry until a vacuum. The claim must mark those it passes dead (a
    plain index scan does, a bitmap scan never does): after 300 events published one by one, the next claim
    reads a few index pages, not the 300 rows' heap pages again."""
    engine, relay = pg_relay
    # one connection of its own per replica, as deploy/README.md counts
    assert (relay._claim_engine.pool.size(), relay._claim_engine.pool._max_overflow) == (1, 0)
    for i in range(300):
        commit_outbox_row(engine, i, pad="x" * 1000)   # a kilobyte per event: they fill dozens of pages
        assert relay.flush() == 1
    conn = relay._claim_conn   # the text the relay sends, on its connection (its settings)
    with conn.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + relay._claim_sql,
                       {**relay._claim_params, "now": dt.datetime.now(dt.timezone.utc)})
        plan = cursor.fetchone()[0][0]
    conn.rollback()

    def scans(node):
        if node.get("Relation Name") == "outbox" and node.get("Alias") != "outbox":
            yield node
        for child in node.get("Plans", []):
            yield from scans(child)
    claim_scans = list(scans(plan["Plan"]))
    assert [n["Node Type"] for n in claim_scans] == ["Index Scan"], claim_scans
    assert claim_scans[0]["Shared Hit Blocks"] < 10, claim_scans[0]


def test_the_relay_pauses_only_while_commits_come_closer_together_than_its_pause_and_more_are_under_way(
        service_config):
    """A commit that comes alone is published at once; commits that follow each other within the pause share
    the next round, which waits the pause, while another transaction of the process is open; with none open
    (one client submitting in a loop) they are published at once, however close."""
    import time

    from grassroots.events import OutboxRelay
    cfg = {**service_config("src"), "OUTBOX_LINGER_SECONDS": "2", "OUTBOX_POLL_SECONDS": "30"}
    engine = sa.create_engine(cfg["DATABASE_URL"])
    SourceBase.metadata.create_all(engine)
    commit = functools.partial(commit_outbox_row, engine)

    open_transactions = {"n": 1}
    relay = OutboxRelay(engine, SourceBase.metadata, cfg, busy=lambda: open_transactions["n"] > 0)
    relay.start()
    try:
        eventlet.sleep(0.1)            # the first round found nothing; the relay waits for a wake-up
        started = time.monotonic()
        commit(1)
        relay.wake()                   # alone: published without the 2 s pause
        assert wait_for(lambda: relay.backlog() == 0, timeout=1.5)
        assert time.monotonic() - started < 1.5
        commit(2)
        commit(3)
        relay.wake()                   # two commits' wake-ups a moment apart (no yield between them)
        relay.wake()
        eventlet.sleep(0.8)
        assert relay.backlog() == 2    # the round waits the pause...
        assert wait_for(lambda: relay.backlog() == 0, timeout=5)   # ...and then takes both
        open_transactions["n"] = 0
        started = time.monotonic()
        commit(4)
        relay.wake()
        commit(5)
        relay.wake()                   # as close together, but nothing else under way: no pause
        assert wait_for(lambda: relay.backlog() == 0, timeout=1.5)
        assert time.monotonic() - started < 1.5
    finally:
        relay.stop()
        engine.dispose()

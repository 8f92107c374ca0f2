"""Database per service: SQLAlchemy 2 base, engine, and the unit-of-work dependency with outbox and inbox.

Each service declares ``class Base(grassroots.db.ServiceBase)`` style models through ``make_base()``; the
returned base already holds the ``outbox`` and ``inbox`` tables, so they live in the service's own database
and its own migrations.

The ``Database`` dependency gives every worker a ``UnitOfWork`` factory. Commit happens inside the
entrypoint (``with self.db.transaction() as uow``), never in ``worker_result``: Nameko calls that after the
RPC reply or the event ack, which would give callers stale reads and kill the container on a failed commit.

Usage:
    Base = make_base()
    class Application(Base): ...

    class IntakeService:
        db = Database(Base)
        @rpc
        def submit(self, application_id):
            with self.db.transaction() as uow:
                app = uow.session.get(Application, application_id)
                app.status = "submitted"
                uow.publish("application_submitted", {...})   # written in the same transaction
            # after commit the relay publishes it with publisher confirms

        @event_handler("intake", "application_submitted")
        def on_submitted(self, envelope):
            with self.db.transaction(handling=envelope) as uow:
                if uow.duplicate:              # redelivered: already handled, nothing changes
                    return
                ...
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid

import sqlalchemy as sa
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .context import Actor, correlation_id_of
from .events import make_envelope
from .pgtx import PreparedOff, TxConnection

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


def make_base():
    """A fresh declarative base with our naming convention and the outbox/inbox tables."""

    class Base(DeclarativeBase):
        metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    sa.Table(
        "outbox", Base.metadata,
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False, unique=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Index("ix_outbox_unpublished", "published_at", "seq"),
    )
    sa.Table(
        "inbox", Base.metadata,
        sa.Column("event_id", sa.String(32), primary_key=True),
        sa.Column("consumer", sa.String(120), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("handled_at", UtcDateTime, nullable=False),
    )
    return Base


def create_engine(url: str | sa.URL, pool_size: int = 10, settings: dict[str, str] | None = None,
                  max_overflow: int | None = None, prepared_statements: bool = True) -> sa.Engine:
    """The service's engine: ``pool_size`` connections kept, as many again (or ``max_overflow``) opened under load;
    ``settings`` are PostgreSQL parameters every connection of this engine starts with (added to any ``options``
    the URL carries); ``prepared_statements`` (PostgreSQL): statements run often are prepared per connection
    (``grassroots.pgtx``; off behind a pooler in transaction mode)."""
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # pysqlite would issue its own deferred BEGIN; let the "begin" listener below own it.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # Writers take the write lock at BEGIN (no deadlock upgrading read locks); readers stay deferred,
        # which in WAL mode never blocks. Within a process, writers also queue on a green lock (see
        # Database.write_lock), because SQLite's busy-wait would block the eventlet hub.
        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")

        return engine
    # values_plus_batch: an ORM flush of many UPDATEs is one round trip per page, not one per row
    options: dict = {}
    pgtx = url.get_backend_name() == "postgresql" and "psycopg2" in url.get_driver_name()
    if pgtx:
        # transaction control sent with the statements (grassroots.pgtx), not in round trips of its own
        options["connect_args"] = {"connection_factory": TxConnection if prepared_statements else PreparedOff}
        options["executemany_mode"] = "values_plus_batch"
        options["use_native_hstore"] = False   # no hstore here: spares a catalogue query per new connection
    if settings:
        given = url.query.get("options")
        given = " ".join(given) if isinstance(given, tuple) else given
        url = url.difference_update_query(["options"])
        options.setdefault("connect_args", {})["options"] = " ".join(
            ([given] if given else []) + [f"-c {name}={value}" for name, value in settings.items()])
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size if max_overflow is None else max_overflow,
                              pool_recycle=1800, **options)
    if pgtx:
        sa.event.listen(engine, "before_cursor_execute", _send_ahead)
    _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def _send_ahead(conn, cursor, statement, parameters, context, executemany):
    """The ``send_ahead`` execution option: the statement travels with the connection's next one
    (``grassroots.pgtx``, "Statements sent ahead"); see ``UnitOfWork.execute_ahead``."""
    if context is not None and not executemany and context.execution_options.get("send_ahead"):
        cursor.send_ahead = True


#: A pooled connection idle for longer than this is tested with ``SELECT 1`` before use.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Test a pooled connection before use only when it has been idle a while.

    ``pool_pre_ping`` would cost one round trip on every checkout: under the event benchmark that was a
    third of notify's time. A connection in steady use is proven by its last statement; one that sat idle
    (across a database restart, a failover, a firewall's idle timeout) is pinged, and a dead one is
    replaced transparently (``DisconnectionError`` makes the pool retry with a new connection). A restart
    within the last few seconds of traffic surfaces as one failed statement, after which SQLAlchemy
    invalidates the whole pool; event handlers retry it, and an RPC caller gets a retryable error.
    """
    import time

    @sa.event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # any failure means this connection is unusable
            raise sa.exc.DisconnectionError(str(exc)) from exc



class UnitOfWork:
    """One transaction: ``session`` for state, ``publish`` for events written to the outbox."""

    def __init__(self, session: Session, source: str, actor: Actor | None, correlation_id: str | None,
                 headers: dict):
        self.session = session
        self.source = source
        self.actor = actor
        self.correlation_id = correlation_id
        self._headers = headers
        self._headers_json: str | None = None   # serialised once per actor, not once per event
        self.events: list[dict] = []
        self._outbox_rows: list[dict] = []
        self.duplicate = False
        self.fresh: list[dict] = []          # with a batch of envelopes: those not handled before
        self._headers_for = None             # (actor, correlation_id) -> outbox headers

    def acting_for(self, envelope: dict) -> None:
        """In a batch: events published from now on carry this envelope's actor and correlation id."""
        from .context import Actor as _Actor
        actor = _Actor.from_dict(envelope["actor"]) if envelope.get("actor") else self.actor
        self.actor, self.correlation_id = actor, envelope.get("correlation_id") or self.correlation_id
        if self._headers_for is not None:
            self._headers = self._headers_for(self.actor, self.correlation_id)
            self._headers_json = None

    def publish(self, event_type: str, payload: dict, schema_version: int = 1) -> dict:
        """Queue an event for the outbox; the rows are written together just before the commit."""
        envelope = make_envelope(event_type, payload, source=self.source, actor=self.actor,
                                 correlation_id=self.correlation_id, schema_version=schema_version)
        if self._headers_json is None:
            self._headers_json = json.dumps(self._headers, ensure_ascii=False, default=str)
        self._outbox_rows.append(dict(
            event_id=envelope["id"], source=self.source, event_type=event_type,
            body=json.dumps(envelope, ensure_ascii=False, default=str),
            headers=self._headers_json,
            created_at=utcnow(), attempts=0))
        self.events.append(envelope)
        return envelope

    def execute_ahead(self, statement, params: dict | None = None) -> None:
        """Run a Core statement whose result, row count and error the caller does not need apart (a lock taken
        before a read, an UPDATE before the last write): on PostgreSQL it travels with the transaction's next
        statement, in its round trip (``grassroots.pgtx``), and its error is raised there; elsewhere it runs
        now. Either way it runs before every statement issued after it, in this transaction."""
        self.session.connection().execute(statement, params or {}, execution_options={"send_ahead": True})

    def flush_outbox(self, commit: bool = False) -> None:
        """Write the queued events in one statement (one round trip however many events). With ``commit``,
        the last write of the transaction: the session's pending changes are flushed first, and on
        PostgreSQL the insert carries the ``COMMIT`` (``grassroots.pgtx``); the session's own commit, which
        must follow at once, then costs nothing."""
        if self._outbox_rows:
            if commit:
                self.session.flush()
            insert_many(self.session, outbox_of(self.session), self._outbox_rows, commit=commit)
            self._outbox_rows = []

    def mark_handled(self, envelope: dict, consumer: str) -> bool:
        """Record the event in the inbox; False if this consumer already handled it (redelivery)."""
        return bool(self.mark_handled_many([envelope], consumer))

    def mark_handled_many(self, envelopes: list[dict], consumer: str) -> list[dict]:
        """Record a batch in the inbox in one statement; returns the envelopes this consumer had not handled
        before, in order (an event twice in the batch counts once)."""
        now, first = utcnow(), {}
        for envelope in envelopes:
            first.setdefault(envelope["id"], envelope)
        rows = [dict(event_id=i, consumer=consumer, event_type=e.get("type", "?"), handled_at=now)
                for i, e in first.items()]
        new = set(insert_ignore_many(self.session, inbox_of(self.session), rows, conflict=("event_id", "consumer"),
                                     returning="event_id"))
        return [e for i, e in first.items() if i in new]


MANY_CHUNK = 100


def insert_ignore_many(session: Session, table: sa.Table, rows: list[dict], conflict: tuple[str, ...] = (),
                       returning: str | tuple[str, ...] | None = None) -> list:
    """``INSERT ... ON CONFLICT [(cols)] DO NOTHING [RETURNING col]`` for ``rows`` (one or many; one multi-row
    statement per ``MANY_CHUNK`` rows): rows already there, or twice in the batch, are skipped. Returns the
    ``returning`` column of the rows actually inserted (a tuple of columns: a tuple per row). The same text
    runs on PostgreSQL and SQLite (3.35+), cached (SQLAlchemy 2.0 does not cache the compiled form of the
    dialects' ``on_conflict_do_nothing``). ``rows`` carry every column (``row_params`` fills column defaults)."""
    return insert_many(session, table, rows, conflict=conflict, returning=returning)


_INSERT_MANY: dict[tuple, tuple] = {}


def insert_many(session: Session, table: sa.Table, rows: list[dict], *, conflict: tuple[str, ...] | None = None,
                returning: str | tuple[str, ...] | None = None, commit: bool = False) -> list:
    """Insert ``rows`` (dicts with the same keys: the columns written) in one multi-row statement per
    ``MANY_CHUNK`` rows; with ``conflict`` (a tuple, possibly empty) rows that collide are skipped
    (``ON CONFLICT ... DO NOTHING``). Returns the ``returning`` column of the rows inserted (for a tuple of
    columns, a tuple per row).

    Runs as driver SQL with positional parameters, each value passed through its column type's bind
    processor (time zones, JSON), on PostgreSQL and SQLite alike: SQLAlchemy's compiled path costs twice the
    CPU for the same statement (its per-parameter bookkeeping was the largest part of notify's inserts), and
    caching the SQL text per row count makes the statement free to build. Statement events still fire.
    The returned values are as the driver gives them (use it for string or integer keys).

    ``commit`` (without ``returning``): the last chunk ends the transaction in the same round trip where the
    connection is a ``grassroots.pgtx.TxConnection``; elsewhere it changes nothing and the caller commits.
    """
    if not rows:
        return []
    conn = session.connection()
    dialect = conn.dialect
    names = tuple(rows[0])
    key = (table, dialect.name, names, conflict, returning)
    cached = _INSERT_MANY.get(key)
    if cached is None:
        binders = [(i, table.c[n].type._cached_bind_processor(dialect)) for i, n in enumerate(names)]
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        head = f'INSERT INTO "{table.name}" ({", ".join(chr(34) + n + chr(34) for n in names)}) VALUES '
        tail = ""
        if conflict is not None:
            tail += f" ON CONFLICT {'(' + ', '.join(conflict) + ') ' if conflict else ''}DO NOTHING"
        if returning:
            cols = (returning,) if isinstance(returning, str) else returning
            tail += " RETURNING " + ", ".join(f'"{c}"' for c in cols)
        cached = _INSERT_MANY[key] = ([(i, b) for i, b in binders if b is not None],
                                      "(" + ", ".join([mark] * len(names)) + ")", head, tail, {})
    binders, one_row, head, tail, texts = cached
    raw = conn.connection.dbapi_connection if commit and not returning else None
    committing = isinstance(raw, TxConnection)
    out: list = []
    for start in range(0, len(rows), MANY_CHUNK):
        chunk = rows[start:start + MANY_CHUNK]
        sql = texts.get(len(chunk))
        if sql is None:
            sql = texts[len(chunk)] = head + ", ".join([one_row] * len(chunk)) + tail
        params: list = []
        for row in chunk:
            values = [row[n] for n in names]
            for i, bind in binders:
                values[i] = bind(values[i])
            params.extend(values)
        last = committing and start + MANY_CHUNK >= len(rows)
        result = conn.exec_driver_sql(sql + ";COMMIT" if last else sql, tuple(params))
        if last:
            raw.committed_by_statement()
        if isinstance(returning, str):
            out.extend(r[0] for r in result)
        elif returning:
            out.extend(tuple(r) for r in result)
    return out


def row_params(table: sa.Table, values: dict) -> dict:
    """``values`` completed with each missing column's scalar default (or None), for ``insert_ignore_many``."""
    out = {}
    for c in table.columns:
        if c.name in values:
            out[c.name] = values[c.name]
        elif c.default is not None and c.default.is_scalar:
            out[c.name] = c.default.arg
        elif c.default is not None and c.default.is_callable:
            out[c.name] = c.default.arg(None)
        else:
            out[c.name] = None
    return out


def outbox_of(session: Session) -> sa.Table:
    return session.info["metadata"].tables["outbox"]


def inbox_of(session: Session) -> sa.Table:
    return session.info["metadata"].tables["inbox"]


class DatabaseHandle:
    """What a worker gets: transactions (read-write with outbox) and read-only sessions."""

    def __init__(self, provider: "Database", worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    @property
    def engine(self) -> sa.Engine:
        return self._provider.engine

    @contextlib.contextmanager
    def session(self):
        """A read-only session; closing ends its transaction and leaves loaded objects readable."""
        session = self._provider.read_sessionmaker()
        try:
            yield session
        finally:
            session.close()

    @contextlib.contextmanager
    def transaction(self, handling: dict | list[dict] | None = None, consumer: str | None = None):
        """Commit on success, roll back on error; with ``handling`` (an envelope, or a batch of them) each
        event goes into the inbox first: ``uow.fresh`` lists those not handled before, ``uow.duplicate`` says
        none is new."""
        from .events import headers_for_outbox
        ctx = self._worker_ctx
        actor = Actor.from_worker(ctx)
        first = handling[0] if isinstance(handling, list) and handling else \
            (handling if isinstance(handling, dict) else None)
        if first is not None and actor is None and first.get("actor"):
            actor = Actor.from_dict(first["actor"])
        correlation_id = (first or {}).get("correlation_id") or correlation_id_of(ctx)
        session = self._provider.sessionmaker()
        lock = self._provider.write_lock
        if lock is not None:
            lock.acquire()
        self._provider.open_transactions += 1
        uow = UnitOfWork(session, self._provider.source, actor, correlation_id,
                         headers_for_outbox(ctx, actor, correlation_id))
        try:
            uow._headers_for = lambda a, c: headers_for_outbox(ctx, a, c)
            with session.begin():
                if handling is not None:
                    name = consumer or f"{ctx.service_name}.{ctx.entrypoint.method_name}"
                    batch = handling if isinstance(handling, list) else [handling]
                    uow.fresh = uow.mark_handled_many(batch, name)
                    fresh = {id(e) for e in uow.fresh}
                    for envelope in batch:
                        if id(envelope) not in fresh:
                            self._provider.on_duplicate(envelope)
                    uow.duplicate = not uow.fresh
                yield uow
                uow.flush_outbox(commit=True)
        finally:
            self._provider.open_transactions -= 1
            session.close()
            if lock is not None:
                lock.release()
        if uow.events:
            self._provider.events_committed(len(uow.events))


class Database(DependencyProvider):
    """Engine per service container; ``self.db`` in a worker is a ``DatabaseHandle``."""

    def __init__(self, base, source: str | None = None):
        self.base = base
        self.source = source
        self.engine = None
        self.sessionmaker = None
        self.read_sessionmaker = None
        self.write_lock = None
        self.relay = None
        self.open_transactions = 0   # units of work under way in this process (the relay's pause reads it)

    def setup(self):
        cfg = self.container.config
        self.source = self.source or self.container.service_name
        url = cfg.get("DATABASE_URL") or "sqlite://"
        self.engine = create_engine(url, pool_size=int(cfg.get("max_workers", 10)) + 2,
                                    prepared_statements=cfg.get("PG_PREPARED_STATEMENTS", True))
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False,
                                         info={"metadata": self.base.metadata})
        self.read_sessionmaker = sessionmaker(bind=self.engine.execution_options(read_only=True),
                                              expire_on_commit=False, info={"metadata": self.base.metadata})
        # SQLite allows one writer; queue writers on a green lock rather than in SQLite's blocking busy-wait.
        self.write_lock = Semaphore(1) if self.engine.dialect.name == "sqlite" else None
        if cfg.get("DATABASE_CREATE_ALL"):
            self.base.metadata.create_all(self.engine)
        from .events import OutboxRelay
        self.relay = OutboxRelay(self.engine, self.base.metadata, cfg, write_lock=self.write_lock,
                                 service=self.source, busy=lambda: self.open_transactions > 0)

    def start(self):
        self.relay.start(self.container)

    def stop(self):
        self.relay.stop()
        self.engine.dispose()

    def kill(self):
        self.relay.stop()

    def get_dependency(self, worker_ctx):
        return DatabaseHandle(self, worker_ctx)

    def events_committed(self, count: int):
        self.relay.wake()

    def on_duplicate(self, envelope):
        from .metrics import INBOX_DUPLICATES
        INBOX_DUPLICATES.labels(self.source, envelope.get("type", "?")).inc()

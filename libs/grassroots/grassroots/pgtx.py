"""psycopg2 connections whose transaction control rides on the statements: no round trip of its own.

psycopg2 opens a transaction by sending ``BEGIN`` alone before the first statement, and ends it with
``COMMIT`` or ``ROLLBACK`` alone: on a submission (lock, read, update, outbox insert) those are two of six
round trips to the server. ``TxConnection`` keeps psycopg2's behaviour as callers see it (a transaction starts
implicitly with the first statement; ``commit()`` and ``rollback()`` end it; SQLAlchemy drives it exactly as
a plain connection) but sends ``BEGIN`` in the same query string as the first statement, and lets the unit of
work send its last statement and ``COMMIT`` together (``committed_by_statement``).

How: the driver connection runs in psycopg2's autocommit mode, so psycopg2 itself never sends ``BEGIN``;
this class sends it, ahead of the first statement after a commit or a rollback (every cursor of the connection
goes through it, SQLAlchemy's and raw ones alike). PostgreSQL runs a query string of several statements in
order and stops at the first error, which leaves the transaction open and failed until the ``ROLLBACK`` that
``rollback()`` sends, as before. After ``committed_by_statement`` the transaction is over: any further statement
before ``commit()``/``rollback()`` is refused (it would otherwise run outside the transaction).

Only the round trips go: the server runs the same BEGIN, statements and COMMIT, in the same order.

Prepared statements: a statement text run ``prepare_after`` times on a connection is prepared on the server
(``PREPARE``) and from then on sent as ``EXECUTE name(values)``: the server parses and plans it once per
connection instead of on every call (planning the submission's locking read cost 0.25 ms of its 0.5). The
values are still interpolated by psycopg2, as before; the server coerces each to the type it inferred for the
parameter from the statement. A statement is prepared outside any transaction, in a round trip of its own at
the start of the connection's next transaction (once per connection and statement), so a statement the server
refuses to prepare (a parameter whose type it cannot infer) harms nothing and simply stays unprepared. Only
single SELECT/INSERT/UPDATE/DELETE/WITH statements from ``str`` queries with psycopg2's placeholders are
prepared (a unit of work's ``;COMMIT`` stays outside), never those of named (server-side) cursors; at most
``MAX_PREPARED`` per connection. ``PreparedOff`` (``PG_PREPARED_STATEMENTS=off``) never prepares: for a
pooler that does not keep a server connection per client connection (PgBouncer in transaction mode).

Statements sent ahead: a statement whose result the caller does not need (a lock taken before a read, an UPDATE
before the unit of work's last write) can wait for the next statement and travel in its query string, in order,
one round trip for both (``TxCursor.send_ahead``; SQLAlchemy's ``send_ahead`` execution option sets it, see
``grassroots.db``). Each statement of a query string still gets its own snapshot under READ COMMITTED, so a read
sent after a lock sees what the lock's previous holder committed. What the caller gives up: the statement's
result and row count, and its error, which is raised by the statement it travelled with (the transaction fails
either way). A transaction rolled back before the next statement never sends it; ``commit()`` sends what is
still waiting together with the ``COMMIT``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import psycopg2
import psycopg2.errors
import psycopg2.extensions as ext


class TransactionEnded(psycopg2.InterfaceError):
    """A statement after ``committed_by_statement`` and before the caller's ``commit()``: a programming error."""


_MARK = re.compile(r"%\((\w+)\)s|%s|%%|%")
_PREPARABLE = ("select", "insert", "update", "delete", "with")
_COMMIT = ";COMMIT"


def server_form(sql: str, vars) -> tuple[str, str] | None:
    """``sql`` with psycopg2's placeholders as the server's ``$n`` parameters, and the argument list of its
    ``EXECUTE`` with the same placeholders (a name used twice is one parameter); None for what is not one
    preparable statement."""
    head = sql.lstrip()[:7].lower()
    if not head.startswith(_PREPARABLE) or ";" in sql or "$" in sql:
        return None
    if not vars:
        # psycopg2 sends the text as it is, without turning %% into % (or formats it with nothing)
        return (sql, "") if "%" not in sql else None
    named = isinstance(vars, Mapping)
    out, args, index, last = [], [], {}, 0
    for m in _MARK.finditer(sql):
        out.append(sql[last:m.start()])
        last = m.end()
        token, name = m.group(0), m.group(1)
        if token == "%%":
            out.append("%")
        elif token == "%" or (name is not None) != named:
            return None        # psycopg2 refuses it: leave the error to it
        elif name is not None:
            if name not in index:
                args.append(f"%({name})s")
                index[name] = len(args)
            out.append(f"${index[name]}")
        else:
            args.append("%s")
            out.append(f"${len(args)}")
    out.append(sql[last:])
    return "".join(out), ("(" + ", ".join(args) + ")") if args else ""


_STALE_PLAN = "cached plan must not change result type"


class TxCursor(ext.cursor):
    send_ahead = False   # set on a cursor: its next execute() waits for the connection's next statement

    def execute(self, query, vars=None):
        conn = self.connection
        preparable = conn.prepare_after and self.name is None and isinstance(query, str)
        if self.send_ahead and self.name is None and isinstance(query, str):
            self.send_ahead = False
            conn._check_open()
            sent = conn._prepared_text(query, vars) if preparable else query
            conn._ahead.append(sent if vars is None else self.mogrify(sent, vars).decode(conn._codec))
            if sent is not query:
                conn._ahead_prepared.append(query)
            return None
        sent = conn._prepared_text(query, vars) if preparable else query
        if preparable and sent is query and query[:10].lower() == "deallocate":
            conn.forget_prepared()
        try:
            return super().execute(conn._with_begin(self, sent, vars), vars)
        except psycopg2.errors.FeatureNotSupported as exc:
            # A migration changed the type of a column a prepared statement returns (this one, or one sent
            # ahead with it): this transaction has failed, as it would have had the change come while it ran;
            # the statements run unprepared from the next one on (the caller's retry, the event's redelivery).
            if _STALE_PLAN in str(exc):
                for stale in ([query] if sent is not query else []) + conn._sent_ahead_prepared:
                    conn._texts[stale] = None
            raise

    def executemany(self, query, vars_list):
        self.connection._begin_alone(self)
        return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        self.connection._begin_alone(self)
        return super().callproc(procname, parameters)

    def copy_expert(self, sql, file, size=8192):
        self.connection._begin_alone(self)
        return super().copy_expert(sql, file, size)

    def copy_from(self, *args, **kwargs):
        self.connection._begin_alone(self)
        return super().copy_from(*args, **kwargs)

    def copy_to(self, *args, **kwargs):
        self.connection._begin_alone(self)
        return super().copy_to(*args, **kwargs)


class TxConnection(ext.connection):
    """A psycopg2 connection with psycopg2's transaction semantics and none of its transaction round trips
    (see the module's text). Use as ``psycopg2.connect(dsn, connection_factory=TxConnection)``."""

    prepare_after = 3      # runs of one statement text on this connection before it is prepared; 0: never
    MAX_PREPARED = 200     # prepared statements per connection
    MAX_COUNTED = 2000     # statement texts counted per connection (texts seen once are most of them)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.autocommit = True        # psycopg2 sends no BEGIN of its own; this class does
        self.cursor_factory = TxCursor
        self._in_tx = False           # a BEGIN has been sent and no COMMIT/ROLLBACK since
        self._ended = False           # committed by committed_by_statement; the caller's commit() is still due
        self._texts: dict[str, int | str | None] = {}   # query -> runs so far, its EXECUTE text, or None: never
        self._names: dict[str, str] = {}    # server-side statement text -> prepared statement's name
        self._due: list[tuple] = []          # (query, server text, EXECUTE arguments, suffix) to prepare
        self._ahead: list[str] = []          # statements sent ahead: final text, waiting for the next statement
        self._ahead_prepared: list[str] = []          # the queries of those sent as EXECUTE
        self._sent_ahead_prepared: list[str] = []     # the same, for the statement being sent now
        self._codec = ext.encodings.get(self.encoding, "utf-8")

    # -- prepared statements ----------------------------------------------------------------------------
    def _prepared_text(self, query: str, vars) -> str:
        """What to send for ``query``: its ``EXECUTE`` once prepared, else the query (counting its runs)."""
        if self._due and not self._in_tx and not self._ended:
            self._prepare_due()
        seen = self._texts.get(query, 0)
        if isinstance(seen, str):
            return seen
        if seen is None:
            return query
        if seen == 0 and len(self._texts) >= self.MAX_COUNTED:
            return query
        seen += 1
        self._texts[query] = seen
        if seen == self.prepare_after:
            body, suffix = (query[:-len(_COMMIT)], _COMMIT) if query.endswith(_COMMIT) else (query, "")
            form = server_form(body, vars)
            if form is None:
                self._texts[query] = None
            else:
                self._due.append((query, *form, suffix))   # prepared outside a transaction: see the module
        return query

    def _prepare_due(self) -> None:
        due, self._due = self._due, []
        for query, text, args, suffix in due:
            name = self._names.get(text)
            if name is None:
                if len(self._names) >= self.MAX_PREPARED:
                    self._texts[query] = None
                    continue
                name = f"gr_{len(self._names) + 1}"
                try:
                    with super().cursor(cursor_factory=ext.cursor) as cur:
                        cur.execute(f"PREPARE {name} AS {text}")
                except psycopg2.Error:
                    if self.closed:
                        raise
                    self._texts[query] = None   # e.g. a parameter whose type the server cannot infer
                    continue
                self._names[text] = name
            self._texts[query] = f"EXECUTE {name}{args}{suffix}"

    def forget_prepared(self) -> None:
        """After ``DEALLOCATE`` on this connection: prepare again from scratch. (``DISCARD ALL`` cannot run here:
        it refuses a transaction block, and every statement of this connection runs in one.)"""
        self._texts.clear()
        self._names.clear()
        self._due.clear()
        self._ahead_prepared.clear()

    def set_isolation_level(self, level):
        # psycopg2 would switch autocommit off and send its own BEGIN, beside this class's
        raise psycopg2.NotSupportedError("TxConnection runs every transaction at the server's default isolation "
                                         "level; use a plain psycopg2 connection for another one")

    def set_session(self, *args, **kwargs):
        raise psycopg2.NotSupportedError("TxConnection keeps psycopg2's session characteristics at their defaults")

    # -- the transaction's start ------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._ended:
            raise TransactionEnded("the transaction was committed with its last statement; "
                                   "call commit() or rollback() before the next statement")

    def _with_begin(self, cursor, query, vars=None):
        self._check_open()
        if self._ahead and (cursor.name is not None or not isinstance(query, str)):
            self._begin_alone(cursor)   # a named cursor's DECLARE or a Composable: what waits goes alone first
        ahead = ""
        self._sent_ahead_prepared = []
        if self._ahead:
            ahead, self._ahead = ";".join(self._ahead) + ";", []
            self._sent_ahead_prepared, self._ahead_prepared = self._ahead_prepared, []
            if vars is not None:
                ahead = ahead.replace("%", "%%")   # the query string is formatted once more with the values
        if self._in_tx:
            return ahead + query if ahead else query
        if isinstance(query, (str, bytes)):
            self._in_tx = True
            return ("BEGIN;" + ahead if isinstance(query, str) else b"BEGIN;") + query
        self._begin_alone(cursor)     # a psycopg2.sql.Composable: sent as it is, after its own BEGIN
        return query

    def _begin_alone(self, cursor) -> None:
        self._check_open()
        ahead, self._ahead, self._ahead_prepared = self._ahead, [], []
        if not self._in_tx:
            self._in_tx = True
            ext.cursor.execute(cursor, ";".join(["BEGIN", *ahead]))
        elif ahead:
            ext.cursor.execute(cursor, ";".join(ahead))

    # -- its end ----------------------------------------------------------------------------------------
    def _end(self, command: str) -> None:
        ahead, self._ahead, self._ahead_prepared = self._ahead, [], []
        if ahead and command == "COMMIT":
            # statements still waiting are sent with the COMMIT (a ROLLBACK drops them unsent)
            command = ";".join([*([] if self._in_tx else ["BEGIN"]), *ahead, command])
            self._in_tx = True
        if self._in_tx:
            # whatever the outcome, the server's transaction is over (a failed COMMIT rolls back) or the
            # connection is broken, and SQLAlchemy invalidates it
            self._in_tx = False
            with super().cursor(cursor_factory=ext.cursor) as cur:
                cur.execute(command)

    def commit(self):
        if self._ended:
            self._ended = False
            return
        self._end("COMMIT")

    def rollback(self):
        if self._ended:        # already committed: nothing to roll back
            self._ended = False
            return
        self._end("ROLLBACK")

    def committed_by_statement(self) -> None:
        """The statement just run ended with ``;COMMIT`` (the unit of work's last write): the transaction is
        over. The caller's ``commit()`` that follows costs nothing; a statement before it raises
        ``TransactionEnded``. (Had that statement failed, the transaction would still be open and failed, and
        ``rollback()`` ends it: call this only after success.)"""
        self._in_tx = False
        self._ended = True


class PreparedOff(TxConnection):
    """``TxConnection`` that never prepares a statement (``PG_PREPARED_STATEMENTS=off``)."""

    prepare_after = 0

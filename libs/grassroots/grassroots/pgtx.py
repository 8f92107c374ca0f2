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
"""
from __future__ import annotations

import psycopg2
import psycopg2.extensions as ext


class TransactionEnded(psycopg2.InterfaceError):
    """A statement after ``committed_by_statement`` and before the caller's ``commit()``: a programming error."""


class TxCursor(ext.cursor):
    def execute(self, query, vars=None):
        return super().execute(self.connection._with_begin(self, query), vars)

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.autocommit = True        # psycopg2 sends no BEGIN of its own; this class does
        self.cursor_factory = TxCursor
        self._in_tx = False           # a BEGIN has been sent and no COMMIT/ROLLBACK since
        self._ended = False           # committed by committed_by_statement; the caller's commit() is still due

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

    def _with_begin(self, cursor, query):
        self._check_open()
        if self._in_tx:
            return query
        if isinstance(query, (str, bytes)):
            self._in_tx = True
            return ("BEGIN;" if isinstance(query, str) else b"BEGIN;") + query
        self._begin_alone(cursor)     # a psycopg2.sql.Composable: sent as it is, after its own BEGIN
        return query

    def _begin_alone(self, cursor) -> None:
        self._check_open()
        if not self._in_tx:
            self._in_tx = True
            ext.cursor.execute(cursor, "BEGIN")

    # -- its end ----------------------------------------------------------------------------------------
    def _end(self, command: str) -> None:
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

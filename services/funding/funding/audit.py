"""The audit trail in the database: append a record in the transaction of the change it records, stream
the chain through the verifier, and sign checkpoints of its head.

The encoding and hashing live in ``funding.domain.audit``; this module only reads and writes rows.

Appending takes the chain head under a lock so that two writers never fork the chain: on PostgreSQL the
transaction-level advisory lock of ``funding_audit_lock_head()`` (installed by the migration from
``sql/ledger_guards.sql``), on SQLite the database's single writer lock that every transaction holds.

Usage (inside ``with self.db.transaction() as uow``)::

    audit.append(uow.session, actor, "disbursement_approved", "disbursement", d.id,
                 reason="第一批拨付", data={"amount": "50000.00"}, budget_id=d.budget_id)
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots.db import utcnow
from grassroots.logging import get_logger

from .domain import audit as chain
from .models import AuditCheckpoint, AuditRecord

log = get_logger("funding.audit")

_PG_HEAD_SQL = sa.text("SELECT seq, hash FROM funding_audit_lock_head()")
# Used only when the guards are missing (a database built with create_all): same lock key as the function.
_PG_LOCK_SQL = sa.text("SELECT pg_advisory_xact_lock(hashtext('funding.audit_record'))")
_has_lock_function: dict[int, bool] = {}


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


def guards_installed(session: Session) -> bool:
    """True when the PostgreSQL guards (sql/ledger_guards.sql) are in this database."""
    bind = session.get_bind()
    key = id(bind)
    if key not in _has_lock_function:
        _has_lock_function[key] = bool(session.execute(
            sa.text("SELECT to_regprocedure('funding_audit_lock_head()') IS NOT NULL")).scalar())
        if not _has_lock_function[key]:
            log.warning("funding_guards_missing", hint="apply the funding migration; the database does not "
                                                       "enforce balance, immutability and budgets")
    return _has_lock_function[key]


def lock_head(session: Session) -> Head | None:
    """The chain head, locked until the transaction ends (None for an empty chain)."""
    if session.get_bind().dialect.name == "postgresql":
        if guards_installed(session):
            seq, head = session.execute(_PG_HEAD_SQL).one()
            return Head(int(seq), head) if seq else None
        session.execute(_PG_LOCK_SQL)
    row = session.execute(sa.select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc())
                          .limit(1)).first()
    return Head(int(row.seq), row.hash) if row else None


def append(session: Session, actor, action: str, entity: str, entity_id: Any, *, reason: str = "",
           data: Any = None, budget_id: str | None = None, at: dt.datetime | None = None) -> chain.AuditRecord:
    """Write the next record (who: ``actor``; when: now; what: action/entity/data; why: reason)."""
    head = lock_head(session)
    rec = chain.append(head, at=at or utcnow(), actor_id=str(actor.id), actor_role=str(actor.role), action=action,
                       entity=entity, entity_id=str(entity_id), reason=reason or "", data=data)
    session.add(AuditRecord(seq=rec.seq, at=dt.datetime.fromisoformat(rec.at.replace("Z", "+00:00")),
                            actor_id=rec.actor_id, actor_role=rec.actor_role, action=rec.action, entity=rec.entity,
                            entity_id=rec.entity_id, reason=rec.reason, data=rec.data, prev_hash=rec.prev_hash,
                            hash=rec.hash, budget_id=budget_id))
    session.flush()
    return rec


_AT_TEXT = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def chain_rows(session: Session, start_seq: int = 1, batch: int = 20000):
    """The records from ``start_seq`` in seq order, in bounded windows.

    On PostgreSQL each window is one ``COPY (SELECT ...) TO STDOUT`` (text format), with ``at`` as its
    canonical text made by SQL: several times the rows per second of a cursor, which is what lets
    verification keep pace with the chain (see bench/bench_funding.py). Elsewhere a plain select.
    """
    if session.get_bind().dialect.name == "postgresql":
        yield from _copy_rows(session, start_seq, batch)
        return
    t = AuditRecord.__table__
    stmt = (sa.select(t.c.seq, t.c.at, t.c.actor_id, t.c.actor_role, t.c.action, t.c.entity, t.c.entity_id,
                      t.c.reason, t.c.data, t.c.prev_hash, t.c.hash)
            .where(t.c.seq >= start_seq).order_by(t.c.seq).execution_options(yield_per=batch))
    for part in session.execute(stmt).partitions():
        yield from part


_ESCAPE = re.compile(r"\\(N|[0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescape_copy(field: str):
    """A field of COPY's text format: \\N is NULL; backslash escapes as PostgreSQL writes them."""
    if field == "\\N":
        return None

    def one(m):
        code = m.group(1)
        if code in _SIMPLE:
            return _SIMPLE[code]
        if code[0] == "x" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code[0].isdigit():
            return chr(int(code, 8))
        return code
    return _ESCAPE.sub(one, field)


def _canonical_at(text: str) -> str:
    """PostgreSQL's ISO output of a UTC timestamptz ("2025-01-01 08:00:00.5+00", the fraction trimmed or
    absent) as the chain's canonical text."""
    if text[-3:] == "+00" and len(text) >= 22 and text[10] == " ":
        clock = text[11:-3]
        return text[:10] + "T" + (clock + ".000000" if len(clock) == 8 else clock.ljust(15, "0")) + "Z"
    return chain.format_at(dt.datetime.fromisoformat(text))   # e.g. a year beyond 9999


def _copy_out(cursor, sql: str, buf) -> None:
    """COPY TO a buffer. psycopg2 refuses COPY while eventlet's green wait callback is installed, so the
    callback is lifted for the statement: the hub is blocked for one window (about 0.1 s for 20,000
    records), which is why windows are small and the reader yields between them."""
    import psycopg2.extensions as ext
    callback = ext.get_wait_callback()
    if callback is not None:
        ext.set_wait_callback(None)
    try:
        cursor.copy_expert(sql, buf)
    finally:
        if callback is not None:
            ext.set_wait_callback(callback)


def _copy_rows(session: Session, start_seq: int, batch: int):
    head = session.scalar(sa.select(sa.func.max(AuditRecord.seq)))
    if head is None:
        return
    cursor = session.connection().connection.dbapi_connection.cursor()
    decode = json.JSONDecoder().raw_decode   # no whitespace handling: jsonb output starts with the value
    # Timestamps leave as ISO text in UTC; turning them into the canonical text here costs a fraction of
    # what to_char costs the server (which halved the rows per second of the COPY).
    cursor.execute("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'")
    try:
        low = int(start_seq)
        while low <= head:
            buf = io.StringIO()
            # seq bounds are ints formatted here, never user input. COPY's text format splits with str.split,
            # about twice as fast as the csv reader; a line with a backslash takes the slow, exact path.
            _copy_out(cursor,
                      f"COPY (SELECT seq, at, actor_id, actor_role, action, entity, entity_id, reason, data, "
                      f"prev_hash, hash FROM audit_record WHERE seq >= {low} AND seq < {low + batch} ORDER BY seq) "
                      "TO STDOUT", buf)
            lines = buf.getvalue().split("\n")
            lines.pop()   # the text after the last newline is empty
            for line in lines:
                f = line.split("\t")
                if "\\" in line:
                    f = [_unescape_copy(x) for x in f]
                f[0] = int(f[0])
                at = f[1]
                f[1] = (at[:10] + "T" + at[11:26] + "Z" if len(at) == 29 and at[26:] == "+00"
                        else _canonical_at(at))
                f[8] = None if f[8] is None or f[8] == "\\N" else decode(f[8])[0]
                yield f   # a list in FIELDS + hash order: verify_chain's fast path
            low += batch
            time.sleep(0)   # under eventlet: let other workers run between windows
    finally:
        cursor.close()


def checkpoints(session: Session) -> list[chain.Checkpoint]:
    return [chain.Checkpoint(c.seq, c.head_hash, c.at, c.key_id, c.signature)
            for c in session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq))]


def verify(session: Session, public_keys=None) -> dict:
    """Verify the whole chain and compare it with the stored checkpoints in one pass."""
    started = utcnow()
    verdict, report = chain.verify_with_checkpoints(chain_rows(session), checkpoints(session), public_keys)
    seconds = (utcnow() - started).total_seconds()
    out = verdict.to_dict()
    out["checkpoints"] = {"ok": report.ok, "problems": list(report.problems)}
    out["seconds"] = round(seconds, 3)
    out["ok"] = verdict.ok and report.ok
    if verdict.ok and report.ok:
        out["message"] = f"审计链完整：共{verdict.checked}条记录，哈希链与已签名检查点一致"
    elif not verdict.ok:
        out["message"] = verdict.message
    else:
        out["message"] = report.problems[0]["message"]
    return out


def sign_head(session: Session, key, at: dt.datetime | None = None) -> chain.Checkpoint | None:
    """Sign the current head unless it is already signed; None when there is nothing new."""
    row = session.execute(sa.select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc())
                          .limit(1)).first()
    if row is None:
        return None
    last = session.scalar(sa.select(sa.func.max(AuditCheckpoint.seq)))
    if last is not None and last >= row.seq:
        return None
    cp = chain.sign_checkpoint(int(row.seq), row.hash, at or utcnow(), key)
    session.add(AuditCheckpoint(seq=cp.seq, head_hash=cp.head_hash, at=cp.at, key_id=cp.key_id,
                                signature=cp.signature))
    session.flush()
    return cp

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


def chain_rows(session: Session, start_seq: int = 1, batch: int = 10000):
    """The records from ``start_seq`` in order, streamed (a server-side cursor on PostgreSQL). On PostgreSQL
    ``at`` comes as its canonical text straight from SQL, which spares a datetime round trip per record."""
    t = AuditRecord.__table__
    if session.get_bind().dialect.name == "postgresql":
        at = sa.func.to_char(sa.func.timezone("UTC", t.c.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"').label("at")
    else:
        at = t.c.at
    stmt = (sa.select(t.c.seq, at, t.c.actor_id, t.c.actor_role, t.c.action, t.c.entity, t.c.entity_id, t.c.reason,
                      t.c.data, t.c.prev_hash, t.c.hash)
            .where(t.c.seq >= start_seq).order_by(t.c.seq).execution_options(yield_per=batch))
    for part in session.execute(stmt).partitions():
        yield from part


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

"""Append to and verify the hash-chained audit trail (skeleton depth; the domain module refines it)."""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from grassroots.db import utcnow

from .models import AuditRecord

GENESIS = "0" * 64


def record_hash(seq, at_iso, actor_id, actor_role, action, entity, entity_id, reason, data_json, prev_hash) -> str:
    canonical = json.dumps([seq, at_iso, actor_id, actor_role, action, entity, entity_id, reason or "",
                            data_json, prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(session, actor, action: str, entity: str, entity_id: str, data: dict, reason: str | None = None):
    # Serialise appends: take the last record under lock (PostgreSQL) so two writers never fork the chain.
    q = sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(727001)"))
    last = session.scalar(q)
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    at = utcnow()
    data_json = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    h = record_hash(seq, at.isoformat(), actor.id, actor.role, action, entity, entity_id, reason, data_json, prev)
    rec = AuditRecord(seq=seq, at=at, actor_id=actor.id, actor_role=actor.role, action=action, entity=entity,
                      entity_id=entity_id, reason=reason, data=data_json, prev_hash=prev, hash=h)
    session.add(rec)
    session.flush()
    return rec


def verify(session) -> dict:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for rec in session.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)).yield_per(5000):
        h = record_hash(rec.seq, rec.at.isoformat(), rec.actor_id, rec.actor_role, rec.action, rec.entity,
                        rec.entity_id, rec.reason, rec.data, rec.prev_hash)
        if rec.seq != expected_seq or rec.prev_hash != prev or h != rec.hash:
            return {"ok": False, "first_broken_seq": rec.seq, "checked": count}
        prev, expected_seq, count = rec.hash, expected_seq + 1, count + 1
    return {"ok": True, "checked": count, "head": prev}

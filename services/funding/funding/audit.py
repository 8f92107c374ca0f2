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
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots.db import utcnow
from grassroots.logging import get_logger

from . import chain_copy
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


def chain_rows(session: Session, start_seq: int = 1, batch: int = 20000):
    """The records from ``start_seq`` in seq order, in bounded windows.

    On PostgreSQL each window is one ``COPY (SELECT ...) TO STDOUT`` (text format; ``funding.chain_copy``):
    several times the rows per second of a cursor, which is what lets verification keep pace with the
    chain (see bench/bench_funding.py). Elsewhere a plain select.
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


def _copy_rows(session: Session, start_seq: int, batch: int):
    head = session.scalar(sa.select(sa.func.max(AuditRecord.seq)))
    if head is None:
        return
    cursor = session.connection().connection.dbapi_connection.cursor()
    cursor.execute(chain_copy.SESSION_SQL)
    try:
        yield from chain_copy.copy_rows(cursor, start_seq, head + 1, batch)
    finally:
        cursor.close()


def checkpoints(session: Session) -> list[chain.Checkpoint]:
    return [chain.Checkpoint(c.seq, c.head_hash, c.at, c.key_id, c.signature)
            for c in session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq))]


def _positive_env(name: str, default: int) -> int:
    given = os.environ.get(name, "").strip()
    if not given:
        return default
    try:
        return max(1, int(given))
    except ValueError:
        log.warning("bad_setting", name=name, value=given, using=default)
        return default


def usable_cpus(cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """CPUs this process may use: those it may run on, capped by a cgroup v2 CPU quota (a container's limit,
    which ``os.cpu_count()`` does not see)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = open(cpu_max).read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def verify_workers() -> int:
    """Processes for a long chain: AUDIT_VERIFY_WORKERS, else one per usable CPU (at most 4); 1: in-process."""
    return _positive_env("AUDIT_VERIFY_WORKERS", min(usable_cpus(), 4))


def parallel_from() -> int:
    """Chains shorter than AUDIT_VERIFY_PARALLEL_FROM records (default 100,000) are verified in-process:
    below it, starting the processes costs more than they save."""
    return _positive_env("AUDIT_VERIFY_PARALLEL_FROM", 100_000)


def verify(session: Session, public_keys=None, *, workers: int | None = None) -> dict:
    """Verify the whole chain and compare it with the stored checkpoints in one pass.

    On PostgreSQL a chain of ``parallel_from()`` records or more is verified by ``workers`` processes
    (``verify_workers()``), each over a range of seqs read in this transaction's snapshot, and the
    ranges joined (``chain.join_segments``): the same verdict as one pass, in a fraction of the time on
    several cores. If a process fails, the chain is verified here instead."""
    started = utcnow()
    cps = checkpoints(session)
    verdict = report = None
    processes = 1
    workers = verify_workers() if workers is None else max(1, int(workers))
    if workers > 1 and session.get_bind().dialect.name == "postgresql":
        head = session.scalar(sa.select(sa.func.max(AuditRecord.seq)))
        if head is not None and head >= parallel_from():
            try:
                segments = _verify_in_processes(session, int(head), cps, workers)
                verdict, report = chain.verify_segments_with_checkpoints(segments, cps, public_keys)
                processes = len(segments)
            except (VerifyWorkerFailed, OSError, ValueError, KeyError) as exc:   # a lost process, bad output
                log.warning("audit_verify_workers_failed", error=str(exc), hint="verifying in-process instead")
    if verdict is None:
        verdict, report = chain.verify_with_checkpoints(chain_rows(session), cps, public_keys)
    seconds = (utcnow() - started).total_seconds()
    out = verdict.to_dict()
    out["checkpoints"] = {"ok": report.ok, "problems": list(report.problems)}
    out["seconds"] = round(seconds, 3)
    out["processes"] = processes
    out["ok"] = verdict.ok and report.ok
    if verdict.ok and report.ok:
        out["message"] = f"审计链完整：共{verdict.checked}条记录，哈希链与已签名检查点一致"
    elif not verdict.ok:
        out["message"] = verdict.message
    else:
        out["message"] = report.problems[0]["message"]
    return out


class VerifyWorkerFailed(RuntimeError):
    pass


#: How a worker is started (its job on stdin, its Segment on stdout).
WORKER_COMMAND = [sys.executable, "-m", "funding.verify_worker"]


def _worker_env() -> dict:
    """The environment of a worker: this one, with the folders that hold ``funding`` and ``grassroots``
    first on its path (they are not always installed packages)."""
    import grassroots
    import funding
    paths = [str(Path(funding.__file__).resolve().parents[1]), str(Path(grassroots.__file__).resolve().parents[1])]
    given = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths + ([given] if given else []))}


def _verify_in_processes(session: Session, head: int, cps: list[chain.Checkpoint], workers: int,
                         batch: int = 20000) -> list[chain.Segment]:
    """Seqs 1..head in ``workers`` ranges, one ``funding.verify_worker`` process each, all reading the
    snapshot this transaction exports (so no process sees a row this transaction does not)."""
    url = session.get_bind().url
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    snapshot = session.scalar(sa.text("SELECT pg_export_snapshot()"))
    step = -(-head // workers)
    ranges = [(low, min(low + step, head + 1)) for low in range(1, head + 1, step)]
    env = _worker_env()
    procs = []
    try:
        for low, high in ranges:
            job = {"dsn": dsn, "snapshot": snapshot, "low": low, "high": high, "batch": batch,
                   "wanted": [cp.seq for cp in cps if low <= cp.seq < high]}
            p = subprocess.Popen(WORKER_COMMAND, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            procs.append(p)
            p.stdin.write(json.dumps(job).encode())   # a few hundred bytes: never fills the pipe
            p.stdin.close()
            p.stdin = None   # sent: communicate() below only reads (every worker is started before any is read)
        segments = []
        for (low, high), p in zip(ranges, procs):
            out, err = p.communicate()
            if p.returncode != 0:
                raise VerifyWorkerFailed(f"seq {low}-{high - 1}: exit {p.returncode}: "
                                         f"{err.decode(errors='replace').strip()[-500:]}")
            segments.append(chain.Segment.from_dict(json.loads(out)))
        return segments
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


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

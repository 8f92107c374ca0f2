"""One process of a parallel audit-chain verification (``funding.audit.verify``).

Reads a job as JSON on stdin: ``dsn`` (libpq), ``snapshot`` (from ``pg_export_snapshot()`` in the
verifying transaction, so every process reads the very rows that transaction sees), ``low`` and ``high``
(the seq range, high excluded), ``wanted`` (checkpoint seqs in the range) and ``batch`` (seqs per COPY).
Writes the ``funding.domain.audit.Segment`` as JSON on stdout. Exit status 0 when the range was read
(whatever the verdict); otherwise 1, with the reason on stderr. Imports neither nameko nor SQLAlchemy.

    python -m funding.verify_worker < job.json
"""
from __future__ import annotations

import json
import sys

import psycopg2

from .chain_copy import SESSION_SQL, copy_rows
from .domain import audit as chain


def run(job: dict) -> dict:
    conn = psycopg2.connect(job["dsn"])
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cur = conn.cursor()
        if job.get("snapshot"):
            cur.execute("SET TRANSACTION SNAPSHOT %s", (job["snapshot"],))   # the first statement, as it must be
        cur.execute(SESSION_SQL)
        low = int(job["low"])
        segment = chain.verify_segment(copy_rows(cur, low, int(job["high"]), int(job.get("batch", 20000))),
                                       low, job.get("wanted", ()))
        conn.rollback()
        return segment.to_dict()
    finally:
        conn.close()


def main() -> int:
    try:
        result = run(json.load(sys.stdin))
    except Exception as exc:   # reported to the parent, which falls back to verifying in its own process
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

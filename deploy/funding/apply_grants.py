"""Give the funding application role its privileges, after the migration, as the owner role.

The funding service connects as an application role (``FUNDING_APP_ROLE``, default ``funding_app``) that
must not UPDATE/DELETE ledger and audit rows nor own any table (services/funding/funding/sql/README.md).
Alembic creates the tables as the owner role, so the migration job runs this right after
``python -m grassroots.migrate upgrade funding``, with the same owner ``FUNDING_DATABASE_URL``:

    python -m grassroots.migrate upgrade funding && python /app/deploy/funding/apply_grants.py

It applies ``funding.sql.grants_sql(role)`` when the schema has every table and function that file
names; while the migrations do not create them all yet, it applies the same privilege classes to the
tables that exist and says so. Every other table (outbox, inbox) gets plain DML; ``alembic_version``
read-only. Idempotent: GRANT and REVOKE can run any number of times.
"""
from __future__ import annotations

import os
import sys

import sqlalchemy as sa

from funding import sql
from grassroots import config

# The privilege classes of grants.sql (tests/deploy checks these names against the file).
APPEND_ONLY = ("ledger_transfer", "ledger_entry", "audit_record", "audit_checkpoint")
STATE = ("budget", "disbursement", "idempotency_key")
LOCK_FUNCTION = "funding_audit_lock_head"


def statements(role: str, tables: set[str], has_lock_function: bool) -> tuple[list[str], bool]:
    """The SQL to run, and whether it is grants.sql itself (True) or the partial equivalent (False)."""
    quoted = sql.quote_role(role)
    out: list[str] = []
    complete = set(APPEND_ONLY + STATE) <= tables and has_lock_function
    if complete:
        out.append(sql.grants_sql(role))
    else:
        out.append(f"REVOKE CREATE ON SCHEMA public FROM {quoted}")
        out.append(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        for table in APPEND_ONLY:
            if table in tables:
                out.append(f'REVOKE ALL ON "{table}" FROM PUBLIC')
                out.append(f'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "{table}" FROM {quoted}')
                out.append(f'GRANT SELECT, INSERT ON "{table}" TO {quoted}')
        for table in STATE:
            if table in tables:
                out.append(f'REVOKE ALL ON "{table}" FROM PUBLIC')
                out.append(f'REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON "{table}" FROM {quoted}')
                out.append(f'GRANT SELECT, INSERT, UPDATE ON "{table}" TO {quoted}')
        if has_lock_function:
            out.append(f"GRANT EXECUTE ON FUNCTION {LOCK_FUNCTION}() TO {quoted}")
    for table in sorted(tables - set(APPEND_ONLY + STATE)):
        if table == "alembic_version":
            out.append(f'GRANT SELECT ON "{table}" TO {quoted}')
        else:  # outbox, inbox and the like: the relay and the inbox update and prune their rows
            out.append(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {quoted}')
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    return out, complete


def main() -> int:
    role = os.environ.get("FUNDING_APP_ROLE", "funding_app")
    url = config.database_url("funding")
    if not url.startswith("postgresql"):
        print(f"apply_grants: {url.split(':')[0]} has no roles; nothing to do")
        return 0
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        tables = set(sa.inspect(conn).get_table_names(schema="public"))
        has_fn = conn.execute(sa.text("SELECT to_regprocedure(:f) IS NOT NULL"),
                              {"f": f"public.{LOCK_FUNCTION}()"}).scalar()
        stmts, complete = statements(role, tables, bool(has_fn))
        for stmt in stmts:
            conn.exec_driver_sql(stmt)
    if complete:
        print(f"apply_grants: applied grants.sql to {role}")
    else:
        missing = sorted(set(APPEND_ONLY + STATE) - tables) + ([] if has_fn else [f"{LOCK_FUNCTION}()"])
        print(f"apply_grants: WARNING the schema lacks {', '.join(missing)}; applied the same privilege "
              f"classes to the tables that exist, for {role}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Give the funding application role its privileges, after the migration, as the owner role.

The funding service connects as an application role (``FUNDING_APP_ROLE``, default ``funding_app``) that
must not UPDATE/DELETE ledger, audit and final-account rows nor own any table
(services/funding/funding/sql/README.md). Alembic creates the tables as the owner role, so the migration
job runs this right after ``python -m grassroots.migrate upgrade funding``, with the same owner
``FUNDING_DATABASE_URL``:

    python -m grassroots.migrate upgrade funding && python /app/deploy/funding/apply_grants.py

Which table gets which privileges is decided in one place, ``funding.sql.PRIVILEGE_CLASSES`` (the migration
renders the same classes): insert-only (ledger, audit, final accounts), state (budget, disbursement,
idempotency keys), the shared library's outbox and inbox (plain DML), ``alembic_version`` (read-only).
When the schema has every funding table and the audit lock function it applies ``funding.sql.grants_sql``
itself; otherwise the same classes to the tables that exist, and says so. A table in no class gets nothing
(a warning names it): an unclassified table must never fall through to full DML. Idempotent: GRANT and
REVOKE can run any number of times, and the explicit REVOKEs also take back a stray earlier GRANT.
"""
from __future__ import annotations

import os
import sys

import sqlalchemy as sa

from funding import sql
from grassroots import config

LOCK_FUNCTION = sql.LOCK_FUNCTION


def statements(role: str, tables: set[str], has_lock_function: bool) -> tuple[list[str], bool, list[str]]:
    """The SQL to run; whether it is ``grants_sql`` itself (True) or the partial equivalent (False); and the
    tables left without privileges because no class names them."""
    quoted = sql.quote_role(role)
    out: list[str] = []
    complete = set(sql.FUNDING_TABLES) <= tables and has_lock_function
    if complete:
        out.append(sql.grants_sql(role))
    else:
        present = [t for t in sql.FUNDING_TABLES if t in tables]
        out += sql.grant_statements(role, present, lock_function=has_lock_function)
    others = [t for t in sql.SERVICE.tables + sql.READ_ONLY.tables if t in tables]
    if others:
        out += sql.grant_statements(role, others, lock_function=False, schema=False)
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    unclassed = sorted(t for t in tables if sql.privilege_class(t) is None)
    return out, complete, unclassed


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
        stmts, complete, unclassed = statements(role, tables, bool(has_fn))
        for stmt in stmts:
            conn.exec_driver_sql(stmt)
    if complete:
        print(f"apply_grants: applied funding.sql.grants_sql to {role}")
    else:
        missing = sorted(set(sql.FUNDING_TABLES) - tables) + ([] if has_fn else [f"{LOCK_FUNCTION}()"])
        print(f"apply_grants: WARNING the schema lacks {', '.join(missing)}; applied the same privilege "
              f"classes to the tables that exist, for {role}")
    if unclassed:
        print(f"apply_grants: WARNING no privileges for {', '.join(unclassed)}: not in any class of "
              f"funding.sql.PRIVILEGE_CLASSES")
    return 0


if __name__ == "__main__":
    sys.exit(main())

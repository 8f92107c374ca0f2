"""PostgreSQL-level guarantees of the funding service, as plain SQL the migration runs.

Files: ``tables.sql`` (the reference table shapes the models match), ``ledger_guards.sql`` (balance at
commit, append-only tables, linked audit records, budget never overdrawn), ``grants.sql`` (a template for
the application role), ``drop_guards.sql`` (downgrade). See README.md for the contract.

In an Alembic migration (connected as the migration owner role)::

    from funding import sql
    op.execute(sql.guards_sql())
    op.execute(sql.grants_sql(app_role))       # e.g. "funding_app", from configuration

By hand: ``python -m funding.sql --app-role funding_app [--tables] | psql -h ... -U owner -d funding``.
"""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def read(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def quote_role(role: str) -> str:
    """A role name as a quoted identifier; only lower-case [a-z0-9_] names are accepted (no injection)."""
    if not _ROLE.match(role or ""):
        raise ValueError(f"role name must match {_ROLE.pattern}: {role!r}")
    return f'"{role}"'


def tables_sql() -> str:
    return read("tables.sql")


def guards_sql() -> str:
    return read("ledger_guards.sql")


def drop_guards_sql() -> str:
    return read("drop_guards.sql")


def grants_sql(app_role: str) -> str:
    return read("grants.sql").replace("{app_role}", quote_role(app_role))


def service_grants_sql(app_role: str) -> str:
    """Privileges on the tables every service has (grassroots' outbox and inbox, Alembic's version table):
    the outbox relay marks rows published and prunes them, so those get plain DML."""
    role = quote_role(app_role)
    return (f"GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, inbox TO {role};\n"
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};\n"
            f"GRANT SELECT ON alembic_version TO {role};\n")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m funding.sql", description="print the funding SQL")
    parser.add_argument("--app-role", required=True)
    parser.add_argument("--tables", action="store_true", help="include the reference CREATE TABLEs")
    args = parser.parse_args(argv)
    parts = ([tables_sql()] if args.tables else []) + [guards_sql(), grants_sql(args.app_role)]
    print("\n".join(parts))
    return 0

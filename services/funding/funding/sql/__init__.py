"""PostgreSQL-level guarantees of the funding service, as plain SQL the migration runs.

Files: ``tables.sql`` (the reference table shapes the models match), ``ledger_guards.sql`` (balance at
commit, append-only tables, linked audit records, budget never overdrawn), ``drop_guards.sql`` (downgrade).
See README.md for the contract.

The application role's privileges are rendered here from ``PRIVILEGE_CLASSES``, the one place a table is
classed (insert-only, state, the shared library's service tables): the migration runs ``grants_sql(role)``
and the deploy job's ``deploy/funding/apply_grants.py`` renders the same classes with ``grant_statements``,
so the two can never disagree about, say, ``final_account`` being insert-only.

In an Alembic migration (connected as the migration owner role)::

    from funding import sql
    op.execute(sql.guards_sql())
    op.execute(sql.grants_sql(app_role))       # e.g. "funding_app", from configuration

By hand: ``python -m funding.sql --app-role funding_app [--tables] | psql -h ... -U owner -d funding``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

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


@dataclass(frozen=True)
class PrivilegeClass:
    name: str
    tables: tuple[str, ...]
    grant: str    # what the application role may do
    revoke: str   # what it must not do (revoked explicitly, so a stray earlier GRANT does not survive)
    why: str


# Every table of the funding schema is in exactly one class (tests/deploy checks this against the models):
# a new table gets no privileges from the deploy job until someone decides which class it belongs to.
INSERT_ONLY = PrivilegeClass(
    "insert_only",
    ("ledger_transfer", "ledger_entry", "audit_record", "audit_checkpoint", "final_account"),
    grant="SELECT, INSERT", revoke="UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER",
    why="ledger and audit rows are never changed (corrections are reversing entries; the triggers refuse "
        "edits for every role too); a corrected final account is a new version")
STATE = PrivilegeClass(
    "state", ("budget", "disbursement", "idempotency_key", "ministry_decision_seen"),
    grant="SELECT, INSERT, UPDATE", revoke="DELETE, TRUNCATE, REFERENCES, TRIGGER",
    why="rows change state (and the budget row is locked FOR UPDATE, which needs UPDATE) but are never deleted")
SERVICE = PrivilegeClass(
    "service", ("outbox", "inbox"),
    grant="SELECT, INSERT, UPDATE, DELETE", revoke="TRUNCATE, REFERENCES, TRIGGER",
    why="grassroots' outbox and inbox: the relay marks rows published and prunes them")
READ_ONLY = PrivilegeClass(
    "read_only", ("alembic_version",), grant="SELECT", revoke="INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER",
    why="the service checks the schema version, the migration job alone moves it")
PRIVILEGE_CLASSES = (INSERT_ONLY, STATE, SERVICE, READ_ONLY)
# The tables the funding migration creates itself and grants_sql() covers (the service tables come with
# every service's schema and are granted by service_grants_sql()).
FUNDING_TABLES = INSERT_ONLY.tables + STATE.tables
LOCK_FUNCTION = "funding_audit_lock_head"
SEQUENCES = ("ledger_entry_id_seq",)


def privilege_class(table: str) -> PrivilegeClass | None:
    for cls in PRIVILEGE_CLASSES:
        if table in cls.tables:
            return cls
    return None


def grant_statements(app_role: str, tables: Iterable[str] | None = None, *, lock_function: bool = True,
                     schema: bool = True) -> list[str]:
    """The GRANT/REVOKE statements (without ``;``) giving ``app_role`` its privileges on ``tables`` (default:
    the funding tables), each by its class. Run as the tables' owner, which must be another role: the
    application role must not own the tables nor be a member of the owner role, or it could disable the
    triggers and grant itself the privileges back. Idempotent."""
    role = quote_role(app_role)
    wanted = list(FUNDING_TABLES if tables is None else tables)
    out: list[str] = []
    if schema:
        out += [f"REVOKE CREATE ON SCHEMA public FROM {role}", f"GRANT USAGE ON SCHEMA public TO {role}"]
    for cls in PRIVILEGE_CLASSES:
        names = [t for t in cls.tables if t in wanted]
        if not names:
            continue
        listed = ", ".join(f'"{t}"' for t in names)
        out += [f"REVOKE ALL ON {listed} FROM PUBLIC",
                f"REVOKE {cls.revoke} ON {listed} FROM {role}",
                f"GRANT {cls.grant} ON {listed} TO {role}"]
        if cls is INSERT_ONLY and "ledger_entry" in names:
            out += [f'GRANT USAGE, SELECT ON SEQUENCE "{seq}" TO {role}' for seq in SEQUENCES]
    unclassed = [t for t in wanted if privilege_class(t) is None]
    if unclassed:
        raise ValueError(f"tables in no privilege class of funding.sql: {', '.join(sorted(unclassed))}")
    if lock_function:
        out.append(f"GRANT EXECUTE ON FUNCTION {LOCK_FUNCTION}() TO {role}")
    return out


def grants_sql(app_role: str) -> str:
    """Privileges of the funding service's application role on the funding tables, as one SQL script."""
    lines = [f"-- {cls.name}: {cls.why}" for cls in PRIVILEGE_CLASSES if set(cls.tables) & set(FUNDING_TABLES)]
    return "\n".join(lines + [stmt + ";" for stmt in grant_statements(app_role)]) + "\n"


def service_grants_sql(app_role: str) -> str:
    """Privileges on the tables every service has (grassroots' outbox and inbox, Alembic's version table)."""
    role = quote_role(app_role)
    stmts = grant_statements(app_role, SERVICE.tables + READ_ONLY.tables, lock_function=False, schema=False)
    stmts.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return "\n".join(stmt + ";" for stmt in stmts) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m funding.sql", description="print the funding SQL")
    parser.add_argument("--app-role", required=True)
    parser.add_argument("--tables", action="store_true", help="include the reference CREATE TABLEs")
    args = parser.parse_args(argv)
    parts = ([tables_sql()] if args.tables else []) + [guards_sql(), grants_sql(args.app_role)]
    print("\n".join(parts))
    return 0

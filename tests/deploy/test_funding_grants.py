"""deploy/funding/apply_grants.py: the funding migration job's grant step gives each table the privileges of
its class in funding.sql (the classes the migration renders too), whether the schema already has every
funding table or not; ledger, audit and final-account rows are insert-only for the application role."""
from __future__ import annotations

import importlib.util
import re

import pytest

from deploy_helpers import DEPLOY

spec = importlib.util.spec_from_file_location("apply_grants", DEPLOY / "funding" / "apply_grants.py")
apply_grants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apply_grants)
sql = apply_grants.sql

ROLE = "funding_app"
INSERT_ONLY = {"ledger_transfer", "ledger_entry", "audit_record", "audit_checkpoint", "final_account"}
STATE = {"budget", "disbursement", "idempotency_key", "ministry_decision_seen"}


def schema_tables() -> set[str]:
    from funding.models import Base
    return set(Base.metadata.tables) | {"alembic_version"}


def effective(stmts: list[str], role: str = ROLE) -> dict[str, set[str]]:
    """Table privileges the role holds after running the statements in order on a role that had none:
    GRANT adds, REVOKE takes away, ALL expands (privileges given to PUBLIC are not the role's)."""
    every = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
    held: dict[str, set[str]] = {}
    text = ";\n".join(stmts)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    for stmt in (" ".join(s.split()) for s in text.split(";")):
        m = re.fullmatch(r'(GRANT|REVOKE) (.+?) ON (?!SCHEMA|SEQUENCE|FUNCTION|ALL SEQUENCES)(.+?) '
                         r'(?:TO|FROM) "?([a-z_0-9]+|PUBLIC)"?', stmt)
        if not m or m.group(4) != role:
            continue
        privs = every if m.group(2) == "ALL" else {p.strip() for p in m.group(2).split(",")}
        for table in (t.strip().strip('"') for t in m.group(3).split(",")):
            cur = held.setdefault(table, set())
            if m.group(1) == "GRANT":
                cur |= privs
            else:
                cur -= privs
    return held


def test_every_table_of_the_funding_schema_is_in_exactly_one_privilege_class():
    for table in schema_tables():
        classes = [c.name for c in sql.PRIVILEGE_CLASSES if table in c.tables]
        assert len(classes) == 1, (table, classes)
    assert set(sql.INSERT_ONLY.tables) == INSERT_ONLY and set(sql.STATE.tables) == STATE


def test_after_apply_grants_the_app_role_can_only_insert_and_read_ledger_audit_and_final_account_rows():
    stmts, complete, unclassed = apply_grants.statements(ROLE, schema_tables(), True)
    assert complete and unclassed == []
    assert stmts[0] == sql.grants_sql(ROLE)   # the migration's own script, not a second copy
    held = effective(stmts)
    for table in INSERT_ONLY:
        assert held[table] == {"SELECT", "INSERT"}, table
    for table in STATE:
        assert held[table] == {"SELECT", "INSERT", "UPDATE"}, table
    assert held["outbox"] == held["inbox"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert held["alembic_version"] == {"SELECT"}
    assert f"FUNCTION {apply_grants.LOCK_FUNCTION}()" in stmts[0]


def test_a_stray_earlier_grant_of_update_or_delete_on_final_account_is_taken_back():
    stmts, _, _ = apply_grants.statements(ROLE, schema_tables(), True)
    held = effective([f'GRANT ALL ON "final_account", "audit_record" TO "{ROLE}";'] + stmts)
    assert held["final_account"] == held["audit_record"] == {"SELECT", "INSERT"}


def test_a_partial_schema_gets_the_same_classes_on_the_tables_it_has():
    stmts, complete, unclassed = apply_grants.statements(ROLE, {"audit_record", "budget", "final_account",
                                                                "outbox"}, False)
    assert not complete and unclassed == []
    held = effective(stmts)
    assert held["audit_record"] == held["final_account"] == {"SELECT", "INSERT"}
    assert held["budget"] == {"SELECT", "INSERT", "UPDATE"}
    assert held["outbox"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    text = "\n".join(stmts)
    assert "ledger_entry" not in text and "funding_audit_lock_head" not in text


def test_a_table_in_no_class_gets_no_privileges_and_is_named():
    stmts, complete, unclassed = apply_grants.statements(ROLE, schema_tables() | {"payment_batch"}, True)
    assert complete and unclassed == ["payment_batch"]
    assert "payment_batch" not in "\n".join(stmts)
    with pytest.raises(ValueError):
        sql.grant_statements(ROLE, ["payment_batch"])


def test_a_role_name_that_is_not_a_plain_identifier_is_refused():
    with pytest.raises(ValueError):
        apply_grants.statements('x"; DROP TABLE budget; --', schema_tables(), True)

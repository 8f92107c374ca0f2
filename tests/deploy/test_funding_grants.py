"""deploy/funding/apply_grants.py: the funding migration job's grant step keeps grants.sql's privilege
classes, whether the schema already has every table grants.sql names or not."""
from __future__ import annotations

import importlib.util
import re

from deploy_helpers import DEPLOY, ROOT

spec = importlib.util.spec_from_file_location("apply_grants", DEPLOY / "funding" / "apply_grants.py")
apply_grants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apply_grants)

GRANTS_SQL = (ROOT / "services" / "funding" / "funding" / "sql" / "grants.sql").read_text(encoding="utf-8")
EVERY_TABLE = set(apply_grants.APPEND_ONLY + apply_grants.STATE) | {"outbox", "inbox", "alembic_version"}


def tables_granted(sql_text: str, privileges: str) -> set[str]:
    out = set()
    for match in re.finditer(rf"GRANT {privileges}\s+ON ([^;]+?) TO", sql_text):
        out |= {t.strip().strip('"') for t in match.group(1).split(",")}
    return out


def test_the_privilege_classes_are_the_ones_of_grants_sql():
    assert tables_granted(GRANTS_SQL, "SELECT, INSERT") == set(apply_grants.APPEND_ONLY)
    assert tables_granted(GRANTS_SQL, "SELECT, INSERT, UPDATE") == set(apply_grants.STATE)
    assert f"FUNCTION {apply_grants.LOCK_FUNCTION}()" in GRANTS_SQL


def test_a_complete_schema_gets_grants_sql_itself_and_dml_on_the_outbox_and_inbox():
    stmts, complete = apply_grants.statements("funding_app", EVERY_TABLE, True)
    assert complete
    assert stmts[0] == apply_grants.sql.grants_sql("funding_app")
    text = "\n".join(stmts)
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON "outbox" TO "funding_app"' in text
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON "inbox" TO "funding_app"' in text
    assert 'GRANT SELECT ON "alembic_version" TO "funding_app"' in text


def test_a_partial_schema_never_gets_update_or_delete_on_append_only_tables():
    stmts, complete = apply_grants.statements("funding_app", {"audit_record", "budget", "outbox"}, False)
    assert not complete
    text = "\n".join(stmts)
    assert 'GRANT SELECT, INSERT ON "audit_record" TO "funding_app"' in text
    assert re.search(r'REVOKE UPDATE, DELETE, TRUNCATE[^\n]*ON "audit_record"', text)
    assert 'GRANT SELECT, INSERT, UPDATE ON "budget" TO "funding_app"' in text
    assert not re.search(r'GRANT [^\n]*(UPDATE|DELETE)[^\n]*ON "audit_record"', text)
    assert not re.search(r'GRANT [^\n]*DELETE[^\n]*ON "budget"', text)
    assert "ledger_entry" not in text and "funding_audit_lock_head" not in text


def test_a_role_name_that_is_not_a_plain_identifier_is_refused():
    import pytest
    with pytest.raises(ValueError):
        apply_grants.statements('x"; DROP TABLE budget; --', EVERY_TABLE, True)

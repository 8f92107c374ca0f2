"""The funding migration job on a real PostgreSQL: Alembic as the owner role, then apply_grants.py; the
application role can then read and insert ledger/audit rows but never update or delete them, and works
its outbox and inbox. Skips when PostgreSQL is unreachable (FUNDING_TEST_PG_DSN, as the funding SQL tests)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from deploy_helpers import DEPLOY, ROOT

psycopg2 = pytest.importorskip("psycopg2")
from psycopg2.extensions import make_dsn, parse_dsn  # noqa: E402

ADMIN_DSN = os.environ.get("FUNDING_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
pytestmark = pytest.mark.postgres


def url(dsn: str) -> str:
    p = parse_dsn(dsn)
    return (f"postgresql://{p['user']}:{p.get('password', '')}@{p.get('host', '127.0.0.1')}:"
            f"{p.get('port', '5432')}/{p['dbname']}")


@pytest.fixture
def funding_database():
    try:
        admin = psycopg2.connect(ADMIN_DSN, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_DSN!r}: {exc}".strip())
    admin.autocommit = True
    suffix = uuid.uuid4().hex[:10]
    db, owner, app = f"grt_deploy_funding_{suffix}", f"grt_fowner_{suffix}", f"grt_fapp_{suffix}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE ROLE "{owner}" LOGIN PASSWORD \'owner-pw\'')
        cur.execute(f'CREATE ROLE "{app}" LOGIN PASSWORD \'app-pw\'')
        cur.execute(f'CREATE DATABASE "{db}" OWNER "{owner}"')
        cur.execute(f'GRANT CONNECT ON DATABASE "{db}" TO "{app}"')
    try:
        yield {"owner_dsn": make_dsn(ADMIN_DSN, dbname=db, user=owner, password="owner-pw"),
               "app_dsn": make_dsn(ADMIN_DSN, dbname=db, user=app, password="app-pw"), "app": app}
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
            cur.execute(f'DROP ROLE IF EXISTS "{app}"')
            cur.execute(f'DROP ROLE IF EXISTS "{owner}"')
        admin.close()


def run_job(owner_url: str, app_role: str) -> subprocess.CompletedProcess:
    # the migration job's command, as in docker-compose.yml and k8s/migrations/jobs.yaml
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({"FUNDING_DATABASE_URL": owner_url, "FUNDING_APP_ROLE": app_role})
    command = (f"{sys.executable} -m grassroots.migrate upgrade funding && "
               f"{sys.executable} {DEPLOY / 'funding' / 'apply_grants.py'}")
    return subprocess.run(["sh", "-ec", command], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def test_after_the_funding_job_the_app_role_cannot_change_audit_rows_but_works_its_outbox(funding_database):
    result = run_job(url(funding_database["owner_dsn"]), funding_database["app"])
    assert result.returncode == 0, result.stderr[-2000:]
    conn = psycopg2.connect(funding_database["app_dsn"])
    try:
        with conn.cursor() as cur:
            def can(table: str, privilege: str) -> bool:
                cur.execute("SELECT has_table_privilege(current_user, %s, %s)", (f"public.{table}", privilege))
                return cur.fetchone()[0]

            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = {r[0] for r in cur.fetchall()}
            assert {"audit_record", "outbox", "inbox"} <= tables
            for table in tables & {"audit_record", "ledger_transfer", "ledger_entry", "audit_checkpoint"}:
                assert can(table, "SELECT") and can(table, "INSERT"), table
                assert not can(table, "UPDATE") and not can(table, "DELETE"), table
            for table in tables & {"budget", "disbursement", "idempotency_key"}:
                assert can(table, "UPDATE") and not can(table, "DELETE"), table
            for table in ("outbox", "inbox"):
                assert all(can(table, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")), table
            cur.execute("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")
            assert cur.fetchone()[0] is False
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("UPDATE audit_record SET reason = 'rewritten'")
    finally:
        conn.close()
    # running the job again (a redeploy) is harmless
    assert run_job(url(funding_database["owner_dsn"]), funding_database["app"]).returncode == 0

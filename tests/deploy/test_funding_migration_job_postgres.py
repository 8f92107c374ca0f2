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


def run_job(owner_url: str, app_role: str, migration_grants: bool = True) -> subprocess.CompletedProcess:
    """The migration job's command, as in docker-compose.yml and k8s/migrations/jobs.yaml. Without
    ``migration_grants`` the migration itself grants nothing, so what the role holds is apply_grants' doing."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k != "FUNDING_APP_ROLE"}
    env.update({"FUNDING_DATABASE_URL": owner_url})
    role = f"FUNDING_APP_ROLE={app_role}"
    command = (f"{role if migration_grants else ''} {sys.executable} -m grassroots.migrate upgrade funding && "
               f"{role} {sys.executable} {DEPLOY / 'funding' / 'apply_grants.py'}")
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
            assert "final_account" in tables
            for table in tables & {"audit_record", "ledger_transfer", "ledger_entry", "audit_checkpoint",
                                   "final_account"}:
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


def test_apply_grants_leaves_the_app_role_unable_to_update_or_delete_final_account_rows(funding_database):
    """A final account is a reported fact: a correction is a new version. Even when the migration granted
    nothing and the owner had once granted the role everything on the table, after apply_grants the role can
    insert and read a final account but neither change nor delete it."""
    app = funding_database["app"]
    assert run_job(url(funding_database["owner_dsn"]), app, migration_grants=False).returncode == 0
    owner = psycopg2.connect(funding_database["owner_dsn"])
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute(f'GRANT ALL ON final_account TO "{app}"')   # drift: a hand-made grant from some time ago
    owner.close()
    result = run_job(url(funding_database["owner_dsn"]), app, migration_grants=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "WARNING" not in result.stdout, result.stdout

    conn = psycopg2.connect(funding_database["app_dsn"])
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            budget_id, final_id = str(uuid.uuid4()), str(uuid.uuid4())
            cur.execute("INSERT INTO budget (id, call_id, programme, unit_id, unit_name, project_id, source, amount, "
                        "status) VALUES (%s, 'c-1', 'service_team', 'u-1', '测试单位', %s, 'department', 1000, "
                        "'active')", (budget_id, uuid.uuid4().hex))
            cur.execute("INSERT INTO final_account (id, budget_id, version, spending, note, flags, flagged, "
                        "reported_by) VALUES (%s, %s, 1, '{}', '', '[]', false, 'unit-user')", (final_id, budget_id))
            cur.execute("SELECT count(*) FROM final_account WHERE id = %s", (final_id,))
            assert cur.fetchone()[0] == 1
            for statement in ("UPDATE final_account SET note = 'rewritten'", "DELETE FROM final_account",
                              "TRUNCATE final_account"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
            cur.execute("SELECT note FROM final_account WHERE id = %s", (final_id,))
            assert cur.fetchone()[0] == ""
    finally:
        conn.close()


def _broker_vhost():
    import localsuite  # scripts/, put on sys.path by the root conftest
    try:
        return localsuite, localsuite.create_vhost(f"deploy-{uuid.uuid4().hex[:8]}")
    except Exception as exc:  # noqa: BLE001 - no broker or no management API here
        pytest.skip(f"RabbitMQ with its management API is unreachable: {exc}")


def test_funding_runs_as_the_app_role_the_way_the_deployment_starts_and_probes_it(funding_database, tmp_path):
    """The migration job, then `python -m grassroots.serve funding` as funding_app with the deployment's
    environment: alive on /metrics, ready by the broker probe, handles review's selection with funding
    (budget, its allocation in the ledger, audit records, budget_created through the outbox) without a
    privilege error, and exits cleanly on SIGTERM."""
    import signal
    import time

    from kombu import Connection, Exchange, Producer

    from grassroots.events import make_envelope

    localsuite, amqp_uri = _broker_vhost()
    vhost = amqp_uri.rsplit("/", 1)[1]
    proc = None
    log_path = tmp_path / "funding.log"
    try:
        assert run_job(url(funding_database["owner_dsn"]), funding_database["app"]).returncode == 0
        metrics_port = localsuite.free_port()
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env.update({"FUNDING_DATABASE_URL": url(funding_database["app_dsn"]), "AMQP_URI": amqp_uri,
                    "MIGRATE_ON_START": "0", "METRICS_PORT": str(metrics_port), "METRICS_ADDRESS": "127.0.0.1",
                    "LOG_FORMAT": "json", "DATA_DIR": str(tmp_path / "data"), "OUTBOX_POLL_SECONDS": "0.2",
                    "PYTHONUNBUFFERED": "1"})
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "grassroots.serve", "funding"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # liveness, as the Deployment's livenessProbe
        assert localsuite.wait_http(f"http://127.0.0.1:{metrics_port}/metrics", 60), log_path.read_text()
        # readiness, as the Deployment's readinessProbe and the image's HEALTHCHECK
        probe = [sys.executable, "-m", "grassroots.probe", "ready", "funding"]
        deadline = time.monotonic() + 60
        while subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode != 0:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(1)

        app_id = uuid.uuid4().hex
        envelope = make_envelope("application_selected", {
            "call": {"id": uuid.uuid4().hex}, "recipients": {},
            "application": {"id": app_id, "programme_code": "expert_service", "unit_id": uuid.uuid4().hex,
                            "unit_name": "测试单位", "league_city_code": "150100", "title": "部署测试", "form": {}},
            # review's contract: a selection names its funding; without it no budget is made
            "funding": {"amount": "150000.00", "source": "department"},
        }, source="review", actor=None, correlation_id=uuid.uuid4().hex)
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
            Producer(conn.channel()).publish(envelope, exchange=Exchange("review.events", type="topic", durable=True),
                                             routing_key="application_selected", serializer="json", delivery_mode=2)

        owner = psycopg2.connect(funding_database["owner_dsn"])
        owner.autocommit = True
        try:
            deadline = time.monotonic() + 30
            while True:
                with owner.cursor() as cur:
                    cur.execute("SELECT count(*), min(amount::text), min(status) FROM budget WHERE project_id = %s",
                                (app_id,))
                    budgets = cur.fetchone()
                    cur.execute("SELECT count(*) FROM ledger_entry e JOIN budget b ON b.id = e.budget_id "
                                "WHERE b.project_id = %s", (app_id,))
                    legs = cur.fetchone()[0]
                    cur.execute("SELECT count(*) FROM audit_record")
                    audits = cur.fetchone()[0]
                    cur.execute("SELECT count(*) FROM outbox WHERE event_type = 'budget_created'")
                    created = cur.fetchone()[0]
                    cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                    unpublished = cur.fetchone()[0]
                # budget_created, funds_allocated: both written by the app role, as is the allocation's two legs
                if budgets == (1, "150000.00", "active") and legs == 2 and audits >= 2 and created == 1 \
                        and unpublished == 0:
                    break
                assert time.monotonic() < deadline, (budgets, legs, audits, created, unpublished,
                                                     log_path.read_text()[-3000:])
                time.sleep(0.3)
        finally:
            owner.close()

        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(120) == 0, log_path.read_text()[-3000:]
        text = log_path.read_text()
        assert "permission denied" not in text.lower() and "InsufficientPrivilege" not in text, text[-3000:]
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        localsuite.delete_vhost(vhost)

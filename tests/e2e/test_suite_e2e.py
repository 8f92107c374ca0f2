"""The whole suite as separate processes, driven over HTTP through the gateway like a web client.

Mid-scenario, service processes are killed with SIGKILL (no chance to clean up) and started again;
the scenario still completes, and every effect happens exactly once.
"""
import os
import signal
import time
import uuid

import psycopg2
import pytest

import localsuite
import scenario

pytestmark = pytest.mark.e2e

PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    vhost = f"e2e-{uuid.uuid4().hex[:8]}"
    amqp = localsuite.create_vhost(vhost)
    dbs = {}
    admin = psycopg2.connect(PG_ADMIN)
    admin.autocommit = True
    for svc in localsuite.SERVICES:
        name = f"gre2e_{svc}_{uuid.uuid4().hex[:6]}"
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        dbs[svc] = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    s = localsuite.LocalSuite(tmp_path_factory.mktemp("suite"), amqp, database_urls=dbs,
                              extra_env={"OUTBOX_POLL_SECONDS": "0.5", "LOG_FORMAT": "json"})
    try:
        s.start()
        out = s.admin("create-user", "--username", "admin", "--password", scenario.PASSWORD, "--role", "admin")
        assert out.returncode == 0, out.stderr
        yield s
    finally:
        s.stop()
        localsuite.delete_vhost(vhost)
        cur = admin.cursor()
        for name in dbs.values():
            db = name.rsplit("/", 1)[1]
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.close()


def restart(suite, *names):
    for name in names:
        suite.start_service(name)
    assert suite.wait_ready(90), f"suite not ready after restarting {names}; logs in {suite.log_dir}"


def test_the_scenario_survives_killed_services_with_nothing_lost_and_nothing_done_twice(suite):
    killed = []

    def pause(step):
        if step == "documents_stored":
            # The consumers of the submission are down when it happens: its events must wait for them.
            for name in ("review", "notify", "experts"):
                suite.kill(name, signal.SIGKILL)
                killed.append(name)
        elif step == "submitted":
            # Intake dies right after committing: its outbox row may not have been published yet.
            suite.kill("intake", signal.SIGKILL)
            restart(suite, "intake", "review", "notify", "experts")
        elif step == "selected":
            suite.kill("funding", signal.SIGKILL)
            time.sleep(0.5)
            restart(suite, "funding")

    t0 = time.monotonic()
    result = scenario.run(suite.gateway_url, "admin", scenario.PASSWORD, say=lambda s: None, pause=pause)
    elapsed = time.monotonic() - t0
    assert killed == ["review", "notify", "experts"]
    assert result["audit"]["ok"] is True

    clients = result["clients"]
    app_id = result["application"]["id"]
    # exactly one budget for the selected application, however often its event was delivered
    budgets = clients["finance1"].call("GET", "/api/v1/funding/budgets", project_id=app_id)
    assert len(budgets) == 1
    # the unit was told each thing once
    time.sleep(2)  # let any late redelivery land before counting
    messages = clients["unit"].call("GET", "/api/v1/messages")
    kinds = [m["event_type"] for m in messages]
    for kind in ("application_submitted", "application_recommended_to_ministry", "ministry_decided", "budget_created",
                 "disbursement_approved", "disbursement_paid"):
        assert kinds.count(kind) == 1, (kind, kinds)
    print(f"\ne2e scenario with 5 kills/restarts took {elapsed:.1f}s")


def test_the_suite_reports_itself_ready_and_serves_its_openapi_document(suite):
    import requests
    ready = requests.get(f"{suite.gateway_url}/readyz", timeout=30).json()
    assert ready["ready"] is True and set(ready["checks"]) == {"broker", "intake", "review", "experts", "funding",
                                                                "notify"}
    doc = requests.get(f"{suite.gateway_url}/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.") and "/api/v1/applications" in doc["paths"]


def test_the_readiness_probe_answers_for_a_running_service_and_not_for_a_stopped_one(suite):
    import subprocess
    import sys
    env = suite.env()
    ok = subprocess.run([sys.executable, "-m", "grassroots.probe", "ready", "review"], env=env, capture_output=True,
                        text=True, timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    suite.kill("experts", signal.SIGTERM)
    try:
        down = subprocess.run([sys.executable, "-m", "grassroots.probe", "ready", "experts"], env=env,
                              capture_output=True, text=True, timeout=30)
        assert down.returncode == 1
    finally:
        restart(suite, "experts")


def test_every_service_process_serves_prometheus_metrics(suite):
    import requests
    for svc, port in suite.metrics_ports.items():
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "grassroots_entrypoint_calls_total" in text, svc
        assert "grassroots_events_published_total" in text or svc == "gateway", svc

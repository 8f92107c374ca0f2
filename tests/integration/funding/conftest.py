"""Funding on real containers, the way it is deployed: a fresh PostgreSQL database migrated by the owner
(the ``postgres`` superuser here) with the guards installed, and the service connected as an application
role that was granted only what ``funding/sql/grants.sql`` grants (no UPDATE/DELETE on ledger and audit rows).

Fixtures:
    funding        a ``FundingHarness``: ``.call(user, method, *args)`` over RPC as that user (DomainErrors
                   re-raised as themselves), ``.select(...)`` publishes review's ``application_selected`` and
                   waits for the budget, ``.events(type)`` reads the outbox, ``.owner`` / ``.app`` engines
    make_funding   the same with config overrides (e.g. two replicas, another checkpoint interval)
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from funding.domain import audit as chain  # noqa: E402
from funding.service import FundingService  # noqa: E402
from funding_helpers import FO_A, envelope, rpc_call, selection_payload  # noqa: E402
from grassroots.migrate import upgrade  # noqa: E402

class FundingHarness:
    def __init__(self, containers, config, owner_url):
        self.containers = containers
        self.config = config
        self.owner = sa.create_engine(owner_url)
        self.app = sa.create_engine(config["DATABASE_URL"])
        self._proxies = {}
        self._dispatch = event_dispatcher({"AMQP_URI": config["AMQP_URI"]})

    def proxy(self, user):
        key = json.dumps(user, sort_keys=True)
        if key not in self._proxies:
            cp = ClusterRpcProxy(self.config, context_data={"user": user})
            self._proxies[key] = (cp, cp.start().funding)
        return self._proxies[key][1]

    def call(self, user, method, *args):
        return rpc_call(self.proxy(user), method, *args)

    def publish(self, event_type, payload, event_id=None):
        env = envelope(event_type, payload, event_id)
        self._dispatch("review", event_type, env)
        return env

    def wait(self, predicate, timeout=15.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def budgets_of(self, application_id):
        return self.call(FO_A, "list_budgets", {"project_id": application_id})

    def select(self, **kwargs) -> dict:
        """Publish application_selected and return the budget it created."""
        payload = selection_payload(**kwargs)
        self.publish("application_selected", payload)
        app_id = payload["application"]["id"]
        return self.wait(lambda: (self.budgets_of(app_id) or [None])[0], what=f"budget of {app_id}")

    def events(self, event_type):
        with self.owner.connect() as conn:
            rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY seq"),
                                {"t": event_type}).scalars().all()
        return [json.loads(r) for r in rows]

    def chain(self):
        with self.owner.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM audit_record ORDER BY seq")).mappings().all()
        return [{**r, "at": chain.format_at(r["at"])} for r in rows]

    def stop(self):
        for cp, _ in self._proxies.values():
            cp.stop()
        self.owner.dispose()
        self.app.dispose()


@pytest.fixture
def make_funding(container_factory, service_config):
    made = []

    def make(replicas=1, **overrides):
        cfg = service_config("funding", DATABASE_CREATE_ALL=False,
                             AUDIT_CHECKPOINT_KEY=chain.generate_key_pair().private_pem, **overrides)
        owner_url = cfg["DATABASE_URL"]
        if not owner_url.startswith("postgresql"):
            cfg["DATABASE_CREATE_ALL"] = True
            containers = [container_factory(FundingService, cfg) for _ in range(replicas)]
            for c in containers:
                c.start()
            harness = FundingHarness(containers, cfg, owner_url)
            made.append((harness, None, None))
            return harness
        role = f"grt_funding_app_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        import os
        previous = os.environ.get("FUNDING_APP_ROLE")
        os.environ["FUNDING_APP_ROLE"] = role
        try:
            upgrade("funding", owner_url)
        finally:
            if previous is None:
                os.environ.pop("FUNDING_APP_ROLE", None)
            else:
                os.environ["FUNDING_APP_ROLE"] = previous
        app_url = sa.engine.make_url(owner_url).set(username=role)
        cfg["DATABASE_URL"] = app_url.render_as_string(hide_password=False)
        containers = [container_factory(FundingService, cfg) for _ in range(replicas)]
        for c in containers:
            c.start()
        harness = FundingHarness(containers, cfg, owner_url)
        made.append((harness, admin, role))
        return harness

    yield make
    for harness, admin, role in made:
        harness.stop()
        for c in harness.containers:
            c.stop()
        if admin is not None:
            with admin.connect() as conn:
                db = admin.url.database
                conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     f"WHERE usename = '{role}' AND datname = '{db}'")
                conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
            admin.dispose()


@pytest.fixture
def funding(make_funding):
    return make_funding()

"""deploy/README.md, the runbook, covers what operators do, and names every metric the services export."""
from __future__ import annotations

import re

from deploy_helpers import DEPLOY, ROOT

RUNBOOK = (DEPLOY / "README.md").read_text(encoding="utf-8")


def test_the_runbook_names_every_metric_the_services_export():
    source = (ROOT / "libs" / "grassroots" / "grassroots" / "metrics.py").read_text(encoding="utf-8")
    names = re.findall(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"(\w+)"', source)
    assert names
    missing = [n for n in names if n not in RUNBOOK]
    assert not missing, f"deploy/README.md does not describe {missing}"


def test_the_runbook_has_the_operating_procedures():
    for needed in ("docker compose -f deploy/docker-compose.yml", "kubectl apply -k deploy/k8s",
                   "--scale", "SKIP LOCKED", "inbox", "SQLite",
                   "JWT_SECRET_PREVIOUS", "AUDIT_CHECKPOINT_KEY", "key id",
                   "pg_dump", "pg_restore", "mc mirror", "--versions",
                   "grassroots.deadletters list", "grassroots.deadletters show", "grassroots.deadletters replay",
                   "correlation_id", "call_id", "entrypoint", "masked", "QUORUM_QUEUES"):
        assert needed in RUNBOOK, needed


def test_every_database_is_backed_up():
    loop = re.search(r"for db in ([a-z ]+); do\s*\n\s*dc exec -T postgres pg_dump", RUNBOOK)
    assert loop and set(loop.group(1).split()) == {"intake", "review", "experts", "funding", "notify", "gateway"}

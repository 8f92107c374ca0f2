"""The service images: one Dockerfile per service, multi-stage on python:3.11-slim, compilers only in the
wheel stage, pinned installs, a non-root user, no backdoor, migrations left to the migration job."""
from __future__ import annotations

import json
import re

import pytest

from deploy_helpers import ROOT, SERVICES


def stages(text: str) -> list[str]:
    """The Dockerfile split at each FROM (instructions with their continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", text)
    parts = re.split(r"(?m)^FROM ", joined)
    return ["FROM " + p for p in parts[1:]]


def instructions(stage: str, keyword: str) -> list[str]:
    return [line[len(keyword):].strip() for line in stage.splitlines() if line.startswith(keyword + " ")]


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_image_is_multi_stage_slim_and_runs_the_service_as_a_non_root_user(svc):
    text = (ROOT / "services" / svc / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"(?m)^ARG PYTHON_IMAGE=python:3\.11-slim$", text)
    parts = stages(text)
    assert len(parts) >= 2
    assert all(p.startswith("FROM ${PYTHON_IMAGE}") for p in parts)
    build, final = parts[0], parts[-1]
    # compilers in the wheel stage only
    assert "build-essential" in build and "build-essential" not in final and "gcc" not in final
    assert "pip wheel" in build and "-r /wheels/constraints.txt" in build
    # pinned set first, then the library and the service without dependencies
    install = " ".join(instructions(final, "RUN"))
    assert "--no-index" in install and "-r /wheels/constraints.txt" in install
    assert "--no-deps" in install
    assert f"services/{svc}" in build and "libs/grassroots" in build
    user = instructions(final, "USER")
    assert user and not user[-1].startswith(("root", "0")), user
    assert json.loads(instructions(final, "CMD")[-1]) == ["python", "-m", "grassroots.serve", svc]
    assert re.search(r"MIGRATE_ON_START=0\b", final)
    assert instructions(final, "HEALTHCHECK")
    assert "backdoor" not in text.lower()


@pytest.mark.parametrize("svc", [s for s in SERVICES if s != "gateway"])
def test_a_backend_image_is_healthy_when_it_answers_over_the_broker(svc):
    text = (ROOT / "services" / svc / "Dockerfile").read_text(encoding="utf-8")
    assert f'CMD ["python", "-m", "grassroots.probe", "ready", "{svc}"]' in text


def test_the_build_context_leaves_out_the_virtualenv_data_history_tests_and_benchmarks():
    lines = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var", ".git", "tests", "bench"} <= lines
    # what the images copy must stay in the context
    for needed in ("constraints.txt", "libs", "services"):
        assert needed not in lines and f"{needed}/" not in lines
    assert "!deploy/funding" in lines


def test_the_funding_image_holds_the_grant_step_where_the_migration_jobs_call_it():
    import yaml

    from deploy_helpers import DEPLOY
    text = (ROOT / "services" / "funding" / "Dockerfile").read_text(encoding="utf-8")
    copied = re.search(r"(?m)^COPY deploy/funding/apply_grants\.py (\S+)$", text)
    assert copied
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert f"python {copied.group(1)}" in " ".join(compose["services"]["migrate-funding"]["command"])
    jobs = list(yaml.safe_load_all((DEPLOY / "k8s" / "migrations" / "jobs.yaml").read_text(encoding="utf-8")))
    job = next(j for j in jobs if j["metadata"]["name"] == "migrate-funding")
    assert f"python {copied.group(1)}" in " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])

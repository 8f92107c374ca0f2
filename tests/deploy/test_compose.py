"""deploy/docker-compose.yml renders with the example environment, wires every container with healthchecks
and start-up conditions, and refuses to start without its secrets."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from deploy_helpers import BACKENDS, DEPLOY, ROOT, SERVICES

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
INFRA = ("rabbitmq", "postgres", "minio")
SECRETS = ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "INTAKE_DB_PASSWORD", "REVIEW_DB_PASSWORD",
           "EXPERTS_DB_PASSWORD", "NOTIFY_DB_PASSWORD", "GATEWAY_DB_PASSWORD", "FUNDING_OWNER_DB_PASSWORD",
           "FUNDING_APP_DB_PASSWORD", "MINIO_ROOT_PASSWORD", "S3_SECRET_KEY", "JWT_SECRET",
           "AUDIT_CHECKPOINT_KEY", "EXPERTS_ID_HASH_KEY", "EXPERTS_ID_ENCRYPTION_KEY", "SMTP_USERNAME",
           "SMTP_PASSWORD")


def env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def run_config(compose, env_file: Path, *extra: str) -> subprocess.CompletedProcess:
    # A clean environment, so that only the env file feeds the interpolation.
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "DOCKER_CONFIG")}
    return subprocess.run(compose + ["-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", *extra],
                          capture_output=True, text=True, timeout=120, env=clean, cwd=ROOT)


@pytest.fixture(scope="module")
def rendered(compose):
    result = run_config(compose, ENV_EXAMPLE, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def seconds(duration: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(h|ms|m|s)", duration):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def test_the_compose_file_renders_with_the_example_environment(compose):
    result = run_config(compose, ENV_EXAMPLE, "--quiet")
    assert result.returncode == 0, result.stderr


def test_every_service_the_gateway_the_migrations_and_the_infrastructure_are_there(rendered):
    expected = set(INFRA) | set(SERVICES) | {f"migrate-{s}" for s in SERVICES} | {"minio-init"}
    assert expected <= set(rendered["services"])


def test_long_running_containers_have_healthchecks(rendered):
    for name in INFRA + SERVICES:
        check = rendered["services"][name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name
    for svc in BACKENDS:
        assert rendered["services"][svc]["healthcheck"]["test"][1:] == [
            "python", "-m", "grassroots.probe", "ready", svc]
    assert "/readyz" in " ".join(rendered["services"]["gateway"]["healthcheck"]["test"])


def test_services_start_after_a_healthy_broker_and_database_and_their_own_migration(rendered):
    for svc in SERVICES:
        deps = rendered["services"][svc]["depends_on"]
        assert deps["rabbitmq"]["condition"] == "service_healthy", svc
        assert deps["postgres"]["condition"] == "service_healthy", svc
        assert deps[f"migrate-{svc}"]["condition"] == "service_completed_successfully", svc
    assert rendered["services"]["intake"]["depends_on"]["minio-init"]["condition"] == \
        "service_completed_successfully"
    assert rendered["services"]["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_the_gateway_waits_for_every_service_to_be_healthy(rendered):
    deps = rendered["services"]["gateway"]["depends_on"]
    for svc in BACKENDS:
        assert deps[svc]["condition"] == "service_healthy", svc


def test_each_migration_job_upgrades_its_own_database_after_postgres_is_healthy(rendered):
    for svc in SERVICES:
        job = rendered["services"][f"migrate-{svc}"]
        assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert f"grassroots.migrate upgrade {svc}" in " ".join(job["command"])
        assert job.get("restart") in ("no", None)


def test_funding_migrates_as_the_owner_applies_grants_and_runs_as_the_app_role(rendered):
    job = rendered["services"]["migrate-funding"]
    assert job["environment"]["FUNDING_DATABASE_URL"].startswith("postgresql://funding_owner:")
    assert "apply_grants.py" in " ".join(job["command"])
    assert job["environment"]["FUNDING_APP_ROLE"] == "funding_app"
    assert rendered["services"]["funding"]["environment"]["FUNDING_DATABASE_URL"].startswith(
        "postgresql://funding_app:")


def test_services_have_replicas_no_migration_at_start_and_a_long_stop_grace_period(rendered):
    for svc in SERVICES:
        spec = rendered["services"][svc]
        assert int(spec["deploy"]["replicas"]) >= 1, svc
        assert spec["environment"]["MIGRATE_ON_START"] == "0", svc
        assert spec["environment"]["METRICS_PORT"] == "9100", svc
        # Nameko finishes in-flight workers on SIGTERM with no bound; Docker's default 10 s would cut them
        assert seconds(spec["stop_grace_period"]) >= 60, svc
        assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"], svc
    assert int(rendered["services"]["intake"]["deploy"]["replicas"]) >= 2


def test_each_service_database_url_names_its_own_database_and_role(rendered):
    for svc in SERVICES:
        url = rendered["services"][svc]["environment"][f"{svc.upper()}_DATABASE_URL"]
        role = "funding_app" if svc == "funding" else svc
        assert re.fullmatch(rf"postgresql://{role}:[^@]+@postgres:5432/{svc}", url), url


def test_postgres_runs_the_init_script_that_creates_the_roles(rendered):
    volumes = rendered["services"]["postgres"]["volumes"]
    assert any(v["target"] == "/docker-entrypoint-initdb.d" and v["source"].endswith("deploy/postgres/init")
               for v in volumes)
    script = (DEPLOY / "postgres" / "init" / "10-roles-and-databases.sh").read_text()
    for name in ("intake", "review", "experts", "notify", "gateway", "funding_owner", "funding_app"):
        assert name in script


def test_without_an_env_file_compose_refuses_to_start_and_names_the_missing_secret(compose, tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run_config(compose, empty, "--quiet")
    assert result.returncode != 0
    assert re.search(r"required variable \w+ is missing", result.stderr), result.stderr


@pytest.mark.parametrize("secret", SECRETS)
def test_each_secret_is_required(compose, tmp_path, secret):
    values = env_example()
    values.pop(secret)
    env_file = tmp_path / "partial.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    result = run_config(compose, env_file, "--quiet")
    assert result.returncode != 0, f"{secret} has a default"
    assert secret in result.stderr


def test_no_secret_has_a_value_in_the_compose_file():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(?![A-Z0-9_])([^}]*)\}", text)
        assert uses, secret
        for tail in uses:  # ${VAR:?message} (set and not empty) or ${VAR?message} (set, may be empty)
            assert tail.startswith((":?", "?")), (secret, tail)
        # and never as a literal key: value
        assert not re.search(rf"^\s*{secret}:\s*[^\s\"$]", text, re.M), secret


def test_every_variable_the_compose_file_reads_is_documented_in_the_env_example():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    documented = env_example()
    assert used - set(documented) == set()
    # each documented variable sits under a comment that says what it is
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            j = i - 1
            while j >= 0 and lines[j] and not lines[j].startswith("#"):
                j -= 1
            assert j >= 0 and lines[j].startswith("#"), line
    assert set(documented) - used == set(), "documented but unused"


def test_kubernetes_gives_each_service_every_variable_compose_gives_it(rendered):
    """The two deployments drift apart silently otherwise: a setting added to one only works there."""
    import yaml

    k8s = DEPLOY / "k8s"
    docs = [d for p in k8s.rglob("*.yaml") if p.name != "kustomization.yaml"
            for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d]
    configmap = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "grassroots-config")
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for svc in SERVICES:
        container = deployments[svc]["spec"]["template"]["spec"]["containers"][0]
        names = {e["name"] for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                names |= set(configmap["data"])
            if "secretRef" in source:
                names |= set(secrets[source["secretRef"]["name"]]["stringData"])
        missing = set(rendered["services"][svc]["environment"]) - names
        assert not missing, f"{svc}: set in Compose, not in Kubernetes: {sorted(missing)}"

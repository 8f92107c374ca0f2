"""deploy/k8s: every manifest is valid against the Kubernetes JSON schemas (offline, kubernetes-validate),
every Deployment has both probes, resources, a matching HorizontalPodAutoscaler and PodDisruptionBudget,
and the pieces refer to each other correctly (Secrets, ConfigMaps, Services, kustomizations)."""
from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from deploy_helpers import BACKENDS, DEPLOY, SERVICES

K8S = DEPLOY / "k8s"
# the oldest Kubernetes minor still commonly run, and the newest the validator ships schemas for
SCHEMA_VERSIONS = ("1.29.0", "1.37.0")


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> tuple:
    return tuple(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)


def load(path: Path) -> list[dict]:
    """The objects of one manifest file (parsed once per run; tests read them, never change them)."""
    return list(_parsed(path))


def all_objects(include_examples: bool = True) -> list[dict]:
    out = []
    for path in manifest_files():
        if include_examples or path.name != "secrets.example.yaml":
            out += load(path)
    return out


def objects(kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in all_objects() if o["kind"] == kind}


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def containers(obj: dict) -> list[dict]:
    spec = pod_spec(obj)
    return spec.get("initContainers", []) + spec["containers"]


def main_container(deployment: dict) -> dict:
    name = deployment["metadata"]["name"]
    return next(c for c in pod_spec(deployment)["containers"] if c["name"] == name)


def cases() -> list[tuple[str, int, dict]]:
    return [(str(p.relative_to(K8S)), i, d) for p in manifest_files() for i, d in enumerate(load(p))]


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("where,index,obj", cases(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_manifest_is_valid_against_the_kubernetes_schema(where, index, obj, version):
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate is not installed: .venv/bin/pip install -c constraints.txt "
               "-r deploy/requirements.txt")
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{where}[{index}] {obj['kind']}/{obj['metadata']['name']}: {exc}")


def test_every_object_is_in_the_grassroots_namespace():
    for obj in all_objects():
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == "grassroots"
        else:
            assert obj["metadata"].get("namespace") == "grassroots", obj["metadata"]["name"]


def test_there_is_a_deployment_and_a_migration_job_per_service():
    deployments, jobs = objects("Deployment"), objects("Job")
    assert set(deployments) == set(SERVICES)
    for svc in SERVICES:
        job = jobs[f"migrate-{svc}"]
        command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
        assert f"grassroots.migrate upgrade {svc}" in command
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")


@pytest.mark.parametrize("svc", BACKENDS)
def test_a_service_is_ready_when_it_answers_over_the_broker_and_alive_while_it_serves_metrics(svc):
    container = main_container(objects("Deployment")[svc])
    assert container["readinessProbe"]["exec"]["command"] == ["python", "-m", "grassroots.probe", "ready", svc]
    liveness = container["livenessProbe"]["httpGet"]
    assert liveness["path"] == "/metrics"
    port = next(p for p in container["ports"] if p["name"] == liveness["port"])
    assert port["containerPort"] == int(objects("ConfigMap")["grassroots-config"]["data"]["METRICS_PORT"])


def test_the_gateway_is_ready_on_readyz_and_alive_on_healthz():
    container = main_container(objects("Deployment")["gateway"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port_names[container["readinessProbe"]["httpGet"]["port"]] == 8000
    assert objects("ConfigMap")["grassroots-config"]["data"]["GATEWAY_ADDRESS"].endswith(":8000")


def test_every_container_has_cpu_and_memory_requests_and_limits():
    for obj in all_objects():
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            for c in containers(obj):
                for section in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(c["resources"][section]), (obj["metadata"]["name"], c["name"])


@pytest.mark.parametrize("svc", SERVICES)
def test_each_deployment_has_a_matching_autoscaler_and_disruption_budget(svc):
    deployment = objects("Deployment")[svc]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    hpas = [h for h in objects("HorizontalPodAutoscaler").values()
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc}]
    assert len(hpas) == 1 and hpas[0]["apiVersion"] == "autoscaling/v2"
    assert 2 <= hpas[0]["spec"]["minReplicas"] <= hpas[0]["spec"]["maxReplicas"]
    # the autoscaler owns the replica count: a replicas field would reset it on every apply
    assert "replicas" not in deployment["spec"]
    pdbs = [p for p in objects("PodDisruptionBudget").values()
            if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
    assert len(pdbs) == 1 and pdbs[0]["apiVersion"] == "policy/v1"
    # a budget that can always be met: fewer pods must stay than the autoscaler's minimum
    assert pdbs[0]["spec"]["minAvailable"] < hpas[0]["spec"]["minReplicas"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("svc", SERVICES)
def test_service_pods_run_non_root_on_a_read_only_root_and_outlast_their_slowest_worker(svc):
    for obj in (objects("Deployment")[svc], objects("Job")[f"migrate-{svc}"]):
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
        for c in containers(obj):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert any(m["mountPath"] == "/tmp" for m in c.get("volumeMounts", [])) or c["name"].startswith("wait")
    rpc_timeout = float(objects("ConfigMap")["grassroots-config"]["data"]["RPC_TIMEOUT_SECONDS"])
    grace = pod_spec(objects("Deployment")[svc])["terminationGracePeriodSeconds"]
    assert grace >= 60 and grace > 2 * rpc_timeout


def test_migrations_never_run_at_service_start():
    assert objects("ConfigMap")["grassroots-config"]["data"]["MIGRATE_ON_START"] == "0"
    for svc in SERVICES:
        refs = [e["configMapRef"]["name"] for e in main_container(objects("Deployment")[svc]).get("envFrom", [])
                if "configMapRef" in e]
        assert "grassroots-config" in refs, svc


def test_funding_migrates_as_the_owner_and_runs_as_the_app_role():
    job = objects("Job")["migrate-funding"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in job["env"]}
    assert env["FUNDING_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "funding-owner-secrets"
    assert env["FUNDING_APP_ROLE"]["value"] == "funding_app"
    assert "apply_grants.py" in " ".join(job["command"])
    secrets = objects("Secret")
    assert secrets["funding-owner-secrets"]["stringData"]["FUNDING_DATABASE_URL"].startswith(
        "postgresql://funding_owner:")
    assert secrets["funding-secrets"]["stringData"]["FUNDING_DATABASE_URL"].startswith("postgresql://funding_app:")
    deployment = main_container(objects("Deployment")["funding"])
    assert {"secretRef": {"name": "funding-secrets"}} in deployment["envFrom"]
    assert {"secretRef": {"name": "funding-owner-secrets"}} not in deployment["envFrom"]


def test_every_secret_and_config_reference_names_a_key_that_exists():
    secrets = {n: set(s.get("stringData", {})) | set(s.get("data", {})) for n, s in objects("Secret").items()}
    configs = {n: set(c["data"]) for n, c in objects("ConfigMap").items()}
    for obj in all_objects():
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for c in containers(obj):
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    assert e["secretRef"]["name"] in secrets
                if "configMapRef" in e:
                    assert e["configMapRef"]["name"] in configs
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["key"] in secrets[ref["secretKeyRef"]["name"]], e
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["key"] in configs[ref["configMapKeyRef"]["name"]], e


def test_secrets_hold_placeholders_only():
    for name, secret in objects("Secret").items():
        assert "data" not in secret, name
        for key, value in secret["stringData"].items():
            secretish = any(w in key for w in ("PASS", "SECRET", "KEY", "URL", "URI")) and not key.endswith(
                ("ACCESS_KEY", "_USER"))
            if secretish and value:
                assert "CHANGE-ME" in value, (name, key)


def test_the_gateway_is_exposed_through_a_service_and_an_ingress():
    service = objects("Service")["gateway"]
    assert service["spec"]["selector"].items() <= \
        objects("Deployment")["gateway"]["spec"]["template"]["metadata"]["labels"].items()
    ingress = objects("Ingress")["gateway"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_broker_database_and_object_store_are_stateful_sets_with_their_services():
    statefulsets, services = objects("StatefulSet"), objects("Service")
    for name in ("rabbitmq", "postgres", "minio"):
        sts = statefulsets[name]
        assert sts["spec"]["serviceName"] in services
        assert sts["spec"]["volumeClaimTemplates"]
        c = pod_spec(sts)["containers"][0]
        assert c.get("readinessProbe") and c.get("livenessProbe"), name
    assert "3." in pod_spec(statefulsets["rabbitmq"])["containers"][0]["image"]
    assert "management" in pod_spec(statefulsets["rabbitmq"])["containers"][0]["image"]
    assert pod_spec(statefulsets["postgres"])["containers"][0]["image"].startswith("postgres:15")
    assert "minio-init" in objects("Job")


def test_the_postgres_init_configmap_is_the_compose_init_script():
    script = (DEPLOY / "postgres" / "init" / "10-roles-and-databases.sh").read_text(encoding="utf-8")
    assert objects("ConfigMap")["postgres-init"]["data"]["10-roles-and-databases.sh"] == script


def test_the_kustomizations_include_every_manifest_except_the_secret_examples():
    included: set[Path] = set()

    def walk(directory: Path):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        assert kustomization["namespace"] == "grassroots"
        for entry in kustomization["resources"]:
            target = (directory / entry).resolve()
            assert target.exists(), target
            if target.is_dir():
                walk(target)
            else:
                included.add(target)

    walk(K8S)
    expected = {p.resolve() for p in manifest_files() if p.name != "secrets.example.yaml"}
    assert included == expected
    images = {i["name"] for i in yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"]}
    for obj in objects("Deployment").values():
        assert main_container(obj)["image"].split(":")[0] in images

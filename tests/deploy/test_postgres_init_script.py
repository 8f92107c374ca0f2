"""deploy/postgres/init/10-roles-and-databases.sh on a throwaway PostgreSQL cluster (its role names are fixed,
so never on a shared server): one database and role per service, funding's two roles, nothing for PUBLIC, and
safe to run twice. Skips when initdb/pg_ctl/psql are not installed."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from deploy_helpers import DEPLOY

SCRIPT = DEPLOY / "postgres" / "init" / "10-roles-and-databases.sh"
PASSWORDS = {"INTAKE_DB_PASSWORD": "a1", "REVIEW_DB_PASSWORD": "b2", "EXPERTS_DB_PASSWORD": "c'3",
             "NOTIFY_DB_PASSWORD": "d4", "GATEWAY_DB_PASSWORD": "e5", "FUNDING_OWNER_DB_PASSWORD": "f6",
             "FUNDING_APP_DB_PASSWORD": "g7"}


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


@pytest.fixture
def cluster():
    initdb, pg_ctl, psql = _tool("initdb"), _tool("pg_ctl"), _tool("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("initdb, pg_ctl and psql are needed for a throwaway PostgreSQL cluster")
    as_user: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="grassroots-pginit-"))
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        try:
            shutil.chown(workdir, user="postgres")
        except (LookupError, PermissionError):
            pytest.skip("running as root and there is no postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = workdir / "data"
    subprocess.run(as_user + [initdb, "-D", str(data), "-U", "postgres", "-A", "trust"], check=True,
                   capture_output=True)
    subprocess.run(as_user + [pg_ctl, "-D", str(data), "-l", str(workdir / "log"), "-w", "-o",
                              f"-p {port} -k {workdir} -c listen_addresses=''", "start"],
                   check=True, capture_output=True)
    env = {**os.environ, "PGHOST": str(workdir), "PGPORT": str(port), "PGUSER": "postgres"}
    try:
        yield {"env": env, "psql": psql}
    finally:
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        time.sleep(0.2)
        shutil.rmtree(workdir, ignore_errors=True)


def query(cluster, sql: str, db: str = "postgres") -> list[str]:
    out = subprocess.run([cluster["psql"], "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                         env=cluster["env"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


def run_script(cluster, **overrides) -> subprocess.CompletedProcess:
    env = {**cluster["env"], **PASSWORDS, **overrides}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def test_each_service_gets_its_database_and_role_and_funding_gets_an_owner_and_an_app_role(cluster):
    first = run_script(cluster)
    assert first.returncode == 0, first.stderr
    again = run_script(cluster)   # a restart with the same volume, or a manual rerun
    assert again.returncode == 0, again.stderr

    owners = dict(r.split("|") for r in query(
        cluster, "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE NOT datistemplate"))
    assert owners == {"postgres": "postgres", "intake": "intake", "review": "review", "experts": "experts",
                      "notify": "notify", "gateway": "gateway", "funding": "funding_owner"}
    flags = dict(r.split("|", 1) for r in query(
        cluster, "SELECT rolname, rolsuper::text || rolcreatedb::text || rolcreaterole::text || rolcanlogin::text "
                 "FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'"))
    assert flags == {r: "falsefalsefalsetrue" for r in
                     ("intake", "review", "experts", "notify", "gateway", "funding_owner", "funding_app")}

    def can_connect(role, db):
        return query(cluster, f"SELECT has_database_privilege('{role}', '{db}', 'CONNECT')") == ["t"]

    assert can_connect("funding_app", "funding") and can_connect("funding_owner", "funding")
    assert not can_connect("funding_app", "intake") and not can_connect("intake", "review")
    assert query(cluster, "SELECT pg_has_role('funding_app', 'funding_owner', 'MEMBER')") == ["f"]
    assert query(cluster, "SELECT has_schema_privilege('funding_app', 'public', 'CREATE')", db="funding") == ["f"]
    assert query(cluster, "SELECT has_schema_privilege('funding_owner', 'public', 'CREATE')", db="funding") == ["t"]


def test_a_missing_password_stops_the_init_script_before_it_creates_anything(cluster):
    # the postgres image never reruns init scripts on an initialised volume: a half-done run would stay so
    result = run_script(cluster, FUNDING_APP_DB_PASSWORD="")
    assert result.returncode != 0
    assert "FUNDING_APP_DB_PASSWORD is not set" in result.stderr
    assert query(cluster, "SELECT count(*) FROM pg_roles WHERE rolname IN ('intake', 'funding_owner')") == ["0"]
    assert query(cluster, "SELECT count(*) FROM pg_database WHERE datname = 'intake'") == ["0"]

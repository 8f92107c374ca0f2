"""The admin command creates users (argon2 hashes) and refuses bad input with a stable code."""
import json
import subprocess
import sys

import sqlalchemy as sa

from grassroots.migrate import upgrade


def run(url, *args):
    env = {"GATEWAY_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "gateway.admin", *args], env=env, capture_output=True, text=True)


def test_an_admin_creates_a_user_whose_password_is_stored_hashed(database_url):
    url = database_url("gateway")
    upgrade("gateway", url)
    out = run(url, "create-user", "--username", "li.officer", "--password", "long-enough-pass", "--role",
              "programme_officer", "--name", "李处长")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["role"] == "programme_officer"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM user_account")).scalar()
    engine.dispose()
    assert stored.startswith("$argon2") and "long-enough-pass" not in stored


def test_a_short_password_or_unknown_role_is_refused_and_nothing_is_stored(database_url):
    url = database_url("gateway")
    upgrade("gateway", url)
    out = run(url, "create-user", "--username", "x1y", "--password", "short", "--role", "king")
    assert out.returncode == 2
    err = json.loads(out.stderr)
    assert err["code"] == "user_invalid" and {d["path"] for d in err["details"]} == {"password", "role"}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM user_account")).scalar() == 0
    engine.dispose()

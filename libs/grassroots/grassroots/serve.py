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


GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the hot path of a long-running service.

    What the process built to start (modules, mappers, templates, the schema) is moved out of the collector's
    sight (``gc.freeze``), and the youngest generation is collected every 10,000 net allocations instead of
    700: with the defaults, full scans of a heap of a few hundred thousand objects, started by whichever
    allocation crossed the line, took about a seventh of notify's CPU under a burst. Reference counting
    still frees everything that is not in a cycle at once; cycles wait a little longer.
    """
    import gc
    if os.environ.get("GC_TUNING", "1") != "1":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


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
    tune_gc()
    log.info("started", service=args.service, pid=os.getpid(),
             database=cfg["DATABASE_URL"].split("@")[-1])
    signum = stopping.wait()
    log.info("stopping", signal=signum)
    runner.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

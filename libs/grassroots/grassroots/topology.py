"""The broker topology every service declares at start-up, so that no event is ever dropped.

RabbitMQ drops an event published to an exchange with no bound queue. A consumer's queue only exists once
that consumer has started once, so on a fresh broker an event published by a service that starts first would
be lost. Every service therefore declares, at start-up, the exchanges and durable queues of ALL event
subscriptions of the suite (with the same arguments its consumer uses), from ``subscriptions.json`` beside
this file. ``python -m grassroots.topology generate`` rewrites that file from the installed services, and a
test fails when it is out of date.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from kombu import Connection, Exchange, Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.standalone.events import get_event_exchange

from .events import DLX_NAME, EventHandler

FILE = Path(__file__).with_name("subscriptions.json")
SERVICE_NAMES = ("intake", "review", "experts", "funding", "notify", "gateway")


def introspect(services=SERVICE_NAMES) -> list[dict]:
    """Every event subscription of the installed services: source, event type, queue name."""
    subs = []
    for svc in services:
        cls = importlib.import_module(f"{svc}.service").SERVICE
        for attr in dir(cls):
            method = getattr(cls, attr, None)
            for ext in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(ext, EventHandler):
                    subs.append({"source": ext.source_service, "event_type": ext.event_type,
                                 "queue": f"evt-{ext.source_service}-{ext.event_type}--{cls.name}.{attr}"})
    return sorted(subs, key=lambda s: s["queue"])


def load() -> list[dict]:
    return json.loads(FILE.read_text()) if FILE.exists() else []


def declare_all(amqp_uri: str, quorum: bool = False, subscriptions: list[dict] | None = None) -> int:
    subs = load() if subscriptions is None else subscriptions
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        dlx = Exchange(DLX_NAME, type="direct", durable=True)
        dlx(channel).declare()
        for s in subs:
            exchange = get_event_exchange(s["source"], {})
            exchange(channel).declare()
            args = {"x-dead-letter-exchange": DLX_NAME, "x-dead-letter-routing-key": s["queue"]}
            if quorum:
                args["x-queue-type"] = "quorum"
            Queue(s["queue"], exchange=exchange, routing_key=s["event_type"], durable=True, auto_delete=False,
                  queue_arguments=args)(channel).declare()
            Queue(f"{s['queue']}.dlq", exchange=dlx, routing_key=s["queue"], durable=True)(channel).declare()
    return len(subs)


class Topology(DependencyProvider):
    """Declares the suite's subscriptions when the service starts (before its relay publishes anything)."""

    def setup(self):
        cfg = self.container.config
        try:
            declare_all(cfg["AMQP_URI"], bool(cfg.get("QUORUM_QUEUES")))
        except Exception as exc:  # noqa: BLE001 - the broker may be late; consumers declare their own queues
            from .logging import get_logger
            get_logger(__name__).warning("topology_not_declared", error=str(exc))

    def get_dependency(self, worker_ctx):
        return None


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    if argv[:1] == ["generate"]:
        subs = introspect()
        FILE.write_text(json.dumps(subs, indent=1) + "\n")
        print(f"wrote {len(subs)} subscriptions to {FILE}")
        return 0
    if argv[:1] == ["declare"]:
        import os
        print(f"declared {declare_all(os.environ.get('AMQP_URI', 'amqp://guest:guest@127.0.0.1:5672/'))} "
              "subscriptions")
        return 0
    print("usage: python -m grassroots.topology generate|declare", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""Prometheus metrics and the per-worker observability dependency.

``Observability`` binds the log context (entrypoint, call id, correlation id, user) for each worker and
records entrypoint calls, latency and errors. ``MetricsServer`` serves /metrics on ``METRICS_PORT``
(no server when it is 0/unset).

Usage:
    class MyService:
        obs = Observability()
        metrics = MetricsServer()
"""
from __future__ import annotations

import time

import structlog
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from .context import USER_KEY, Actor, correlation_id_of

ENTRYPOINT_CALLS = Counter("grassroots_entrypoint_calls_total", "Entrypoint calls",
                           ["service", "entrypoint"])
ENTRYPOINT_ERRORS = Counter("grassroots_entrypoint_errors_total", "Entrypoint calls that raised",
                            ["service", "entrypoint", "error"])
ENTRYPOINT_LATENCY = Histogram("grassroots_entrypoint_latency_seconds", "Entrypoint latency",
                               ["service", "entrypoint"],
                               buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
EVENTS_PUBLISHED = Counter("grassroots_events_published_total", "Events published from the outbox",
                           ["source", "event_type"])
EVENTS_CONSUMED = Counter("grassroots_events_consumed_total", "Event messages received by handlers",
                          ["service", "event_type"])
OUTBOX_BACKLOG = Gauge("grassroots_outbox_backlog", "Unpublished outbox rows seen by the relay", ["service"])
INBOX_DUPLICATES = Counter("grassroots_inbox_duplicates_skipped_total", "Redelivered events skipped",
                           ["service", "event_type"])


class Observability(DependencyProvider):
    def worker_setup(self, worker_ctx):
        actor = Actor.from_dict(worker_ctx.data.get(USER_KEY)) if worker_ctx.data.get(USER_KEY) else None
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=worker_ctx.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            call_id=worker_ctx.call_id,
            correlation_id=correlation_id_of(worker_ctx),
            user_id=actor.id if actor else None,
        )
        worker_ctx.data.setdefault("_t0", time.perf_counter())
        ENTRYPOINT_CALLS.labels(worker_ctx.service_name, worker_ctx.entrypoint.method_name).inc()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        try:
            t0 = worker_ctx.data.pop("_t0", None)
            name = worker_ctx.entrypoint.method_name
            if t0 is not None:
                ENTRYPOINT_LATENCY.labels(worker_ctx.service_name, name).observe(time.perf_counter() - t0)
            if exc_info is not None:
                ENTRYPOINT_ERRORS.labels(worker_ctx.service_name, name, exc_info[0].__name__).inc()
        except Exception:  # noqa: BLE001 - never let metrics kill the container
            pass

    def get_dependency(self, worker_ctx):
        return structlog.get_logger(worker_ctx.service_name)


_started_ports: set = set()


class MetricsServer(DependencyProvider):
    """Starts the process-wide /metrics server once (one per process, whatever the number of containers)."""

    def setup(self):
        port = int(self.container.config.get("METRICS_PORT") or 0)
        if port and port not in _started_ports:
            start_http_server(port, addr=self.container.config.get("METRICS_ADDRESS", "0.0.0.0"))
            _started_ports.add(port)

    def get_dependency(self, worker_ctx):
        return None

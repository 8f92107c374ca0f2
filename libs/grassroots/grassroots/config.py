"""Settings from the environment (12-factor), with defaults that run locally.

Every service process builds its Nameko config with ``nameko_config(service)``; dependency providers then
read their settings from ``container.config`` in ``setup()`` (so tests can pass a config dict instead).

Environment (all optional):
    AMQP_URI                 amqp://guest:guest@127.0.0.1:5672/
    <SERVICE>_DATABASE_URL   e.g. INTAKE_DATABASE_URL; falls back to DATABASE_URL, then
                             sqlite:///<DATA_DIR>/<service>.db
    DATA_DIR                 ./var/data
    MAX_WORKERS              10 (the engine pool is sized to it)
    S3_ENDPOINT              127.0.0.1:9000      S3_PUBLIC_ENDPOINT (what browsers reach; default S3_ENDPOINT)
    S3_ACCESS_KEY/S3_SECRET_KEY  grassroots / grassroots-secret
    S3_BUCKET                grassroots-documents  S3_SECURE 0|1  S3_REGION us-east-1
    S3_PUBLIC_SECURE         0|1: scheme of presigned URLs (default: S3_SECURE)
    JWT_SECRET               (a development default; set it in deployment)   JWT_TTL_SECONDS 3600
    GATEWAY_ADDRESS          127.0.0.1:8000
    LOG_FORMAT               console|json (json when not a terminal)   LOG_LEVEL INFO
    METRICS_PORT             (unset: no metrics server)
    EVENT_MAX_ATTEMPTS       5 (then the message goes to <queue>.dlq)   EVENT_RETRY_BASE_SECONDS 0.5
    EVENT_BATCH_SIZE         events per batch of a batch_event_handler (default: 25; two in flight)
    QUORUM_QUEUES            0|1 (declare handler queues as quorum queues; the broker must support them)
    PG_PREPARED_STATEMENTS   on|off (PostgreSQL: statements run often are prepared per connection; off behind
                             a pooler in transaction mode, e.g. PgBouncer's pool_mode=transaction)
    JWT_SECRET_PREVIOUS      accepted for verification during a key rotation
    SMTP_*, SMS_*, EXPERTS_*, AUDIT_*, NOTIFY_*, INTAKE_*, FUNDING_*, REVIEW_*  passed to the services as strings
    OUTBOX_POLL_SECONDS      1.0   OUTBOX_LINGER_SECONDS 0.01 (pause after a commit's wake-up while commits come closer than it and
                                   another transaction of the process is open)
    GC_TUNING                1 (grassroots.serve: gc.freeze after start, gen0 threshold 10,000) | 0 (defaults)
    AUDIT_CHECKPOINT_KEY     base64 Ed25519 private key (funding)
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
    "MAX_WORKERS": "10",
    "S3_ENDPOINT": "127.0.0.1:9000",
    "S3_ACCESS_KEY": "grassroots",
    "S3_SECRET_KEY": "grassroots-secret",
    "S3_BUCKET": "grassroots-documents",
    "S3_SECURE": "0",
    "S3_REGION": "us-east-1",
    "JWT_SECRET": "dev-only-secret-change-me-in-deployment-0123456789",
    "JWT_TTL_SECONDS": "3600",
    "GATEWAY_ADDRESS": "127.0.0.1:8000",
    "LOG_LEVEL": "INFO",
    "OUTBOX_POLL_SECONDS": "1.0",
    "OUTBOX_LINGER_SECONDS": "0.01",
}

SERVICES = ("intake", "review", "experts", "funding", "notify", "gateway")
PASS_THROUGH_PREFIXES = ("SMTP_", "SMS_", "EXPERTS_", "AUDIT_", "NOTIFY_", "INTAKE_", "FUNDING_", "REVIEW_",
                         "GATEWAY_", "METRICS_")


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return DEFAULTS.get(name, default) if default is None else default
    return value


def data_dir() -> Path:
    path = Path(env("DATA_DIR", "var/data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str) -> str:
    url = os.environ.get(f"{service.upper()}_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url or f"sqlite:///{data_dir() / (service + '.db')}"


def nameko_config(service: str) -> dict:
    """The config dict a service container runs with."""
    workers = int(env("MAX_WORKERS"))
    cfg = {
        "AMQP_URI": env("AMQP_URI"),
        "max_workers": workers,
        "parent_calls_tracked": 10,
        "SERVICE_NAME": service,
        "DATABASE_URL": database_url(service),
        "S3_ENDPOINT": env("S3_ENDPOINT"),
        "S3_PUBLIC_ENDPOINT": env("S3_PUBLIC_ENDPOINT", env("S3_ENDPOINT")),
        "S3_ACCESS_KEY": env("S3_ACCESS_KEY"),
        "S3_SECRET_KEY": env("S3_SECRET_KEY"),
        "S3_BUCKET": env("S3_BUCKET"),
        "S3_SECURE": env("S3_SECURE") == "1",
        # Browsers may reach the store through TLS (an Ingress) while services talk plain HTTP inside.
        "S3_PUBLIC_SECURE": (env("S3_PUBLIC_SECURE") == "1") if env("S3_PUBLIC_SECURE", "") else None,
        "S3_REGION": env("S3_REGION"),
        "JWT_SECRET": env("JWT_SECRET"),
        "JWT_TTL_SECONDS": int(env("JWT_TTL_SECONDS")),
        "WEB_SERVER_ADDRESS": env("GATEWAY_ADDRESS"),
        "OUTBOX_POLL_SECONDS": float(env("OUTBOX_POLL_SECONDS")),
        "OUTBOX_LINGER_SECONDS": float(env("OUTBOX_LINGER_SECONDS")),
        "METRICS_PORT": int(env("METRICS_PORT", "0") or 0),
        "METRICS_ADDRESS": env("METRICS_ADDRESS", "0.0.0.0"),
        "AUDIT_CHECKPOINT_KEY": env("AUDIT_CHECKPOINT_KEY", ""),
        "RPC_TIMEOUT_SECONDS": float(env("RPC_TIMEOUT_SECONDS", "30")),
        "JWT_SECRET_PREVIOUS": env("JWT_SECRET_PREVIOUS", ""),
        "EVENT_MAX_ATTEMPTS": int(env("EVENT_MAX_ATTEMPTS", "5")),
        "EVENT_BATCH_SIZE": int(env("EVENT_BATCH_SIZE", "0")) or None,
        "EVENT_RETRY_BASE_SECONDS": float(env("EVENT_RETRY_BASE_SECONDS", "0.5")),
        "QUORUM_QUEUES": env("QUORUM_QUEUES", "0") == "1",
        "PG_PREPARED_STATEMENTS": env("PG_PREPARED_STATEMENTS", "on") != "off",
    }
    # Service-specific settings (SMTP_HOST, EXPERTS_ID_HASH_KEY, NOTIFY_DELIVERY_SECONDS, ...) pass through
    # as strings; each service reads and converts its own in setup().
    for key, value in os.environ.items():
        if key.startswith(PASS_THROUGH_PREFIXES) and not key.endswith("_DATABASE_URL") and key not in cfg:
            cfg[key] = value
    return cfg

"""structlog set-up: JSON lines in deployment, readable locally, PII masked.

Every line carries ``service``; inside a Nameko worker the ``Observability`` dependency binds
``entrypoint``, ``call_id`` and ``correlation_id`` (structlog contextvars are per greenlet under eventlet).
``mask_pii`` replaces phone numbers, resident ID numbers and bank account numbers, both in values of
sensitive keys and anywhere inside strings.

Usage:
    from grassroots.logging import configure, get_logger
    configure("intake")
    log = get_logger(__name__); log.info("application_submitted", application_id=app_id)
"""
from __future__ import annotations

import logging as _stdlib_logging
import os
import re
import sys

import structlog

SENSITIVE_KEYS = ("phone", "mobile", "tel", "id_number", "idcard", "account_number", "bank_account",
                  "account_no", "password", "token", "secret", "email")

_ID_RE = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LONG_DIGITS_RE = re.compile(r"(?<!\d)(\d{4})\d{4,}(\d{4})(?!\d)")
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+)")


def mask_text(text: str) -> str:
    """Mask ID numbers, mobiles, long digit runs (bank accounts, landlines with area code) and e-mails."""
    text = _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    text = _MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
    text = _LONG_DIGITS_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
    text = _EMAIL_RE.sub(lambda m: m.group(1) + "***" + m.group(2), text)
    return text


def _mask_value(key: str | None, value):
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_value(key, v) for v in value]
    if key is not None and any(s in key.lower() for s in SENSITIVE_KEYS) and value not in (None, ""):
        if key.lower() in ("password", "token", "secret") or "password" in key.lower():
            return "***"
        return mask_text(str(value)) if not isinstance(value, bool) else value
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_pii(_logger, _method, event_dict):
    for key in list(event_dict.keys()):
        event_dict[key] = _mask_value(key if key != "event" else None, event_dict[key])
    return event_dict


_configured_service = None


def configure(service: str, level: str | None = None, fmt: str | None = None) -> None:
    global _configured_service
    level_name = (level or os.environ.get("LOG_LEVEL") or "INFO").upper()
    fmt = fmt or os.environ.get("LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_service,
            mask_pii,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(_stdlib_logging, level_name, 20)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured_service = service
    # Nameko and kombu log through the standard library: render their lines like ours (JSON, masked).
    handler = _stdlib_logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.processors.add_log_level,
                           structlog.processors.TimeStamper(fmt="iso", utc=True), _add_service, mask_pii,
                           structlog.processors.format_exc_info]))
    root = _stdlib_logging.getLogger()
    root.handlers = [handler]
    root.setLevel(_stdlib_logging.WARNING)


def _add_service(_logger, _method, event_dict):
    if _configured_service and "service" not in event_dict:
        event_dict["service"] = _configured_service
    return event_dict


def get_logger(name: str | None = None):
    return structlog.get_logger(name)

"""Errors every service raises and the gateway maps to HTTP.

A DomainError carries a stable machine ``code`` (snake_case), a ``message`` a person can act on (Chinese)
and optional JSON-able ``details`` (for form validation: a list of field problems). Nameko serialises
expected exceptions by class name and ``str(exc)``; ``to_wire`` / ``from_wire`` keep the code and details
intact across the RPC hop (the message string is a JSON document).

Usage:
    raise NotFound("application_not_found", "申报材料不存在", {"id": app_id})
"""
from __future__ import annotations

import json
from typing import Any


class DomainError(Exception):
    """Base of all expected errors. ``status`` is the HTTP status the gateway answers with."""

    status = 400

    def __init__(self, code: str, message: str, details: Any = None):
        self.code = code
        self.message = message
        self.details = details
        super().__init__(self.to_wire())

    def to_wire(self) -> str:
        return json.dumps({"code": self.code, "message": self.message, "details": self.details},
                          ensure_ascii=False, default=str)

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(DomainError):
    status = 400


class Unauthenticated(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; ``details`` lists every problem with its path."""

    status = 422


ERROR_CLASSES = {cls.__name__: cls for cls in
                 (DomainError, BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, ValidationFailed)}

# Nameko's expected_exceptions on every RPC entrypoint.
EXPECTED = tuple(ERROR_CLASSES.values())


def from_wire(exc_type: str, value: str) -> DomainError | None:
    """Rebuild a DomainError from a Nameko RemoteError's exc_type and value, or None if it isn't one."""
    cls = ERROR_CLASSES.get(exc_type)
    if cls is None:
        return None
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return cls("internal_error", str(value))
    return cls(data.get("code", "error"), data.get("message", ""), data.get("details"))

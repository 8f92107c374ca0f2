"""What every channel promises: ``deliver(intent)`` returns on success or raises ``DeliveryError``."""
from __future__ import annotations

from typing import Protocol

from ..domain.model import MessageIntent
from ..domain.retry import PERMANENT, RETRYABLE, ErrorClass


class DeliveryError(Exception):
    """A send that did not happen. ``retryable`` says whether trying again later may help.

    ``reason`` is English and masked (no address in clear): it goes to logs and the delivery log.
    """

    def __init__(self, kind: str, reason: str, code: int | None = None):
        if kind not in (RETRYABLE, PERMANENT):
            raise ValueError(f"unknown error kind {kind!r}")
        self.kind = kind
        self.reason = reason
        self.code = code
        super().__init__(f"{kind}: {reason}")

    @property
    def retryable(self) -> bool:
        return self.kind == RETRYABLE

    @classmethod
    def from_class(cls, error: ErrorClass) -> "DeliveryError":
        return cls(error.kind, error.reason, error.code)

    def to_error_class(self) -> ErrorClass:
        return ErrorClass(self.kind, self.code, self.reason)


class Channel(Protocol):
    name: str

    def deliver(self, intent: MessageIntent) -> None:
        """Send one intent; raise DeliveryError when it could not be sent."""

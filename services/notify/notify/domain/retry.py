"""Retry policy for failed sends: exponential backoff with jitter, and which SMTP errors are worth retrying.

A delivery starts ``pending``; each failed attempt is classified. A permanent error (5xx: mailbox
unavailable, bad address, refused sender or credentials) makes it ``failed`` at once; a retryable one
(connection trouble, timeouts, 4xx) makes it ``retrying`` with ``next_attempt_at``, until the policy's
last attempt, after which it is ``failed`` and shown to officers in the delivery log.
"""
from __future__ import annotations

import datetime as dt
import random
import smtplib
import ssl
from dataclasses import dataclass
from typing import Callable

from .masking import mask_text

PENDING = "pending"
SENT = "sent"
RETRYING = "retrying"
FAILED = "failed"
STATUSES = (PENDING, SENT, RETRYING, FAILED)

RETRYABLE = "retryable"
PERMANENT = "permanent"


@dataclass(frozen=True)
class RetryPolicy:
    """``attempt`` n (1-based, the attempts made so far) waits base * factor**(n-1), capped at max_delay.

    ``jitter`` is the fraction of that delay that is randomised (0.5: between half and all of it), so that
    many messages failing together do not retry together.
    """

    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    max_attempts: int = 6
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    jitter: float = 0.5

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.factor < 1.0:
            raise ValueError("factor must be at least 1")

    def delay(self, attempt: int, rand: float) -> dt.timedelta:
        """The wait after the ``attempt``-th failure for a uniform ``rand`` in [0, 1]."""
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        seconds = self.base.total_seconds() * (self.factor ** (attempt - 1))
        capped = min(seconds, self.max_delay.total_seconds())
        return dt.timedelta(seconds=capped * (1.0 - self.jitter + self.jitter * rand))


DEFAULT_POLICY = RetryPolicy()


def next_attempt_at(attempt: int, now: dt.datetime, policy: RetryPolicy = DEFAULT_POLICY,
                    rand: Callable[[], float] = random.random) -> dt.datetime | None:
    """When to try again after ``attempt`` attempts have failed, or None when no attempt is left."""
    if attempt >= policy.max_attempts:
        return None
    return now + policy.delay(attempt, rand())


@dataclass(frozen=True)
class ErrorClass:
    kind: str          # RETRYABLE or PERMANENT
    code: int | None   # the SMTP reply code when there is one
    reason: str        # English, masked: safe for logs and the delivery log

    @property
    def retryable(self) -> bool:
        return self.kind == RETRYABLE


def _reply_kind(code: int | None) -> str:
    # 5xx is the server saying "never"; 4xx is "not now", and no usable code (-1 from smtplib on a
    # broken connection) is the network: both are worth another try.
    if code is not None and 500 <= code < 600:
        return PERMANENT
    return RETRYABLE


def _decode(message) -> str:
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return str(message)


def classify_smtp_error(exc: BaseException) -> ErrorClass:
    """Retryable: connection errors, timeouts, 4xx replies. Permanent: 5xx replies and configuration errors."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        # One mailbox temporarily unavailable is worth retrying even if another is gone for good.
        kind = RETRYABLE if any(400 <= c < 500 for c in codes) else PERMANENT
        first = codes[0] if codes else None
        replies = "; ".join(f"{c} {_decode(m)}" for c, m in exc.recipients.values())
        return ErrorClass(kind, first, mask_text(f"recipients refused: {replies}"))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code if isinstance(exc.smtp_code, int) else None
        return ErrorClass(_reply_kind(code), code,
                          mask_text(f"{type(exc).__name__}: {code} {_decode(exc.smtp_error)}"))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ErrorClass(PERMANENT, None, f"server does not support: {mask_text(str(exc))}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = getattr(exc, "verify_message", None) or exc
        return ErrorClass(PERMANENT, None, f"TLS certificate rejected: {detail}")
    # smtplib's other errors (SMTPServerDisconnected...) are OSErrors too: a dropped line, worth a retry.
    if isinstance(exc, OSError):
        return ErrorClass(RETRYABLE, None, mask_text(f"{type(exc).__name__}: {exc}"))
    return ErrorClass(PERMANENT, None, mask_text(f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class AttemptOutcome:
    status: str                        # SENT, RETRYING or FAILED
    attempts: int
    next_attempt_at: dt.datetime | None
    error: str | None


def after_success(attempt: int) -> AttemptOutcome:
    return AttemptOutcome(SENT, attempt, None, None)


def after_failure(attempt: int, now: dt.datetime, error: ErrorClass, policy: RetryPolicy = DEFAULT_POLICY,
                  rand: Callable[[], float] = random.random) -> AttemptOutcome:
    """What the delivery becomes after its ``attempt``-th attempt failed with ``error``."""
    if not error.retryable:
        return AttemptOutcome(FAILED, attempt, None, error.reason)
    when = next_attempt_at(attempt, now, policy, rand)
    if when is None:
        return AttemptOutcome(FAILED, attempt, None, error.reason)
    return AttemptOutcome(RETRYING, attempt, when, error.reason)

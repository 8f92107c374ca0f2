"""Retry policy: exponential backoff with jitter, bounded; SMTP errors classified retryable or permanent."""
from __future__ import annotations

import datetime as dt
import smtplib
import socket
import ssl

import pytest

from notify.domain.retry import (FAILED, PERMANENT, RETRYABLE, RETRYING, SENT, RetryPolicy, after_failure,
                                 after_success, classify_smtp_error, next_attempt_at)

NOW = dt.datetime(2025, 1, 20, 8, 0, tzinfo=dt.timezone.utc)
POLICY = RetryPolicy(base=dt.timedelta(seconds=30), factor=2.0, max_attempts=5,
                     max_delay=dt.timedelta(minutes=5), jitter=0.5)


def wait(attempt, rand):
    return next_attempt_at(attempt, NOW, POLICY, rand=lambda: rand) - NOW


def test_the_wait_grows_by_the_factor_with_each_failed_attempt():
    assert [wait(n, 1.0).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]


def test_the_wait_never_exceeds_the_maximum_delay():
    assert wait(4, 1.0) == dt.timedelta(minutes=4)
    long = RetryPolicy(base=dt.timedelta(seconds=30), max_attempts=20, max_delay=dt.timedelta(minutes=5))
    assert long.delay(15, 1.0) == dt.timedelta(minutes=5)


def test_jitter_spreads_the_wait_between_half_and_all_of_it():
    assert wait(2, 0.0) == dt.timedelta(seconds=30)
    assert wait(2, 0.5) == dt.timedelta(seconds=45)
    assert wait(2, 1.0) == dt.timedelta(seconds=60)


def test_without_jitter_the_wait_is_exact():
    exact = RetryPolicy(base=dt.timedelta(seconds=10), jitter=0.0)
    assert exact.delay(3, 0.0) == exact.delay(3, 1.0) == dt.timedelta(seconds=40)


def test_there_is_no_next_attempt_after_the_last_one():
    assert next_attempt_at(4, NOW, POLICY, rand=lambda: 0.5) is not None
    assert next_attempt_at(5, NOW, POLICY, rand=lambda: 0.5) is None


def test_the_default_policy_jitters_with_real_randomness():
    waits = {next_attempt_at(1, NOW) for _ in range(20)}
    assert len(waits) > 1
    assert all(NOW + dt.timedelta(seconds=15) <= w <= NOW + dt.timedelta(seconds=30) for w in waits)


@pytest.mark.parametrize("bad", [dict(max_attempts=0), dict(jitter=1.5), dict(factor=0.5)])
def test_a_nonsensical_policy_is_refused(bad):
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connection refused"),
    socket.timeout("timed out"),
    smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    smtplib.SMTPConnectError(421, b"Service not available"),
    smtplib.SMTPDataError(451, b"Requested action aborted: local error"),
    smtplib.SMTPSenderRefused(452, b"Insufficient system storage", "noreply@nmg.example.cn"),
    smtplib.SMTPRecipientsRefused({"a@x.cn": (450, b"Mailbox busy")}),
])
def test_connection_errors_and_4xx_replies_are_retryable(exc):
    assert classify_smtp_error(exc).kind == RETRYABLE


@pytest.mark.parametrize("exc", [
    smtplib.SMTPRecipientsRefused({"a@x.cn": (550, b"Mailbox unavailable")}),
    smtplib.SMTPDataError(554, b"Transaction failed"),
    smtplib.SMTPSenderRefused(553, b"Sender address rejected", "noreply@nmg.example.cn"),
    smtplib.SMTPAuthenticationError(535, b"Authentication credentials invalid"),
    smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
    ssl.SSLCertVerificationError("certificate verify failed"),
    ValueError("a bug, not the network"),
])
def test_5xx_replies_and_configuration_errors_are_permanent(exc):
    assert classify_smtp_error(exc).kind == PERMANENT


def test_one_recipient_temporarily_unavailable_makes_a_mixed_refusal_retryable():
    exc = smtplib.SMTPRecipientsRefused({"a@x.cn": (550, b"gone"), "b@x.cn": (451, b"try later")})
    assert classify_smtp_error(exc).kind == RETRYABLE


def test_the_classified_reason_carries_the_code_but_no_address_in_clear():
    exc = smtplib.SMTPRecipientsRefused({"wangli@hlbe.example.cn": (550, b"<wangli@hlbe.example.cn> unknown")})
    error = classify_smtp_error(exc)
    assert error.code == 550
    assert "550" in error.reason and "wangli@" not in error.reason and "w***@hlbe.example.cn" in error.reason


def test_a_retryable_failure_schedules_the_next_attempt():
    outcome = after_failure(1, NOW, classify_smtp_error(smtplib.SMTPDataError(451, b"later")), POLICY,
                            rand=lambda: 1.0)
    assert outcome.status == RETRYING and outcome.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert "451" in outcome.error


def test_a_retryable_failure_on_the_last_attempt_is_failed():
    outcome = after_failure(5, NOW, classify_smtp_error(smtplib.SMTPDataError(451, b"later")), POLICY)
    assert outcome.status == FAILED and outcome.next_attempt_at is None


def test_a_permanent_failure_is_failed_at_once_without_retry():
    error = classify_smtp_error(smtplib.SMTPRecipientsRefused({"a@x.cn": (550, b"Mailbox unavailable")}))
    outcome = after_failure(1, NOW, error, POLICY)
    assert outcome.status == FAILED and outcome.next_attempt_at is None and outcome.attempts == 1


def test_a_success_is_sent():
    assert after_success(2).status == SENT

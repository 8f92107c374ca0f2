"""Notify's pure domain: who is told what about each event, in which words, by which channel, and when.

No Nameko, no SQLAlchemy: everything here takes plain data and returns plain data, so the service layer
(``notify.service``) stays a thin adapter that stores the intents (unique ``dedup_key``) and hands them
to the channels (``notify.channels``). The event contract is in ``EVENTS.md`` next to this file.

- ``routing.route(envelope, users_of_role=..., preferences_for=..., lookup_user=...)`` -> [MessageIntent]
- ``rendering.Renderer`` renders ``templates/<event_type>/<channel>.j2`` (Chinese, StrictUndefined)
- ``retry.classify_smtp_error(exc)``, ``retry.next_attempt_at(attempt, now)``, ``retry.after_failure(...)``
- ``reminders.deadline_reminders / report_reminders / scoring_reminders(now, facts)`` -> [envelope]
- ``masking.mask_mobile / mask_email / mask_text`` for every log line that could carry an address

Usage:
    from notify.domain import route, Preferences
    intents = route(envelope,
                    users_of_role=lambda role: directory.users_with_role(role),
                    preferences_for=lambda user_id: Preferences.of(prefs.get(user_id, ("email", "inapp"))))
    for intent in intents:
        inserted = outbox.insert_if_absent(intent.dedup_key, intent.to_dict())  # unique dedup_key
        ...

    for reminder in reminders.deadline_reminders(now, calls):   # from a timer
        intents += route(reminder, users_of_role=...)
"""
from .dedup import dedup_key
from .model import CHANNELS, DEFAULT_CHANNELS, EMAIL, INAPP, SMS, MessageIntent, Preferences, Recipient
from .rendering import Renderer, RenderError, cn_date, cn_datetime, yuan
from .retry import (FAILED, PENDING, RETRYING, SENT, AttemptOutcome, ErrorClass, RetryPolicy, after_failure,
                    after_success, classify_smtp_error, next_attempt_at)
from .routing import EVENT_TYPES, RULES, recipients_for, route

__all__ = [
    "CHANNELS", "DEFAULT_CHANNELS", "EMAIL", "INAPP", "SMS", "EVENT_TYPES", "RULES",
    "MessageIntent", "Preferences", "Recipient", "Renderer", "RenderError", "RetryPolicy", "AttemptOutcome",
    "ErrorClass", "FAILED", "PENDING", "RETRYING", "SENT",
    "after_failure", "after_success", "classify_smtp_error", "next_attempt_at", "dedup_key",
    "recipients_for", "route", "cn_date", "cn_datetime", "yuan",
]

"""Dedup keys: the same event, person and channel always give the same key."""
from __future__ import annotations

import hashlib


def dedup_key(event_id: str, recipient_identity: str, channel: str) -> str:
    """sha256 hex of ``event_id|recipient identity|channel``.

    ``recipient_identity`` is ``Recipient.identity(channel)``: ``user:<id>`` for account holders, else
    ``email:<address>`` / ``sms:<mobile>``. Nothing time-dependent goes in, so redelivery is harmless.
    """
    raw = f"{event_id}|{recipient_identity}|{channel}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()

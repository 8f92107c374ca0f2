"""The in-app inbox channel: delivering is storing the message in the person's inbox (the service's table)."""
from __future__ import annotations

from typing import Protocol

from ..domain.model import INAPP, MessageIntent
from ..domain.retry import PERMANENT
from .base import DeliveryError


class InboxStore(Protocol):
    def put(self, *, user_id: str, title: str, body: str, dedup_key: str, event_id: str,
            event_type: str) -> None:
        """Store one unread message for ``user_id``; storing the same ``dedup_key`` twice keeps one."""


class InAppChannel:
    name = INAPP

    def __init__(self, store: InboxStore):
        self.store = store

    def deliver(self, intent: MessageIntent) -> None:
        if not intent.recipient.user_id:
            raise DeliveryError(PERMANENT, "in-app message needs a user account")
        self.store.put(user_id=intent.recipient.user_id, title=intent.subject, body=intent.body,
                       dedup_key=intent.dedup_key, event_id=intent.event_id, event_type=intent.event_type)

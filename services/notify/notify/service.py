"""Notify's Nameko entrypoints: one handler per event kind it tells people about."""
from __future__ import annotations

from grassroots.db import Database
from grassroots.events import event_handler
from grassroots.service import ServiceBase, rpc

from . import usecases as uc
from .models import Base


def _handler(source: str, event_type: str):
    @event_handler(source, event_type)
    def handle(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.record_messages(uow, envelope)
    handle.__name__ = f"on_{event_type}"
    return handle


class NotifyService(ServiceBase):
    name = "notify"
    db = Database(Base)

    on_call_opened = _handler("intake", "call_opened")
    on_application_submitted = _handler("intake", "application_submitted")
    on_application_withdrawn = _handler("intake", "application_withdrawn")
    on_application_received = _handler("intake", "application_received")
    on_document_stored = _handler("intake", "document_stored")
    on_application_selected = _handler("review", "application_selected")
    on_budget_created = _handler("funding", "budget_created")
    on_disbursement_approved = _handler("funding", "disbursement_approved")
    on_disbursement_paid = _handler("funding", "disbursement_paid")

    @rpc
    def my_messages(self, unread_only=False):
        with self.db.session() as s:
            return uc.my_messages(s, self.current_actor(), unread_only)

    @rpc
    def mark_read(self, message_id):
        with self.db.transaction() as uow:
            return uc.mark_read(uow, self.current_actor(), message_id)

    @rpc
    def delivery_log(self, filters=None):
        with self.db.session() as s:
            return uc.delivery_log(s, self.current_actor(), filters or {})


SERVICE = NotifyService

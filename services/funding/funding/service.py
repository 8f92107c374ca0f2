"""Funding's Nameko entrypoints."""
from __future__ import annotations

from grassroots.db import Database
from grassroots.events import event_handler
from grassroots.service import ServiceBase, rpc

from . import usecases as uc
from .models import Base


class FundingService(ServiceBase):
    name = "funding"
    db = Database(Base)

    @event_handler("review", "application_selected")
    def on_application_selected(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.create_budget_from_selection(uow, envelope)

    @rpc
    def list_budgets(self, filters=None):
        with self.db.transaction() as uow:   # auditor queries are themselves audited
            return uc.list_budgets(uow, self.current_actor(), filters or {})

    @rpc
    def request_disbursement(self, budget_id, data):
        with self.db.transaction() as uow:
            return uc.request_disbursement(uow, self.current_actor(), budget_id, data)

    @rpc
    def approve_disbursement(self, disbursement_id, reason=""):
        with self.db.transaction() as uow:
            return uc.approve_disbursement(uow, self.current_actor(), disbursement_id, reason)

    @rpc
    def mark_paid(self, disbursement_id, bank_ref):
        with self.db.transaction() as uow:
            return uc.mark_paid(uow, self.current_actor(), disbursement_id, bank_ref)

    @rpc
    def list_disbursements(self, filters=None):
        with self.db.transaction() as uow:
            return uc.list_disbursements(uow, self.current_actor(), filters or {})

    @rpc
    def audit_records(self, filters=None):
        with self.db.transaction() as uow:
            return uc.audit_records(uow, self.current_actor(), filters or {})

    @rpc
    def verify_audit_chain(self):
        with self.db.transaction() as uow:
            return uc.verify_audit_chain(uow, self.current_actor())


SERVICE = FundingService

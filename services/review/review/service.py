"""Review's Nameko entrypoints."""
from __future__ import annotations

from grassroots.db import Database
from grassroots.events import event_handler
from grassroots.service import ServiceBase, rpc

from . import usecases as uc
from .models import Base


class ReviewService(ServiceBase):
    name = "review"
    db = Database(Base)

    @event_handler("intake", "application_submitted")
    def on_application_submitted(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.candidate_arrived(uow, envelope)

    @event_handler("intake", "application_withdrawn")
    def on_application_withdrawn(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.candidate_left(uow, envelope, "withdrawn")

    @event_handler("intake", "application_forfeited")
    def on_application_forfeited(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.candidate_left(uow, envelope, "forfeited")

    @rpc
    def list_candidates(self, filters=None):
        with self.db.session() as s:
            return uc.list_candidates(s, self.current_actor(), filters or {})

    @rpc
    def select_application(self, application_id, data=None):
        with self.db.transaction() as uow:
            return uc.select_application(uow, self.current_actor(), application_id, data or {})

    @rpc
    def outcome(self, application_id):
        with self.db.session() as s:
            return uc.outcome(s, self.current_actor(), application_id)

    @rpc
    def decisions(self, application_id=None):
        with self.db.session() as s:
            return uc.decisions(s, self.current_actor(), application_id)


SERVICE = ReviewService

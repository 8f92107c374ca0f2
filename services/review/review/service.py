"""Review's Nameko entrypoints: thin, each turns its input into one use case (``review.usecases``).

Reviewers come from the experts service (``propose_reviewers``), called as the system after review decided
the caller may ask: the proposal is read outside any transaction and then checked again by the domain
inside the write transaction, so a proposal that went stale meanwhile is refused rather than stored.
"""
from __future__ import annotations

import uuid

from grassroots.clock import Clock
from grassroots.db import Database
from grassroots.events import batch_event_handler, event_handler
from grassroots.rpc import SystemRpcProxy, call_remote
from grassroots.service import ServiceBase, rpc

from . import usecases as uc
from .models import Base


class ReviewService(ServiceBase):
    name = "review"
    db = Database(Base)
    clock = Clock()
    experts = SystemRpcProxy("experts")

    # facts from intake ----------------------------------------------------------------------------
    @event_handler("intake", "call_opened")
    def on_call_opened(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.call_opened(uow, envelope)

    @batch_event_handler("intake", "application_submitted")
    def on_application_submitted(self, envelopes):
        # batched: a submission burst near the deadline costs one transaction per batch, not per event
        with self.db.transaction(handling=envelopes) as uow, uow.session.no_autoflush:
            # no autoflush: the batch's new candidates are inserted together at commit
            uc.candidates_arrived(uow, uow.fresh, self.clock())

    @event_handler("intake", "application_withdrawn")
    def on_application_withdrawn(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.candidate_left(uow, envelope, "withdrawn", self.clock())

    @event_handler("intake", "application_forfeited")
    def on_application_forfeited(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.candidate_left(uow, envelope, "forfeited", self.clock())

    @event_handler("intake", "report_filed")
    def on_report_filed(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.report_filed(uow, envelope)

    # rounds ---------------------------------------------------------------------------------------
    @rpc
    def create_round(self, data):
        with self.db.transaction() as uow:
            return uc.create_round(uow, self.current_actor(), data or {}, self.clock())

    @rpc
    def configure_round(self, round_id, data):
        with self.db.transaction() as uow:
            return uc.configure_round(uow, self.current_actor(), round_id, data or {}, self.clock())

    @rpc
    def get_round(self, round_id):
        with self.db.session() as s:
            return uc.get_round(s, self.current_actor(), round_id)

    @rpc
    def list_rounds(self, filters=None):
        with self.db.session() as s:
            return uc.list_rounds(s, self.current_actor(), filters or {})

    @rpc
    def open_round(self, round_id):
        with self.db.transaction() as uow:
            return uc.open_round(uow, self.current_actor(), round_id, self.clock())

    @rpc
    def close_round(self, round_id):
        with self.db.transaction() as uow:
            return uc.close_round(uow, self.current_actor(), round_id, self.clock())

    @rpc
    def progress(self, round_id):
        with self.db.session() as s:
            return uc.progress(s, self.current_actor(), round_id)

    # assignments ----------------------------------------------------------------------------------
    def _assign(self, actor, round_id, only=None):
        with self.db.session() as s:
            req = uc.assignment_request(s, actor, round_id, only)
        if not req["applications"]:
            return {"assigned": [], "unmet": []}
        proposal = call_remote(self.experts.propose_reviewers, req["applications"], req["per_application"],
                               exclude=req["exclude"], loads=req["loads"], load_cap=req["load_cap"])
        with self.db.transaction() as uow:
            return uc.assign_from_proposal(uow, actor, round_id, proposal, self.clock(), only=only)

    @rpc
    def assign_reviewers(self, round_id):
        actor = self.current_actor().require(*uc.OFFICERS)
        return self._assign(actor, round_id)

    @rpc
    def declare_conflict(self, assignment_id, reason):
        actor = self.current_actor()
        with self.db.transaction() as uow:
            declared = uc.declare_conflict(uow, actor, assignment_id, reason, self.clock())
        request = declared["replacement_request"]
        declared["replacement"] = self._assign(actor, request["round_id"], only=request["application_id"])
        return declared

    @rpc
    def list_assignments(self, filters=None):
        with self.db.session() as s:
            return uc.list_assignments(s, self.current_actor(), filters or {})

    @rpc
    def submit_score(self, assignment_id, data):
        with self.db.transaction() as uow:
            return uc.submit_score(uow, self.current_actor(), assignment_id, data or {}, self.clock())

    # ranking and selection ------------------------------------------------------------------------
    @rpc
    def ranking(self, round_id):
        with self.db.session() as s:
            return uc.ranking_view(s, self.current_actor(), round_id)

    @rpc
    def propose_selection(self, round_id, data):
        with self.db.transaction() as uow:
            return uc.propose_selection(uow, self.current_actor(), round_id, data or {}, self.clock(),
                                        uuid.uuid4().hex)

    @rpc
    def approve_selection(self, proposal_id, reason=None, publish=False):
        actor = self.current_actor()
        with self.db.transaction() as uow:
            result = uc.approve_selection(uow, actor, proposal_id, reason, self.clock())
            if publish:
                result["round"] = uc.publish_selection(uow, actor, result["round_id"], self.clock())
        return result

    @rpc
    def reject_selection(self, proposal_id, reason):
        with self.db.transaction() as uow:
            return uc.reject_selection(uow, self.current_actor(), proposal_id, reason, self.clock())

    @rpc
    def list_proposals(self, round_id):
        with self.db.session() as s:
            return uc.list_proposals(s, self.current_actor(), round_id)

    @rpc
    def publish_selection(self, round_id):
        with self.db.transaction() as uow:
            return uc.publish_selection(uow, self.current_actor(), round_id, self.clock())

    # ministry, outcomes, post-evaluation ----------------------------------------------------------
    @rpc
    def record_ministry_decision(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.record_ministry_decision(uow, self.current_actor(), application_id, data or {}, self.clock())

    @rpc
    def correct_ministry_decision(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.correct_ministry_decision(uow, self.current_actor(), application_id, data or {},
                                                self.clock())

    @rpc
    def list_candidates(self, filters=None):
        with self.db.session() as s:
            return uc.list_candidates(s, self.current_actor(), filters or {})

    @rpc
    def outcome(self, application_id):
        with self.db.session() as s:
            return uc.outcome(s, self.current_actor(), application_id)

    @rpc
    def decisions(self, filters=None):
        with self.db.session() as s:
            return uc.list_decisions(s, self.current_actor(), filters or {})

    @rpc
    def list_reports(self, filters=None):
        with self.db.session() as s:
            return uc.list_reports(s, self.current_actor(), filters or {})

    @rpc
    def evaluate(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.evaluate(uow, self.current_actor(), application_id, data or {}, self.clock())

    @rpc
    def unit_history(self, unit_id):
        with self.db.session() as s:
            return uc.unit_history(s, self.current_actor(), unit_id)

    @rpc
    def get_priority_list(self):
        with self.db.session() as s:
            return uc.get_priority_list(s, self.current_actor())

    @rpc
    def put_priority_list(self, data):
        with self.db.transaction() as uow:
            return uc.put_priority_list(uow, self.current_actor(), data or {}, self.clock())


SERVICE = ReviewService

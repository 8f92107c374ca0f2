"""Experts' Nameko entrypoints: thin wrappers over ``experts.usecases`` and ``experts.matchmaking``.

Configuration (read in ``setup()``): ``EXPERTS_ID_HASH_KEY``, ``EXPERTS_ID_ENCRYPTION_KEY`` (and
``EXPERTS_ID_ENCRYPTION_KEY_PREVIOUS`` during a rotation); see ``experts.idvault``. Without them
development keys are used and a warning is logged.

Events consumed: intake ``call_opened`` (call summary and key_expert quotas), ``application_submitted``
(key_expert: a recommended expert; postdoc_hosting: its demands), ``application_withdrawn`` and
``application_forfeited`` (their demands are cancelled, their recommendation no longer counts);
review ``application_selected`` and ``application_recommended_to_ministry`` (key_expert: into the pool).
Events published: ``expert_admitted_to_pool``, ``expert_matched`` (payloads in the report of issue 4 and
services/notify/notify/domain/EVENTS.md).
"""
from __future__ import annotations

from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider

from grassroots.context import Actor
from grassroots.clock import Clock
from grassroots.db import Database
from grassroots.events import batch_event_handler, event_handler
from grassroots.logging import get_logger
from grassroots.rpc import SystemRpcProxy
from grassroots.service import ServiceBase, rpc

from . import matchmaking as mm
from . import usecases as uc
from .idvault import IdVault
from .models import Base

log = get_logger("experts")


class Vault(DependencyProvider):
    """The ID vault, built from the config once per container."""

    def setup(self):
        self.vault = IdVault.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.vault


class ExpertsService(ServiceBase):
    name = "experts"
    db = Database(Base)
    vault = Vault()
    clock = Clock()
    intake = SystemRpcProxy("intake")

    def _fetch_call(self, call_id):
        if not call_id:
            return None
        try:
            return self.intake.get_call(call_id)
        except RemoteError as exc:
            if exc.exc_type == "NotFound":
                return None
            raise

    # experts ----------------------------------------------------------------------------------------
    @rpc
    def register_expert(self, data):
        with self.db.transaction() as uow:
            return uc.register_expert(uow, self.vault, self.current_actor(), data, self._fetch_call)

    @rpc
    def get_expert(self, expert_id):
        with self.db.session() as s:
            return uc.get_expert(s, self.vault, self.current_actor(), expert_id)

    @rpc
    def my_profile(self):
        with self.db.session() as s:
            return uc.my_profile(s, self.current_actor())

    @rpc
    def update_expert(self, expert_id, patch):
        with self.db.transaction() as uow:
            return uc.update_expert(uow, self.vault, self.current_actor(), expert_id, patch)

    @rpc
    def list_experts(self, filters=None):
        with self.db.session() as s:
            return uc.list_experts(s, self.current_actor(), filters or {})

    @rpc
    def search_experts(self, filters=None):
        with self.db.session() as s:
            return mm.search_experts(s, self.current_actor(), filters or {}, self.clock())

    # pool -------------------------------------------------------------------------------------------
    @rpc
    def recommend_expert(self, expert_id, data):
        with self.db.transaction() as uow:
            return uc.recommend_expert(uow, self.current_actor(), expert_id, data, self._fetch_call)

    @rpc
    def admit_expert(self, expert_id, exception_reason=None):
        with self.db.transaction() as uow:
            return uc.admit_expert(uow, self.current_actor(), expert_id, exception_reason)

    @rpc
    def recommend_national(self, expert_id):
        with self.db.transaction() as uow:
            return uc.recommend_national(uow, self.current_actor(), expert_id)

    @rpc
    def reject_expert(self, expert_id, reason):
        with self.db.transaction() as uow:
            return uc.reject_expert(uow, self.current_actor(), expert_id, reason)

    @rpc
    def import_experts(self, data):
        with self.db.transaction() as uow:
            return uc.import_experts(uow, self.vault, self.current_actor(), data or {}, self._fetch_call)

    @rpc
    def import_template(self):
        self.current_actor().require(*uc.OFFICERS)
        return uc.import_template()

    @rpc
    def export_pool(self, filters=None):
        with self.db.session() as s:
            return uc.export_pool(s, self.current_actor(), filters or {})

    # history and conflicts --------------------------------------------------------------------------
    @rpc
    def service_history(self, expert_id):
        with self.db.session() as s:
            return uc.service_history(s, self.current_actor(), expert_id)

    @rpc
    def add_history(self, expert_id, data):
        with self.db.transaction() as uow:
            return uc.add_history(uow, self.current_actor(), expert_id, data)

    @rpc
    def record_feedback(self, entry_id, data):
        with self.db.transaction() as uow:
            return uc.record_feedback(uow, self.current_actor(), entry_id, data)

    @rpc
    def declare_conflict(self, expert_id, unit_id=None, reason="", subject_id=None):
        with self.db.transaction() as uow:
            return uc.declare_conflict(uow, self.current_actor(), expert_id, unit_id, reason, subject_id)

    @rpc
    def list_conflicts(self, expert_id):
        with self.db.session() as s:
            return uc.list_conflicts(s, self.current_actor(), expert_id)

    # demands ----------------------------------------------------------------------------------------
    @rpc
    def post_demand(self, data):
        with self.db.transaction() as uow:
            return mm.post_demand(uow, self.current_actor(), data)

    @rpc
    def get_demand(self, demand_id):
        with self.db.session() as s:
            return mm.get_demand(s, self.current_actor(), demand_id)

    @rpc
    def list_demands(self, filters=None):
        with self.db.session() as s:
            return mm.list_demands(s, self.current_actor(), filters or {})

    @rpc
    def update_demand(self, demand_id, patch):
        with self.db.transaction() as uow:
            return mm.update_demand(uow, self.current_actor(), demand_id, patch)

    @rpc
    def cancel_demand(self, demand_id, reason=""):
        with self.db.transaction() as uow:
            return mm.cancel_demand(uow, self.current_actor(), demand_id, reason)

    # matching ---------------------------------------------------------------------------------------
    @rpc
    def propose_matches(self, data):
        with self.db.transaction() as uow:
            return mm.propose(uow, self.current_actor(), data, self.clock())

    @rpc
    def get_proposal(self, proposal_id):
        with self.db.session() as s:
            return mm.get_proposal(s, self.current_actor(), proposal_id)

    @rpc
    def confirm_matches(self, proposal_id, item_ids=None):
        with self.db.transaction() as uow:
            return mm.confirm(uow, self.current_actor(), proposal_id, item_ids, self.clock())

    @rpc
    def reject_match(self, proposal_id, item_id, reason=""):
        with self.db.transaction() as uow:
            return mm.reject(uow, self.current_actor(), proposal_id, item_id, reason)

    @rpc
    def swap_match(self, proposal_id, item_id, expert_id, reason="", confirm=False):
        with self.db.transaction() as uow:
            return mm.swap(uow, self.current_actor(), proposal_id, item_id, expert_id, reason, confirm,
                           self.clock())

    @rpc
    def list_matches(self, filters=None):
        with self.db.session() as s:
            return mm.list_matches(s, self.current_actor(), filters or {})

    # review -----------------------------------------------------------------------------------------
    @rpc
    def propose_reviewers(self, applications, per_application, exclude=None, loads=None, load_cap=None):
        """Contract fixed with review: see ``matchmaking.propose_reviewers`` and the package docs."""
        with self.db.session() as s:
            return mm.propose_reviewers(s, self.current_actor(), applications, per_application, exclude, loads,
                                        load_cap)

    # events -----------------------------------------------------------------------------------------
    @event_handler("intake", "call_opened")
    def on_call_opened(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            uc.on_call_opened(uow, envelope["payload"])

    @batch_event_handler("intake", "application_submitted")
    def on_application_submitted(self, envelopes):
        """key_expert: the recommended expert; postdoc_hosting: its 10-15 demands. Batched: a submission
        burst costs one transaction per batch (most submissions concern neither programme)."""
        with self.db.transaction(handling=envelopes) as uow:
            for envelope in uow.fresh:
                payload = envelope["payload"]
                code = payload["application"].get("programme_code")
                uow.acting_for(envelope)
                uow.actor = Actor.system()
                if code == uc.KEY_EXPERT:
                    uc.upsert_recommended(uow, self.vault, payload)
                elif code == mm.POSTDOC:
                    added = mm.on_postdoc_submitted(uow, payload)
                    log.info("postdoc_demands_received", application_id=payload["application"]["id"], added=added)

    @event_handler("intake", "application_withdrawn")
    def on_application_withdrawn(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            mm.on_application_ended(uow, envelope["payload"], "申报已撤回")
            uc.on_application_withdrawn(uow, envelope["payload"])

    @event_handler("intake", "application_forfeited")
    def on_application_forfeited(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            mm.on_application_ended(uow, envelope["payload"], "申报逾期未提交，视为放弃")
            uc.on_application_withdrawn(uow, envelope["payload"])

    @event_handler("review", "application_selected")
    def on_application_selected(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            uc.on_review_selection(uow, self.vault, envelope["payload"], "application_selected")

    @event_handler("review", "application_recommended_to_ministry")
    def on_application_recommended_to_ministry(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            uc.on_review_selection(uow, self.vault, envelope["payload"], "application_recommended_to_ministry")


SERVICE = ExpertsService

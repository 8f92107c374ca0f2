"""Intake's Nameko entrypoints: thin wrappers that call the use cases in ``intake.usecases``.

Time comes from the ``clock`` dependency (tests set ``Clock.now`` to stand at a deadline's second instead
of waiting); the two timers (forfeiting late drafts, flagging overdue reports) read their intervals from
the config: ``INTAKE_FORFEIT_SECONDS`` and ``INTAKE_REPORT_OVERDUE_SECONDS`` (default 300 s each).
"""
from __future__ import annotations


import functools

from grassroots.clock import Clock, config_timer
from grassroots.db import Database
from grassroots.errors import ERROR_CLASSES, DomainError, ValidationFailed
from grassroots.logging import get_logger
from grassroots.service import ServiceBase
from grassroots.service import rpc as _rpc
from grassroots.storage import Storage

from . import usecases as uc
from .models import Base

log = get_logger("intake")


def rpc(fn):
    """grassroots' rpc, with domain-specific error subclasses (e.g. CallDefinitionInvalid) sent as their
    shared base class: the gateway rebuilds errors by class name and knows only the shared ones."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            if type(exc).__name__ in ERROR_CLASSES:
                raise
            base = next(c for c in type(exc).__mro__ if c.__name__ in ERROR_CLASSES)
            raise base(exc.code, exc.message, exc.details) from None
    return _rpc(wrapper)


class IntakeService(ServiceBase):
    name = "intake"
    db = Database(Base)
    store = Storage()
    clock = Clock()

    # units ------------------------------------------------------------------------------------------
    @rpc
    def create_unit(self, data):
        with self.db.transaction() as uow:
            return uc.create_unit(uow, self.current_actor(), data)

    @rpc
    def update_unit(self, unit_id, data):
        with self.db.transaction() as uow:
            return uc.update_unit(uow, self.current_actor(), unit_id, data)

    @rpc
    def get_unit(self, unit_id):
        with self.db.session() as s:
            return uc.get_unit(s, self.current_actor(), unit_id)

    @rpc
    def list_units(self, filters=None):
        with self.db.session() as s:
            return uc.list_units(s, self.current_actor(), filters or {})

    # calls ------------------------------------------------------------------------------------------
    @rpc
    def create_call(self, definition):
        with self.db.transaction() as uow:
            return uc.create_call(uow, self.current_actor(), definition)

    @rpc
    def update_call(self, call_id, definition):
        with self.db.transaction() as uow:
            return uc.update_call(uow, self.current_actor(), call_id, definition)

    @rpc
    def open_call(self, call_id):
        with self.db.transaction() as uow:
            return uc.open_call(uow, self.current_actor(), call_id, self.clock())

    @rpc
    def get_call(self, call_id):
        with self.db.session() as s:
            return uc.get_call(s, call_id)

    @rpc
    def list_calls(self):
        with self.db.session() as s:
            return uc.list_calls(s)

    # applications -----------------------------------------------------------------------------------
    @rpc
    def create_application(self, data):
        with self.db.transaction() as uow:
            return uc.create_application(uow, self.current_actor(), data, self.clock())

    @rpc
    def update_application(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.update_application(uow, self.current_actor(), application_id, data, self.clock())

    @rpc
    def get_application(self, application_id):
        with self.db.session() as s:
            return uc.get_application(s, self.current_actor(), application_id)

    @rpc
    def list_applications(self, filters=None):
        with self.db.session() as s:
            return uc.list_applications(s, self.current_actor(), filters or {})

    @rpc
    def application_page(self, filters=None):
        with self.db.session() as s:
            return uc.application_page(s, self.current_actor(), filters or {})

    @rpc
    def submit_application(self, application_id):
        with self.db.transaction() as uow:
            return uc.submit_application(uow, self.current_actor(), application_id, self.clock())

    @rpc
    def withdraw_application(self, application_id, reason=""):
        with self.db.transaction() as uow:
            return uc.withdraw_application(uow, self.current_actor(), application_id, reason, self.clock())

    @rpc
    def receive_application(self, application_id, note=""):
        with self.db.transaction() as uow:
            return uc.receive_application(uow, self.current_actor(), application_id, note, self.clock())

    # officer views ----------------------------------------------------------------------------------
    @rpc
    def quota_usage(self, call_id, filters=None):
        with self.db.session() as s:
            return uc.quota_usage(s, self.current_actor(), call_id, filters or {})

    @rpc
    def unit_standing(self, call_id):
        """Per unit: drafts and quota usage in a call (for notify's deadline reminders; system or officers)."""
        with self.db.session() as s:
            return uc.unit_standing(s, self.current_actor(), call_id)

    @rpc
    def export_call(self, call_id, filters=None):
        with self.db.session() as s:
            return uc.export_call(s, self.current_actor(), call_id, filters or {})

    # documents --------------------------------------------------------------------------------------
    @rpc
    def request_upload(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.request_upload(uow, self.store, self.current_actor(), application_id, data, self.clock())

    @rpc
    def confirm_document(self, document_id):
        with self.db.transaction() as uow:
            result = uc.confirm_document(uow, self.store, self.current_actor(), document_id, self.clock())
        if "rejected" in result:  # recorded as rejected (committed above), then refused to the caller
            r = result["rejected"]
            raise ValidationFailed(r["code"], r["message"], r.get("details"))
        return result

    @rpc
    def document_download(self, document_id):
        with self.db.session() as s:
            return uc.document_download(s, self.store, self.current_actor(), document_id)

    # post-activity reports --------------------------------------------------------------------------
    @rpc
    def get_report(self, application_id):
        with self.db.session() as s:
            return uc.get_report(s, self.current_actor(), application_id, self.clock())

    @rpc
    def file_report(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.file_report(uow, self.current_actor(), application_id, data, self.clock())

    # timers -----------------------------------------------------------------------------------------
    @config_timer("INTAKE_FORFEIT_SECONDS", 300.0)
    def forfeit_late_drafts(self):
        """Drafts of calls past their deadline become forfeited; one application_forfeited each."""
        with self.db.transaction() as uow:
            done = uc.forfeit_late_drafts(uow, self.clock())
        if done:
            log.info("drafts_forfeited", count=len(done))
        return done

    @config_timer("INTAKE_REPORT_OVERDUE_SECONDS", 300.0)
    def flag_overdue_reports(self):
        """Reports past their due date and not filed: one report_overdue each."""
        with self.db.transaction() as uow:
            done = uc.flag_overdue_reports(uow, self.clock())
        if done:
            log.info("reports_overdue", count=len(done))
        return done


SERVICE = IntakeService

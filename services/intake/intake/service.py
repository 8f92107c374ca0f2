"""Intake's Nameko entrypoints: thin wrappers that call the use cases in ``intake.usecases``."""
from __future__ import annotations

from grassroots.db import Database
from grassroots.errors import ValidationFailed
from grassroots.service import ServiceBase, rpc
from grassroots.storage import Storage

from . import usecases as uc
from .models import Base


class IntakeService(ServiceBase):
    name = "intake"
    db = Database(Base)
    store = Storage()

    # units ------------------------------------------------------------------------------------------
    @rpc
    def create_unit(self, data):
        with self.db.transaction() as uow:
            return uc.create_unit(uow, self.current_actor(), data)

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
            return uc.open_call(uow, self.current_actor(), call_id)

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
            return uc.create_application(uow, self.current_actor(), data)

    @rpc
    def update_application(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.update_application(uow, self.current_actor(), application_id, data)

    @rpc
    def get_application(self, application_id):
        with self.db.session() as s:
            return uc.get_application(s, self.current_actor(), application_id)

    @rpc
    def list_applications(self, filters=None):
        with self.db.session() as s:
            return uc.list_applications(s, self.current_actor(), filters or {})

    @rpc
    def submit_application(self, application_id):
        with self.db.transaction() as uow:
            return uc.submit_application(uow, self.current_actor(), application_id)

    @rpc
    def withdraw_application(self, application_id, reason=""):
        with self.db.transaction() as uow:
            return uc.withdraw_application(uow, self.current_actor(), application_id, reason)

    @rpc
    def receive_application(self, application_id, note=""):
        with self.db.transaction() as uow:
            return uc.receive_application(uow, self.current_actor(), application_id, note)

    # documents --------------------------------------------------------------------------------------
    @rpc
    def request_upload(self, application_id, data):
        with self.db.transaction() as uow:
            return uc.request_upload(uow, self.store, self.current_actor(), application_id, data)

    @rpc
    def confirm_document(self, document_id):
        with self.db.transaction() as uow:
            result = uc.confirm_document(uow, self.store, self.current_actor(), document_id)
        if "rejected" in result:  # recorded as rejected (committed above), then refused to the caller
            r = result["rejected"]
            raise ValidationFailed(r["code"], r["message"], r.get("details"))
        return result

    @rpc
    def document_download(self, document_id):
        with self.db.session() as s:
            return uc.document_download(s, self.store, self.current_actor(), document_id)


SERVICE = IntakeService

"""Funding's Nameko entrypoints: thin wrappers over ``funding.usecases`` (budgets, disbursements, bank
account, final accounts) and ``funding.queries`` (the auditors' API).

Configuration (``container.config``; ``AUDIT_*`` and ``FUNDING_*`` pass through ``grassroots.config``):
    AUDIT_CHECKPOINT_KEY          Ed25519 private key (PEM, or base64 of the 32-byte seed / DER) that signs
                                  checkpoints of the audit chain head; without it no checkpoint is signed
    AUDIT_CHECKPOINT_PUBLIC_KEYS  optional, public keys of earlier (rotated-out) signing keys, separated by
                                  whitespace or commas, so old checkpoints still verify
    FUNDING_CHECKPOINT_SECONDS    interval of the checkpoint timer (default 3600)

Database errors raised by the PostgreSQL guards (a concurrent writer slipped past a Python check) come back
as the same DomainErrors the Python checks raise; two concurrent requests with the same idempotency key
are resolved by running the later one again, which then replays or refuses.
"""
from __future__ import annotations

import functools
import json
import re

import sqlalchemy as sa
from nameko.extensions import DependencyProvider

from grassroots.clock import config_timer
from grassroots.db import Database
from grassroots.errors import Conflict, DomainError, Forbidden
from grassroots.events import event_handler
from grassroots.logging import get_logger
from grassroots.service import ServiceBase
from grassroots.service import rpc as _rpc

from . import audit, queries, usecases as uc
from .domain import audit as chain
from .models import Base

log = get_logger("funding")


def db_error(exc: sa.exc.DBAPIError) -> DomainError | None:
    """The DomainError for a refusal by a database guard, or None."""
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    if name == "budget_not_overdrawn":
        try:
            details = json.loads(diag.message_detail or "null")
        except ValueError:
            details = None
        return Conflict("budget_exceeded", "拨付金额超出预算余额", details)
    if name == "disbursement_four_eyes":
        return Forbidden("four_eyes_violation", "审批人不能与申请人为同一人：拨付须由另一名财务人员审批")
    if name == "budget_project_source":
        return Conflict("budget_exists", "该项目已有同一资金来源的预算")
    return None


def _idempotency_race(exc: sa.exc.DBAPIError) -> bool:
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    return "idempotency_key" in name or "idempotency_key" in str(exc.orig)


def rpc(fn=None, *, retry_idempotency: bool = False):
    """grassroots' rpc with database refusals mapped to DomainErrors."""
    if fn is None:
        return functools.partial(rpc, retry_idempotency=retry_idempotency)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for attempt in (1, 2):
            try:
                return fn(*args, **kwargs)
            except sa.exc.IntegrityError as exc:
                if retry_idempotency and attempt == 1 and _idempotency_race(exc):
                    continue   # the other request committed first: run again to replay or refuse
                mapped = db_error(exc)
                if mapped is None:
                    raise
                raise mapped from None
            except sa.exc.DBAPIError as exc:
                mapped = db_error(exc)
                if mapped is None:
                    raise
                raise mapped from None
    return _rpc(wrapper)


class CheckpointKeys(DependencyProvider):
    """The checkpoint signing key (read and checked once, at start-up) and the public keys that verify."""

    def setup(self):
        cfg = self.container.config
        text = (cfg.get("AUDIT_CHECKPOINT_KEY") or "").strip()
        self.private = chain.load_private_key(text) if text else None   # a malformed key stops the service
        self.public: dict = {}
        if self.private is not None:
            self.public[chain.key_id(self.private)] = self.private.public_key()
        for item in re.split(r"[\s,]+", (cfg.get("AUDIT_CHECKPOINT_PUBLIC_KEYS") or "").strip()):
            if item:
                key = chain.load_public_key(item)
                self.public[chain.key_id(key)] = key
        if self.private is None:
            log.warning("audit_checkpoint_key_missing", hint="set AUDIT_CHECKPOINT_KEY to sign checkpoints")

    def get_dependency(self, worker_ctx):
        return self

    def describe(self) -> dict:
        from cryptography.hazmat.primitives import serialization
        keys = []
        for kid, key in self.public.items():
            keys.append({"key_id": kid, "public_key_pem": key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
                "current": self.private is not None and kid == chain.key_id(self.private)})
        return {"algorithm": "Ed25519", "message_format": "grassroots-funding-audit-checkpoint/v1\\n{seq}\\n"
                "{head_hash}\\n{at}\\n{key_id}\\n", "keys": keys}


class FundingService(ServiceBase):
    name = "funding"
    db = Database(Base)
    keys = CheckpointKeys()

    # budgets from review ---------------------------------------------------------------------------
    @event_handler("review", "application_selected")
    def on_application_selected(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.budget_from_event(uow, envelope, "department")

    @event_handler("review", "ministry_decided")
    def on_ministry_decided(self, envelope):
        with self.db.transaction(handling=envelope) as uow:
            if not uow.duplicate:
                uc.ministry_decided(uow, envelope)

    # budgets ----------------------------------------------------------------------------------------
    @rpc
    def list_budgets(self, filters=None):
        with self.db.session() as s:
            return uc.list_budgets(s, self.current_actor(), filters or {})

    @rpc
    def get_budget(self, budget_id):
        with self.db.session() as s:
            return uc.get_budget(s, self.current_actor(), budget_id)

    @rpc
    def set_budget_amount(self, budget_id, data):
        with self.db.transaction() as uow:
            return uc.set_budget_amount(uow, self.current_actor(), budget_id, data or {})

    @rpc
    def set_budget_plan(self, budget_id, data):
        with self.db.transaction() as uow:
            return uc.set_budget_plan(uow, self.current_actor(), budget_id, data or {})

    @rpc
    def change_bank_account(self, budget_id, data):
        with self.db.transaction() as uow:
            return uc.change_bank_account(uow, self.current_actor(), budget_id, data or {})

    @rpc
    def approve_bank_account_change(self, budget_id, reason=""):
        with self.db.transaction() as uow:
            return uc.approve_bank_account_change(uow, self.current_actor(), budget_id, reason)

    @rpc
    def withdraw_bank_account_change(self, budget_id, reason=""):
        with self.db.transaction() as uow:
            return uc.withdraw_bank_account_change(uow, self.current_actor(), budget_id, reason)

    # disbursements ----------------------------------------------------------------------------------
    @rpc(retry_idempotency=True)
    def request_disbursement(self, budget_id, data):
        with self.db.transaction() as uow:
            return uc.request_disbursement(uow, self.current_actor(), budget_id, data or {})

    @rpc
    def approve_disbursement(self, disbursement_id, reason=""):
        with self.db.transaction() as uow:
            return uc.approve_disbursement(uow, self.current_actor(), disbursement_id, reason)

    @rpc
    def reject_disbursement(self, disbursement_id, reason=""):
        with self.db.transaction() as uow:
            return uc.reject_disbursement(uow, self.current_actor(), disbursement_id, reason)

    @rpc
    def cancel_disbursement(self, disbursement_id, reason=""):
        with self.db.transaction() as uow:
            return uc.cancel_disbursement(uow, self.current_actor(), disbursement_id, reason)

    @rpc
    def mark_paid(self, disbursement_id, bank_reference):
        with self.db.transaction() as uow:
            return uc.mark_paid(uow, self.current_actor(), disbursement_id, bank_reference)

    @rpc
    def mark_failed(self, disbursement_id, reason):
        with self.db.transaction() as uow:
            return uc.mark_failed(uow, self.current_actor(), disbursement_id, reason)

    @rpc
    def record_return(self, disbursement_id, data):
        with self.db.transaction() as uow:
            return uc.record_return(uow, self.current_actor(), disbursement_id, data or {})

    @rpc
    def get_disbursement(self, disbursement_id):
        with self.db.session() as s:
            return uc.get_disbursement(s, self.current_actor(), disbursement_id)

    # final accounts ---------------------------------------------------------------------------------
    @rpc
    def submit_final_accounts(self, budget_id, data):
        with self.db.transaction() as uow:
            return uc.submit_final_accounts(uow, self.current_actor(), budget_id, data or {})

    @rpc
    def final_accounts(self, filters=None):
        with self.db.transaction() as uow:
            return queries.final_accounts(uow.session, self.current_actor(), filters or {})

    # the auditors' API (every query is itself audited, hence a transaction) --------------------------
    @rpc
    def search(self, kind, filters=None):
        with self.db.transaction() as uow:
            return queries.search(uow.session, self.current_actor(), kind, filters or {})

    @rpc
    def export(self, kind, fmt, filters=None):
        with self.db.transaction() as uow:
            return queries.export(uow.session, self.current_actor(), kind, fmt, filters or {})

    @rpc
    def verify_audit_chain(self, reason=""):
        actor = self.current_actor()
        actor.require(*queries.AUDIT_READERS)
        with self.db.transaction() as uow:
            result = audit.verify(uow.session, self.keys.public or None)
            audit.append(uow.session, actor, "audit_chain_verified", "audit_chain", "*", reason=str(reason or ""),
                         data={"ok": result["ok"], "checked": result["checked"], "broken_seq": result["broken_seq"],
                               "kind": result["kind"], "checkpoint_problems": len(result["checkpoints"]["problems"])})
            return result

    @rpc
    def audit_checkpoints(self, reason=""):
        actor = self.current_actor()
        actor.require(*queries.AUDIT_READERS)
        with self.db.transaction() as uow:
            cps = [c.to_dict() for c in audit.checkpoints(uow.session)]
            audit.append(uow.session, actor, "auditor_query", "query", "checkpoints", reason=str(reason or ""),
                         data={"total": len(cps)})
            return {**self.keys.describe(), "checkpoints": cps}

    @rpc
    def sign_checkpoint(self):
        """Sign the head now (operators; the timer does it periodically)."""
        self.current_actor().require("admin")
        return self._sign()

    @config_timer("FUNDING_CHECKPOINT_SECONDS", 3600.0)
    def checkpoint_timer(self):
        self._sign()

    def _sign(self):
        if self.keys.private is None:
            return None
        try:
            with self.db.transaction() as uow:
                cp = audit.sign_head(uow.session, self.keys.private)
        except sa.exc.IntegrityError:
            return None   # another replica signed the same head a moment earlier
        if cp is not None:
            log.info("audit_checkpoint_signed", seq=cp.seq, key_id=cp.key_id)
        return None if cp is None else cp.to_dict()


SERVICE = FundingService

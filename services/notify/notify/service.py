"""Notify's Nameko entrypoints: one handler per (source, event type), the delivery worker and the reminder
timers, and the RPCs behind the gateway's inbox, preferences and delivery-log routes.

Configuration (read in ``setup()``): SMTP_HOST (unset: e-mail is recorded as ``skipped``), SMTP_PORT,
SMTP_SECURITY, SMTP_USERNAME, SMTP_PASSWORD, SMTP_SENDER, SMTP_SENDER_NAME, SMTP_TIMEOUT; SMS_SENDER;
NOTIFY_DELIVERY_SECONDS (2), NOTIFY_REMINDER_SECONDS (300), NOTIFY_BATCH (50), NOTIFY_LEASE_SECONDS (300),
NOTIFY_RETRY_BASE_SECONDS (30), NOTIFY_RETRY_MAX_SECONDS (3600), NOTIFY_MAX_ATTEMPTS (6),
NOTIFY_RETRY_JITTER (0.5).
"""
from __future__ import annotations

import datetime as dt

from nameko.extensions import DependencyProvider

from grassroots.clock import Clock, config_timer
from grassroots.rpc import RpcProxy, SystemRpcProxy
from grassroots.db import Database
from grassroots.events import batch_event_handler
from grassroots.logging import get_logger
from grassroots.service import ServiceBase, rpc

from . import usecases as uc
from .channels import DeliveryError, EmailSender, SmsChannel, SmtpConfig, make_sms_sender
from .domain import reminders as rem
from .domain.retry import RetryPolicy, after_failure, after_success
from .models import Base

log = get_logger("notify")


class SharedDirectoryCache(DependencyProvider):
    """One ``DirectoryCache`` per container; ttl from NOTIFY_DIRECTORY_TTL_SECONDS (default 30, 0 = off)."""

    def setup(self):
        self.cache = uc.DirectoryCache(float(self.container.config.get("NOTIFY_DIRECTORY_TTL_SECONDS", 30)))

    def get_dependency(self, worker_ctx):
        return self.cache


class Channels(DependencyProvider):
    """The e-mail and SMS senders and the retry policy, built from the config once per container."""

    def setup(self):
        cfg = self.container.config
        self.email = EmailSender(SmtpConfig.from_config(cfg)) if cfg.get("SMTP_HOST") else None
        if self.email is None:
            log.warning("smtp_not_configured", effect="SMTP_HOST is unset: e-mail messages are recorded as skipped")
        self.sms = SmsChannel(make_sms_sender(cfg))
        self.policy = RetryPolicy(
            base=dt.timedelta(seconds=float(cfg.get("NOTIFY_RETRY_BASE_SECONDS") or 30)),
            max_delay=dt.timedelta(seconds=float(cfg.get("NOTIFY_RETRY_MAX_SECONDS") or 3600)),
            max_attempts=int(cfg.get("NOTIFY_MAX_ATTEMPTS") or 6),
            jitter=float(cfg.get("NOTIFY_RETRY_JITTER") or 0.5))
        self.batch = int(cfg.get("NOTIFY_BATCH") or 50)
        self.lease = dt.timedelta(seconds=float(cfg.get("NOTIFY_LEASE_SECONDS") or 300))

    def get_dependency(self, worker_ctx):
        return self

    def channel(self, name):
        return {"email": self.email, "sms": self.sms}.get(name)


def _handler(source: str, event_type: str):
    # batched: a burst of one kind of event is planned in one read and stored in one transaction
    @batch_event_handler(source, event_type)
    def handle(self, envelopes):
        self._handle(envelopes)
    handle.__name__ = f"on_{event_type}"
    return handle


class NotifyService(ServiceBase):
    name = "notify"
    db = Database(Base)
    gateway = RpcProxy("gateway")
    intake = SystemRpcProxy("intake")
    channels = Channels()
    clock = Clock()
    directory_cache = SharedDirectoryCache()

    # intake
    on_call_opened = _handler("intake", "call_opened")
    on_application_submitted = _handler("intake", "application_submitted")
    on_application_withdrawn = _handler("intake", "application_withdrawn")
    on_application_forfeited = _handler("intake", "application_forfeited")
    on_application_received = _handler("intake", "application_received")
    on_document_stored = _handler("intake", "document_stored")
    on_report_filed = _handler("intake", "report_filed")
    on_report_overdue = _handler("intake", "report_overdue")
    # review
    on_review_round_opened = _handler("review", "review_round_opened")
    on_reviewer_assigned = _handler("review", "reviewer_assigned")
    on_score_submitted = _handler("review", "score_submitted")   # a fact for scoring reminders only
    on_application_selected = _handler("review", "application_selected")
    on_application_recommended_to_ministry = _handler("review", "application_recommended_to_ministry")
    on_application_not_selected = _handler("review", "application_not_selected")
    on_ministry_decided = _handler("review", "ministry_decided")
    # experts
    on_expert_admitted_to_pool = _handler("experts", "expert_admitted_to_pool")
    on_expert_matched = _handler("experts", "expert_matched")
    # funding
    on_budget_created = _handler("funding", "budget_created")
    on_disbursement_requested = _handler("funding", "disbursement_requested")
    on_disbursement_approved = _handler("funding", "disbursement_approved")
    on_disbursement_paid = _handler("funding", "disbursement_paid")
    on_disbursement_failed = _handler("funding", "disbursement_failed")
    on_funds_returned = _handler("funding", "funds_returned")
    on_budget_withdrawn = _handler("funding", "budget_withdrawn")
    on_budget_withdrawal_blocked = _handler("funding", "budget_withdrawal_blocked")

    def _directory(self) -> uc.Directory:
        return uc.Directory(self.gateway.users_with_role, self.gateway.users_of_unit, self.gateway.user,
                            self.directory_cache)

    def _handle(self, envelopes):
        now = self.clock()
        directory = self._directory()
        # Resolve people (RPC to the gateway) before the write transaction, so no lock waits on the network.
        # A few statements per batch, not per event: the facts, preferences and messages of all its events
        # are each read or written together.
        with self.db.session() as s:
            prefs = uc.preferences_memo(s)
            facts = uc.Facts(s, envelopes)
            planned = [uc.plan(s, uc.enrich(s, envelope, facts), directory, prefs) for envelope in envelopes]
        by_id = {envelope["id"]: plan for envelope, plan in zip(envelopes, planned)}
        with self.db.transaction(handling=envelopes) as uow:
            uc.learn_many(uow.session, uow.fresh)
            uc.store_many(uow, [(envelope, by_id[envelope["id"]]) for envelope in uow.fresh], now=now,
                          email_enabled=self.channels.email is not None)

    # delivery -----------------------------------------------------------------------------------------
    @config_timer("NOTIFY_DELIVERY_SECONDS", 2.0)
    def deliver_due(self):
        """Send due e-mail and SMS: claim a batch, send each, record the outcome. Returns how many were tried."""
        ch = self.channels
        tried = 0
        while True:
            now = self.clock()
            with self.db.transaction() as uow:
                batch = uc.claim_due(uow.session, now, ch.batch, ch.lease)
            if not batch:
                return tried
            for item in batch:
                with self.db.transaction() as uow:
                    if not uc.still_mine(uow, item, self.clock(), ch.lease):
                        continue
                sender = ch.channel(item.intent.channel)
                try:
                    if sender is None:
                        raise DeliveryError("permanent", f"channel {item.intent.channel} is not configured")
                    sender.deliver(item.intent)
                    outcome = after_success(item.attempt)
                except DeliveryError as exc:
                    outcome = after_failure(item.attempt, self.clock(), exc.to_error_class(), ch.policy)
                with self.db.transaction() as uow:
                    uc.record_outcome(uow, item.id, outcome, self.clock())
                tried += 1
            if len(batch) < ch.batch:
                return tried

    # reminders ----------------------------------------------------------------------------------------
    @config_timer("NOTIFY_REMINDER_SECONDS", 300.0)
    def send_reminders(self):
        """Deadline, report and scoring reminders due now; each reminder (domain id) is made once."""
        now = self.clock()
        with self.db.session() as s:
            calls = uc.calls_near_deadline(s, now)
            reports = uc.report_dues(s)
            rounds = uc.rounds_closing(s, now)
        deadlines = []
        for call in calls:
            if rem.deadline_mark(now, call.deadline) is None:
                continue
            # Drafts and quota use are not in intake's events: ask intake, as the system actor.
            standing = self.intake.unit_standing(call.call_id)
            deadlines.append(rem.CallDeadline(call=call.summary, deadline=call.deadline,
                                              units=uc.unit_standings(standing)))
        envelopes = (rem.deadline_reminders(now, deadlines) + rem.report_reminders(now, reports)
                     + rem.scoring_reminders(now, rounds))
        made = 0
        directory = self._directory()
        for envelope in envelopes:
            with self.db.session() as s:
                if uc.reminder_done(s, envelope["id"]):
                    continue
                planned = uc.plan(s, uc.enrich(s, envelope), directory)
            with self.db.transaction() as uow:
                if not uc.claim_reminder(uow, envelope, len(planned)):
                    continue
                made += len(uc.store(uow, planned, source="notify", now=now,
                                     email_enabled=self.channels.email is not None))
        if made:
            log.info("reminders_made", messages=made)
        return made

    # inbox, preferences, delivery log -----------------------------------------------------------------
    @rpc
    def my_messages(self, unread_only=False, limit=200):
        with self.db.session() as s:
            return uc.my_messages(s, self.current_actor(), bool(unread_only), limit)

    @rpc
    def unread_count(self):
        with self.db.session() as s:
            return uc.unread_count(s, self.current_actor())

    @rpc
    def mark_read(self, message_id):
        with self.db.transaction() as uow:
            return uc.mark_read(uow, self.current_actor(), message_id)

    @rpc
    def delivery_log(self, filters=None):
        with self.db.session() as s:
            return uc.delivery_log(s, self.current_actor(), filters or {})

    @rpc
    def get_preferences(self):
        with self.db.session() as s:
            return uc.get_preferences(s, self.current_actor())

    @rpc
    def set_preferences(self, data):
        with self.db.transaction() as uow:
            return uc.set_preferences(uow, self.current_actor(), data or {})


SERVICE = NotifyService

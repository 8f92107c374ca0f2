"""Funding use cases: one function per entrypoint, each inside the caller's unit of work.

The rules are the pure functions of ``funding.domain`` (four eyes, budget, state machine, bank account, legs,
audit chain); here they are fed with rows read under the right locks and their results stored:

- a disbursement is written under the budget row lock (``SELECT ... FOR UPDATE``), the same lock the
  PostgreSQL guard takes, so the Python check and the database check see the same rows;
- every state change writes its audit record (and, when money moves, its ledger transfer) in the same
  transaction, and its event through the outbox;
- the recipient's bank account is checked when the budget is created, frozen at the first approval, and
  changed afterwards only with a second finance officer's approval;
- a ministry approval corrected into a refusal withdraws the ministry budget (``domain/withdrawal.py``):
  requested tranches are cancelled and the allocation reversed, unless money is out (an approved tranche, or
  paid money not fully returned): then the budget waits as ``withdrawal_blocked``, its money untouched, and
  the withdrawal completes when the last of it comes back (``record_return``) or the approved payment fails
  (``mark_failed``). A refusal corrected back into an approval grants the budget again.

Events (payloads per services/notify/notify/domain/EVENTS.md; each carries ``call``, ``application`` and
``recipients`` copied from the review event the budget came from, plus ``budget``):
    budget_created          amount, source        (when the budget has its amount)
    disbursement_requested  amount, disbursement
    disbursement_approved   amount, disbursement
    disbursement_paid       amount, bank_ref, disbursement
    disbursement_failed     reason, disbursement
    funds_returned          amount, disbursement
    budget_withdrawn        amount (null if it never had one), source, reason, cancelled_disbursements
    budget_withdrawal_blocked  amount, source, reason, outstanding (money out or on its way), disbursements
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots.context import Actor
from grassroots.db import insert_ignore_many, row_params, utcnow
from grassroots.errors import Conflict, NotFound, ValidationFailed
from grassroots.logging import get_logger

from . import audit
from .domain import bank, disbursement as dis, ledger, withdrawal as wd
from .domain.actors import Actor as DomainActor
from .domain.final_accounts import CATEGORIES, has_errors, review_final_accounts
from .domain.money import ZERO, parse_positive_yuan, parse_yuan, to_wire
from .models import (Budget, Disbursement, FinalAccount, IdempotencyKey, LedgerEntry, LedgerTransfer,
                     MinistryDecisionSeen)

log = get_logger("funding")

FINANCE = ("finance_officer",)
BUDGET_SETTERS = ("finance_officer", "programme_officer")
READERS = ("finance_officer", "programme_officer", "auditor", "admin")
SOURCE_LABELS = ledger.SOURCES
REQUEST_OPERATION = "request_disbursement"


def new_uuid() -> str:
    return str(uuid.uuid4())


def _iso(value):
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else to_wire(value)


def _dom_actor(actor: Actor) -> DomainActor:
    return DomainActor(str(actor.id), actor.role)


def _reason(text: Any) -> str:
    return str(text or "").strip()


# -- reading ------------------------------------------------------------------------------------------

def get_budget_row(session: Session, budget_id: str, lock: bool = False) -> Budget:
    try:
        uuid.UUID(str(budget_id))
    except ValueError:
        raise NotFound("budget_not_found", "预算不存在", {"id": budget_id}) from None
    b = session.get(Budget, str(budget_id), with_for_update=lock, populate_existing=lock)
    if b is None:
        raise NotFound("budget_not_found", "预算不存在", {"id": budget_id})
    return b


def get_disbursement_row(session: Session, disbursement_id: str) -> Disbursement:
    try:
        uuid.UUID(str(disbursement_id))
    except ValueError:
        raise NotFound("disbursement_not_found", "拨付申请不存在", {"id": disbursement_id}) from None
    d = session.get(Disbursement, str(disbursement_id))
    if d is None:
        raise NotFound("disbursement_not_found", "拨付申请不存在", {"id": disbursement_id})
    return d


def to_domain(d: Disbursement) -> dis.Disbursement:
    return dis.Disbursement(id=d.id, budget_id=d.budget_id, amount=d.amount, status=dis.Status(d.status),
                            requested_by=d.requested_by, requested_at=d.requested_at, approved_by=d.approved_by,
                            approved_at=d.approved_at, paid_at=d.paid_at, bank_reference=d.bank_reference,
                            failed_reason=d.failed_reason, returned_amount=d.returned_amount,
                            closed_by=d.closed_by, closed_reason=d.closed_reason)


def _store(row: Disbursement, d: dis.Disbursement) -> None:
    for name in ("approved_by", "approved_at", "paid_at", "bank_reference", "failed_reason", "returned_amount",
                 "closed_by", "closed_reason"):
        setattr(row, name, getattr(d, name))
    row.status = d.status.value
    row.updated_at = utcnow()


def budget_disbursements(session: Session, budget_id: str) -> list[dis.Disbursement]:
    return [to_domain(d) for d in session.scalars(sa.select(Disbursement).where(Disbursement.budget_id == budget_id)
                                                  .order_by(Disbursement.requested_at))]


def _paid_net(items: list[dis.Disbursement]) -> Decimal:
    return sum((d.amount - d.returned_amount for d in items if d.status in (dis.Status.PAID, dis.Status.RETURNED)),
               ZERO)


def budget_dict(b: Budget, items: list[dis.Disbursement] | None = None, full_bank: bool = True) -> dict:
    origin = b.origin or {}
    app = origin.get("application") or {}
    out = {"id": b.id, "call_id": b.call_id, "call": origin.get("call"), "programme": b.programme,
           "programme_name": app.get("programme_name"), "unit_id": b.unit_id, "unit_name": b.unit_name,
           "league_city": b.league_city, "project_id": b.project_id, "title": b.title, "source": b.source,
           "source_label": SOURCE_LABELS.get(b.source), "amount": _money(b.amount), "status": b.status,
           "status_label": wd.STATUS_LABELS.get(b.status), "withdrawal": b.withdrawal, "plan": b.plan, "bank_account": b.bank_account if full_bank else _masked(b.bank_account),
           "bank_problems": b.bank_problems, "bank_frozen": b.bank_frozen, "bank_version": b.bank_version,
           "bank_pending": b.bank_pending, "created_at": _iso(b.created_at), "updated_at": _iso(b.updated_at)}
    if items is not None:
        committed = dis.active_total(items)
        # a budget being withdrawn takes no new commitment, whatever its amount still says
        free = (b.amount or ZERO) - committed if b.status in (wd.ACTIVE, wd.AWAITING_AMOUNT) else ZERO
        out.update(committed=_money(committed), disbursed=_money(_paid_net(items)), available=_money(free))
    return out


def _masked(account: dict | None) -> dict | None:
    if not account:
        return account
    number = account.get("account_number") or ""
    return {**account, "account_number": ("*" * max(0, len(number) - 4)) + number[-4:]}


def disbursement_dict(d: Disbursement, b: Budget | None = None) -> dict:
    out = {"id": d.id, "budget_id": d.budget_id, "tranche": d.tranche, "amount": _money(d.amount),
           "returned_amount": _money(d.returned_amount), "net_amount": _money(d.amount - d.returned_amount),
           "status": d.status, "status_label": dis.STATUS_LABELS[dis.Status(d.status)], "purpose": d.purpose,
           "requested_by": d.requested_by, "requested_at": _iso(d.requested_at), "approved_by": d.approved_by,
           "approved_at": _iso(d.approved_at), "paid_at": _iso(d.paid_at), "bank_reference": d.bank_reference,
           "failed_reason": d.failed_reason, "closed_by": d.closed_by, "closed_reason": d.closed_reason,
           "bank_account": d.bank_account}
    if b is not None:
        out.update(call_id=b.call_id, programme=b.programme, unit_id=b.unit_id, unit_name=b.unit_name,
                   league_city=b.league_city, project_id=b.project_id, title=b.title, source=b.source)
    return out


def _event_base(b: Budget) -> dict:
    origin = b.origin or {}
    return {"call": origin.get("call") or {"id": b.call_id}, "application": origin.get("application") or {
        "id": b.project_id, "title": b.title, "programme_code": b.programme, "unit_id": b.unit_id,
        "unit_name": b.unit_name, "league_city_code": b.league_city},
        "recipients": origin.get("recipients") or {"unit_contacts": [], "user_ids": []},
        "budget": {"id": b.id, "source": b.source, "amount": _money(b.amount)}}


def _short(d: Disbursement) -> dict:
    return {"id": d.id, "tranche": d.tranche, "amount": _money(d.amount), "status": d.status}


# -- ledger -------------------------------------------------------------------------------------------

def post_transfer(session: Session, t: ledger.Transfer) -> None:
    """Insert a transfer and its legs (already checked by ``ledger.check_legs``; PostgreSQL checks again at
    commit)."""
    now = utcnow()
    session.add(LedgerTransfer(id=t.id, created_at=now, kind=t.kind, budget_id=t.budget_id, reverses=t.reverses,
                               memo=t.memo))
    session.flush()
    session.add_all([LedgerEntry(transfer_id=t.id, account=leg.account, amount=leg.amount, budget_id=t.budget_id,
                                 kind=t.kind, created_at=now) for leg in t.legs])
    session.flush()


def _current_allocation(session: Session, budget_id: str) -> ledger.Transfer | None:
    reversed_ids = sa.select(LedgerTransfer.reverses).where(LedgerTransfer.reverses.is_not(None))
    row = session.scalars(sa.select(LedgerTransfer).where(
        LedgerTransfer.budget_id == budget_id, LedgerTransfer.kind == ledger.ALLOCATION,
        LedgerTransfer.id.not_in(reversed_ids)).order_by(LedgerTransfer.created_at.desc())).first()
    if row is None:
        return None
    legs = session.execute(sa.select(LedgerEntry.account, LedgerEntry.amount)
                           .where(LedgerEntry.transfer_id == row.id).order_by(LedgerEntry.id)).all()
    return ledger.Transfer(id=row.id, kind=row.kind, budget_id=row.budget_id,
                           legs=tuple(ledger.Leg(a, m) for a, m in legs), reverses=row.reverses, memo=row.memo)


# -- budgets from review's events ---------------------------------------------------------------------

def _bank_from_form(form: dict) -> bank.BankAccount:
    form = form or {}
    return bank.BankAccount(interbank_code=str(form.get("interbank_code") or ""),
                            account_number=str(form.get("account_no") or form.get("account_number") or ""),
                            account_name=str(form.get("account_name") or ""),
                            bank_name=str(form.get("bank_name") or ""))


def _check_bank(account: bank.BankAccount, unit_name: str) -> tuple[dict, list | None]:
    try:
        return bank.check_bank_account(account, unit_name).to_dict(), None
    except ValidationFailed as exc:
        return account.to_dict(), exc.details


def budget_from_event(uow, envelope: dict, source: str) -> dict | None:
    """A budget for a selected (department) or ministry-approved application, if the event names funding.

    The same application and source never get two budgets: a second event for them changes nothing.
    """
    p = envelope.get("payload") or {}
    funding = p.get("funding")
    if not funding:
        return None
    if source == "ministry" and not p.get("approved"):
        return None
    source = funding.get("source") or source
    s = uow.session
    app = dict(p.get("application") or {})
    call = p.get("call") or {}
    existing = s.scalar(sa.select(Budget).where(Budget.project_id == str(app.get("id")), Budget.source == source)
                        .with_for_update())
    if existing is not None:
        if existing.status in (wd.WITHDRAWN, wd.WITHDRAWAL_BLOCKED):
            return _grant_again(uow, envelope, existing, funding)
        return None
    form = app.pop("form", None) or {}
    unit_name = app.get("unit_name") or ""
    account, problems = _check_bank(_bank_from_form(form), unit_name)
    amount, amount_problem = _event_amount(funding, envelope)
    now = utcnow()
    b = Budget(id=new_uuid(), call_id=str(call.get("id") or ""), programme=str(app.get("programme_code") or ""),
               unit_id=str(app.get("unit_id") or ""), unit_name=unit_name, league_city=app.get("league_city_code"),
               project_id=str(app.get("id") or ""), source=source, amount=amount,
               status="active" if amount is not None else "awaiting_amount", title=app.get("title") or "",
               origin={"call": call, "application": app, "recipients": p.get("recipients") or {},
                       "selection": p.get("selection"), "decision": p.get("decision"), "doc_ref": p.get("doc_ref"),
                       "event_type": envelope.get("type")},
               origin_event=envelope.get("id"), bank_account=account, bank_problems=problems,
               created_at=now, updated_at=now)
    s.add(b)
    s.flush()
    actor = uow.actor or Actor.system()
    audit.append(s, actor, "budget_created", "budget", b.id, budget_id=b.id,
                 reason=f"{'评审入选' if envelope.get('type') == 'application_selected' else '人力资源社会保障部批准'}"
                        f"（事件 {envelope.get('id')}）",
                 data={"source": source, "amount": _money(amount), "project_id": b.project_id,
                       "unit_id": b.unit_id, "bank_account": account, "bank_problems": problems,
                       "amount_problem": amount_problem})
    if amount is not None:
        _allocate(uow, b, actor, reason="预算下达")
    return budget_dict(b)


def _event_amount(funding: dict, envelope: dict) -> tuple[Decimal | None, list | None]:
    """The amount an event grants (None: an officer sets it later) and, if it was unusable, why."""
    raw_amount = funding.get("amount")
    if raw_amount in (None, ""):
        return None, None
    try:
        return parse_positive_yuan(raw_amount, "funding.amount"), None
    except ValidationFailed as exc:
        app = (envelope.get("payload") or {}).get("application") or {}
        log.warning("budget_amount_unusable", application_id=app.get("id"), event_id=envelope.get("id"))
        return None, exc.details


def _grant_again(uow, envelope: dict, b: Budget, funding: dict) -> dict:
    """The refusal that withdrew (or began to withdraw) the budget was corrected back into an approval.

    A blocked budget's allocation was never reversed: it is simply active again. A withdrawn one is granted
    anew with the amount of this decision: a new allocation (the reversed one stays reversed)."""
    s = uow.session
    p = envelope.get("payload") or {}
    actor = uow.actor or Actor.system()
    reason = (_reason(p.get("correction_reason")) or "人力资源社会保障部批准") + f"（事件 {envelope.get('id')}）"
    previous, before = b.status, b.withdrawal
    b.withdrawal, b.updated_at = None, utcnow()
    b.origin = {**(b.origin or {}), "decision": p.get("decision"), "doc_ref": p.get("doc_ref"),
                "event_type": envelope.get("type")}
    if previous == wd.WITHDRAWAL_BLOCKED:
        b.status = wd.ACTIVE
        s.flush()
        audit.append(s, actor, "budget_withdrawal_cancelled", "budget", b.id, budget_id=b.id, reason=reason,
                     data={"amount": _money(b.amount), "withdrawal": before, "event_id": envelope.get("id")})
        return budget_dict(b)
    amount, amount_problem = _event_amount(funding, envelope)
    b.amount = amount
    b.status = wd.ACTIVE if amount is not None else wd.AWAITING_AMOUNT
    s.flush()
    audit.append(s, actor, "budget_granted_again", "budget", b.id, budget_id=b.id, reason=reason,
                 data={"source": b.source, "amount": _money(amount), "amount_problem": amount_problem,
                       "withdrawal": before, "event_id": envelope.get("id")})
    if amount is not None:
        _allocate(uow, b, actor, reason="预算重新下达")
    return budget_dict(b)


def ministry_decided(uow, envelope: dict) -> dict | None:
    """Review's ministry decision: an approval with funding makes (or grants again) the ministry budget; a
    refusal withdraws the ministry budget the application has, if any. A decision older (by review's
    ``revision``) than the last one applied for the application is ignored and audited."""
    p = envelope.get("payload") or {}
    approved = p.get("approved")
    if approved in (True, False) and _stale_ministry_decision(uow, envelope):
        return None
    if approved is True:
        return budget_from_event(uow, envelope, "ministry")
    if approved is False:
        return withdraw_on_refusal(uow, envelope)
    # a decision that says neither must not take money away
    log.warning("ministry_decision_unreadable", event_id=envelope.get("id"), approved=repr(approved))
    return None


def _stale_ministry_decision(uow, envelope: dict) -> bool:
    """Record the decision as the newest applied, or say it is older than one already applied.

    Decisions without a ``revision`` (older publishers) are applied as they come. The row is locked, so two
    deliveries about one application are applied in turn."""
    p = envelope.get("payload") or {}
    app_id = str((p.get("application") or {}).get("id") or "")
    revision = p.get("revision")
    if not app_id or not isinstance(revision, int) or isinstance(revision, bool):
        return False    # no order information (an older publisher): applied as it comes
    s = uow.session
    insert_ignore_many(s, MinistryDecisionSeen.__table__, [
        row_params(MinistryDecisionSeen.__table__, {"project_id": app_id, "revision": 0, "approved": False,
                                                    "event_id": "", "applied_at": utcnow()})])
    seen = s.get(MinistryDecisionSeen, app_id, with_for_update=True, populate_existing=True)
    if revision < seen.revision or (revision == seen.revision and seen.event_id
                                    and seen.event_id != envelope.get("id")):
        actor = uow.actor or Actor.system()
        audit.append(s, actor, "ministry_decision_ignored", "project", app_id,
                     reason="已按更新的人力资源社会保障部决定处理，较早的决定不再执行",
                     data={"event_id": envelope.get("id"), "revision": revision, "applied_revision": seen.revision,
                           "applied_event_id": seen.event_id, "approved": p.get("approved")})
        log.warning("ministry_decision_stale", event_id=envelope.get("id"), revision=revision,
                    applied_revision=seen.revision)
        return True
    seen.revision, seen.approved, seen.event_id, seen.applied_at = revision, bool(p.get("approved")), \
        str(envelope.get("id") or ""), utcnow()
    return False


def withdraw_on_refusal(uow, envelope: dict) -> dict | None:
    """Withdraw the application's ministry budget, or mark it ``withdrawal_blocked`` when money is out.

    Idempotent: a withdrawn budget, or a blocked one whose money is still out, is left as it is, so a
    redelivered or repeated refusal records and publishes nothing more."""
    p = envelope.get("payload") or {}
    app_id = str((p.get("application") or {}).get("id") or "")
    s = uow.session
    b = s.scalar(sa.select(Budget).where(Budget.project_id == app_id, Budget.source == "ministry")
                 .with_for_update())
    if b is None or b.status == wd.WITHDRAWN:
        return None
    plan = wd.plan_withdrawal(budget_disbursements(s, b.id))
    if b.status == wd.WITHDRAWAL_BLOCKED and plan.blocked:
        return None
    actor = uow.actor or Actor.system()
    reason = (_reason(p.get("correction_reason")) or _reason((p.get("previous") or {}).get("reason"))
              or "人力资源社会保障部决定不予资助")
    decision = {"reason": reason, "event_id": envelope.get("id"), "doc_ref": p.get("doc_ref"),
                "decided_on": p.get("decided_on"), "correction": bool(p.get("correction")),
                "by": {"id": str(actor.id), "role": str(actor.role)}, "at": utcnow().isoformat()}
    cancelled = _cancel_for_withdrawal(uow, b, plan.cancel, actor, reason)
    if plan.blocked:
        return _block_withdrawal(uow, b, actor, decision, plan, cancelled)
    return _withdraw(uow, b, actor, decision, cancelled)


def _cancel_for_withdrawal(uow, b: Budget, items, actor, reason: str) -> list[dict]:
    s = uow.session
    out = []
    for item in items:
        row = s.get(Disbursement, item.id, with_for_update=True, populate_existing=True)
        d = wd.cancel_for_withdrawal(to_domain(row), by=str(actor.id), reason=f"预算撤销：{reason}")
        _store(row, d)
        s.flush()
        audit.append(s, actor, "disbursement_cancelled", "disbursement", row.id, budget_id=b.id,
                     reason=d.closed_reason, data={"amount": _money(row.amount), "budget_withdrawal": True})
        out.append(_short(row))
    return out


def _withdraw(uow, b: Budget, actor, decision: dict, cancelled: list[dict]) -> dict:
    """Nothing is out: reverse the allocation (if the budget had one) and close the budget."""
    s = uow.session
    reason = decision["reason"]
    rev = None
    original = _current_allocation(s, b.id)
    if original is not None:
        rev = ledger.reversal(original, id=new_uuid(), memo=f"预算撤销冲销：{reason}")
        post_transfer(s, rev)
        audit.append(s, actor, "transfer_reversed", "ledger_transfer", rev.id, budget_id=b.id, reason=reason,
                     data=rev.to_dict())
    previous = b.status
    b.status, b.updated_at = wd.WITHDRAWN, utcnow()
    b.withdrawal = {**decision, "from_status": previous, "reversal": None if rev is None else rev.id}
    s.flush()
    audit.append(s, actor, "budget_withdrawn", "budget", b.id, budget_id=b.id, reason=reason,
                 data={"source": b.source, "amount": _money(b.amount), "from": previous,
                       "reversal": None if rev is None else rev.id, "cancelled": [c["id"] for c in cancelled],
                       "event_id": decision.get("event_id"), "doc_ref": decision.get("doc_ref")})
    uow.publish("budget_withdrawn", {**_event_base(b), "amount": _money(b.amount), "source": b.source,
                                     "reason": reason, "cancelled_disbursements": cancelled})
    return budget_dict(b)


def _block_withdrawal(uow, b: Budget, actor, decision: dict, plan: wd.WithdrawalPlan,
                      cancelled: list[dict]) -> dict:
    """Money is out: leave it (and the allocation) alone, stop new commitments, tell finance officers."""
    s = uow.session
    reason = decision["reason"]
    rows = [s.get(Disbursement, d.id) for d in plan.blocking]
    b.status, b.updated_at = wd.WITHDRAWAL_BLOCKED, utcnow()
    b.withdrawal = {**decision, "outstanding": _money(plan.outstanding), "blocked_by": [r.id for r in rows]}
    s.flush()
    audit.append(s, actor, "budget_withdrawal_blocked", "budget", b.id, budget_id=b.id, reason=reason,
                 data={"source": b.source, "amount": _money(b.amount), "outstanding": _money(plan.outstanding),
                       "disbursements": [_short(r) for r in rows], "cancelled": [c["id"] for c in cancelled],
                       "event_id": decision.get("event_id"), "doc_ref": decision.get("doc_ref")})
    uow.publish("budget_withdrawal_blocked", {**_event_base(b), "amount": _money(b.amount), "source": b.source,
                                              "reason": reason, "outstanding": _money(plan.outstanding),
                                              "disbursements": [_short(r) for r in rows]})
    return budget_dict(b)


def _finish_withdrawal_if_clear(uow, b: Budget, actor) -> None:
    """After a return or a failed payment: a blocked budget whose money is all back is withdrawn now, for the
    reason of the decision that withdrew it, by the officer whose act cleared the way."""
    if b.status != wd.WITHDRAWAL_BLOCKED:
        return
    uow.session.flush()
    if wd.plan_withdrawal(budget_disbursements(uow.session, b.id)).blocked:
        return
    decision = {k: v for k, v in (b.withdrawal or {}).items() if k not in ("outstanding", "blocked_by")}
    decision.setdefault("reason", "人力资源社会保障部决定不予资助")
    _withdraw(uow, b, actor, decision, [])


def _allocate(uow, b: Budget, actor, reason: str) -> None:
    t = ledger.allocation(id=new_uuid(), budget_id=b.id, source=b.source, amount=b.amount, memo=reason)
    post_transfer(uow.session, t)
    audit.append(uow.session, actor, "funds_allocated", "ledger_transfer", t.id, budget_id=b.id, reason=reason,
                 data=t.to_dict())
    uow.publish("budget_created", {**_event_base(b), "amount": _money(b.amount), "source": b.source})


def set_budget_amount(uow, actor: Actor, budget_id: str, data: dict) -> dict:
    """Set the amount of a budget awaiting it; or correct it (reason required) by a reversing entry and a
    new allocation, never below what disbursements already hold."""
    actor.require(*BUDGET_SETTERS)
    s = uow.session
    b = get_budget_row(s, budget_id, lock=True)
    wd.require_open(b.status, b.id)
    amount = parse_positive_yuan(data.get("amount"), "amount")
    reason = _reason(data.get("reason"))
    if b.status == "awaiting_amount":
        b.amount, b.status, b.updated_at = amount, "active", utcnow()
        audit.append(s, actor, "budget_amount_set", "budget", b.id, budget_id=b.id, reason=reason or "核定预算金额",
                     data={"amount": _money(amount)})
        s.flush()
        _allocate(uow, b, actor, reason=reason or "预算下达")
        return budget_dict(b, budget_disbursements(s, b.id))
    if not reason:
        raise ValidationFailed("reason_required", "修改已下达的预算金额须说明原因",
                               [{"path": "reason", "code": "reason_required", "message": "请填写修改原因"}])
    if amount == b.amount:
        raise Conflict("amount_unchanged", "预算金额未变化")
    items = budget_disbursements(s, b.id)
    committed = dis.active_total(items)
    if committed > amount:
        raise Conflict("budget_below_committed",
                       f"预算金额不能低于已申请和已拨付的金额合计{to_wire(committed)}元",
                       {"committed": _money(committed), "amount": _money(amount)})
    old = b.amount
    original = _current_allocation(s, b.id)
    if original is not None:
        rev = ledger.reversal(original, id=new_uuid(), memo=f"预算调整冲销：{reason}")
        post_transfer(s, rev)
        audit.append(s, actor, "transfer_reversed", "ledger_transfer", rev.id, budget_id=b.id, reason=reason,
                     data=rev.to_dict())
    b.amount, b.updated_at = amount, utcnow()
    s.flush()
    t = ledger.allocation(id=new_uuid(), budget_id=b.id, source=b.source, amount=amount, memo=f"预算调整：{reason}")
    post_transfer(s, t)
    audit.append(s, actor, "budget_amount_corrected", "budget", b.id, budget_id=b.id, reason=reason,
                 data={"from": _money(old), "to": _money(amount), "transfer": t.id})
    return budget_dict(b, items)


def set_budget_plan(uow, actor: Actor, budget_id: str, data: dict) -> dict:
    """The category plan (专款专用) the final accounts are checked against."""
    actor.require(*BUDGET_SETTERS)
    s = uow.session
    b = get_budget_row(s, budget_id, lock=True)
    if b.amount is None:
        raise Conflict("budget_awaiting_amount", "预算金额尚未核定，请先核定金额再编制支出科目")
    plan = data.get("plan")
    if not isinstance(plan, dict) or not plan:
        raise ValidationFailed("plan_required", "请按支出科目填写预算",
                               [{"path": "plan", "code": "required", "message": "请至少填写一个支出科目的预算"}])
    review_final_accounts(budget_amount=b.amount, plan=plan, spending={})   # validates the plan
    clean = {k: to_wire(parse_positive_yuan(v, f"plan.{k}")) for k, v in plan.items() if k in CATEGORIES}
    old = b.plan
    b.plan, b.updated_at = clean, utcnow()
    audit.append(s, actor, "budget_plan_set", "budget", b.id, budget_id=b.id, reason=_reason(data.get("reason")),
                 data={"from": old, "to": clean})
    return budget_dict(b, budget_disbursements(s, b.id))


def _can_read_budget(actor: Actor, b: Budget) -> None:
    if actor.role == "applicant_unit":
        actor.require_unit(b.unit_id)
    else:
        actor.require(*READERS)


def get_budget(session: Session, actor: Actor, budget_id: str) -> dict:
    b = get_budget_row(session, budget_id)
    _can_read_budget(actor, b)
    return budget_dict(b, budget_disbursements(session, b.id))


def list_budgets(session: Session, actor: Actor, filters: dict) -> list[dict]:
    if actor.role != "applicant_unit":
        actor.require(*READERS)
    q = sa.select(Budget).order_by(Budget.created_at)
    aliases = {"programme_code": "programme", "league_city_code": "league_city", "application_id": "project_id"}
    for key, value in (filters or {}).items():
        column = aliases.get(key, key)
        if value not in (None, "") and column in ("call_id", "programme", "unit_id", "league_city", "project_id",
                                                  "source", "status"):
            q = q.where(getattr(Budget, column) == str(value))
    if actor.role == "applicant_unit":
        q = q.where(Budget.unit_id == str(actor.unit_id or ""))
    budgets = list(session.scalars(q))
    items: dict[str, list] = {b.id: [] for b in budgets}
    if budgets:
        for d in session.scalars(sa.select(Disbursement).where(Disbursement.budget_id.in_(list(items)))):
            items[d.budget_id].append(to_domain(d))
    return [budget_dict(b, items[b.id]) for b in budgets]


# -- bank account ---------------------------------------------------------------------------------------

def _binding(b: Budget) -> bank.AccountBinding:
    pending = None
    if b.bank_pending:
        pa = b.bank_pending
        pending = bank.PendingAccountChange(bank.BankAccount(**pa["account"]), pa["proposed_by"],
                                            pa["proposed_at"], pa["reason"])
    return bank.AccountBinding(b.id, bank.BankAccount(**(b.bank_account or _bank_from_form({}).to_dict())),
                               frozen=b.bank_frozen, pending=pending, version=b.bank_version)


def _store_binding(b: Budget, binding: bank.AccountBinding) -> None:
    b.bank_account = binding.account.to_dict()
    b.bank_frozen = binding.frozen
    b.bank_version = binding.version
    b.bank_pending = None if binding.pending is None else {
        "account": binding.pending.account.to_dict(), "proposed_by": binding.pending.proposed_by,
        "proposed_at": binding.pending.proposed_at, "reason": binding.pending.reason}
    b.updated_at = utcnow()


def change_bank_account(uow, actor: Actor, budget_id: str, data: dict) -> dict:
    """Replace the recipient account (before the first approval) or propose a change (after it)."""
    s = uow.session
    b = get_budget_row(s, budget_id, lock=True)
    account = data.get("bank_account") or {}
    new = bank.BankAccount(str(account.get("interbank_code") or ""), str(account.get("account_number") or ""),
                           str(account.get("account_name") or ""), str(account.get("bank_name") or ""))
    now = utcnow()
    binding = bank.propose_account_change(_binding(b), new, b.unit_name, _dom_actor(actor), now.isoformat(),
                                          _reason(data.get("reason")))
    frozen = b.bank_frozen
    _store_binding(b, binding)
    if not frozen:
        b.bank_problems = None
    audit.append(s, actor, "bank_account_change_proposed" if frozen else "bank_account_replaced", "budget", b.id,
                 budget_id=b.id, reason=_reason(data.get("reason")),
                 data={"account": (binding.pending.account if frozen else binding.account).to_dict(),
                       "version": binding.version, "needs_approval": frozen})
    return budget_dict(b, budget_disbursements(s, b.id))


def approve_bank_account_change(uow, actor: Actor, budget_id: str, reason: str = "") -> dict:
    s = uow.session
    b = get_budget_row(s, budget_id, lock=True)
    before = _binding(b)
    binding = bank.approve_account_change(before, _dom_actor(actor))
    _store_binding(b, binding)
    b.bank_problems = None
    audit.append(s, actor, "bank_account_change_approved", "budget", b.id, budget_id=b.id, reason=_reason(reason),
                 data={"from": before.account.to_dict(), "to": binding.account.to_dict(),
                       "proposed_by": before.pending.proposed_by, "version": binding.version})
    return budget_dict(b, budget_disbursements(s, b.id))


def withdraw_bank_account_change(uow, actor: Actor, budget_id: str, reason: str = "") -> dict:
    s = uow.session
    b = get_budget_row(s, budget_id, lock=True)
    before = _binding(b)
    binding = bank.withdraw_account_change(before, _dom_actor(actor))
    _store_binding(b, binding)
    audit.append(s, actor, "bank_account_change_withdrawn", "budget", b.id, budget_id=b.id, reason=_reason(reason),
                 data={"account": before.pending.account.to_dict(), "proposed_by": before.pending.proposed_by})
    return budget_dict(b, budget_disbursements(s, b.id))


# -- disbursements --------------------------------------------------------------------------------------

def idempotency_scope(actor: Actor, key: str) -> str:
    """Keys are scoped per person: two officers who happen to pick the same key do not see each other's result."""
    return f"{REQUEST_OPERATION}:{actor.id}:{key}"


def request_disbursement(uow, actor: Actor, budget_id: str, data: dict) -> dict:
    """A finance officer requests a tranche. Same idempotency key and body: the first result again; same key,
    other body: 409 ``idempotency_key_reused``."""
    actor.require(*FINANCE)
    key = dis.check_idempotency_key(data.get("idempotency_key") or "")
    amount = parse_positive_yuan(data.get("amount"), "amount")
    purpose = _reason(data.get("purpose"))
    fingerprint = dis.request_fingerprint({"operation": REQUEST_OPERATION, "budget_id": str(budget_id),
                                           "amount": to_wire(amount), "purpose": purpose})
    s = uow.session
    scoped = idempotency_scope(actor, key)
    stored = s.get(IdempotencyKey, scoped)
    replay = dis.replay_or_refuse(
        None if stored is None else dis.IdempotencyRecord(key, stored.fingerprint, stored.result), key, fingerprint)
    if replay is not None:
        return {**replay.result, "replayed": True}
    b = get_budget_row(s, budget_id, lock=True)
    wd.require_open(b.status, b.id)
    if b.amount is None:
        raise Conflict("budget_awaiting_amount", "预算金额尚未核定，核定前不能申请拨付", {"budget_id": b.id})
    items = budget_disbursements(s, b.id)
    now = utcnow()
    d = dis.request(id=new_uuid(), budget_id=b.id, budget_amount=b.amount, existing=items, amount=amount,
                    requester=_dom_actor(actor), at=now)
    row = Disbursement(id=d.id, budget_id=b.id, amount=d.amount, returned_amount=ZERO, status=d.status.value,
                       requested_by=d.requested_by, requested_at=now, purpose=purpose, tranche=len(items) + 1,
                       idempotency_key=scoped, request_fingerprint=fingerprint, updated_at=now)
    s.add(row)
    s.flush()
    audit.append(s, actor, "disbursement_requested", "disbursement", d.id, budget_id=b.id, reason=purpose,
                 data={"amount": _money(amount), "tranche": row.tranche, "idempotency_key": key})
    result = disbursement_dict(row, b)
    s.add(IdempotencyKey(key=scoped, operation=REQUEST_OPERATION, fingerprint=fingerprint, result=result,
                         created_at=now))
    s.flush()
    uow.publish("disbursement_requested", {**_event_base(b), "amount": _money(amount), "disbursement": _short(row)})
    return result


def _locked(s: Session, disbursement_id: str) -> tuple[Budget, Disbursement]:
    """Budget row first, then the disbursement: the lock order of every writer (and of the guard trigger)."""
    d = get_disbursement_row(s, disbursement_id)
    b = get_budget_row(s, d.budget_id, lock=True)
    d = s.get(Disbursement, d.id, with_for_update=True, populate_existing=True)
    return b, d


def approve_disbursement(uow, actor: Actor, disbursement_id: str, reason: str = "") -> dict:
    """A second finance officer approves (four eyes, in the domain, whatever the entrypoint); the recipient
    account must pass the checks and is frozen with this approval."""
    actor.require(*FINANCE)
    s = uow.session
    b, row = _locked(s, disbursement_id)
    wd.require_open(b.status, b.id)
    items = budget_disbursements(s, b.id)
    d = dis.approve(to_domain(row), approver=_dom_actor(actor), at=utcnow(), budget_amount=b.amount or ZERO,
                    existing=items)
    if b.bank_problems:
        raise Conflict("bank_account_invalid", "收款账户未通过校验，请先更正收款账户再审批",
                       {"problems": b.bank_problems})
    binding = _binding(b)
    account = bank.ensure_payable(binding)
    first = not binding.frozen
    _store_binding(b, bank.freeze_on_first_approval(binding))
    _store(row, d)
    row.bank_account = {**account.to_dict(), "version": b.bank_version}
    s.flush()
    audit.append(s, actor, "disbursement_approved", "disbursement", row.id, budget_id=b.id, reason=_reason(reason),
                 data={"amount": _money(row.amount), "requested_by": row.requested_by,
                       "bank_account": row.bank_account, "bank_account_frozen_now": first})
    uow.publish("disbursement_approved", {**_event_base(b), "amount": _money(row.amount),
                                          "disbursement": _short(row)})
    return disbursement_dict(row, b)


def reject_disbursement(uow, actor: Actor, disbursement_id: str, reason: str) -> dict:
    actor.require(*FINANCE)
    s = uow.session
    b, row = _locked(s, disbursement_id)
    d = dis.reject(to_domain(row), actor=_dom_actor(actor), reason=reason)
    _store(row, d)
    audit.append(s, actor, "disbursement_rejected", "disbursement", row.id, budget_id=b.id, reason=d.closed_reason,
                 data={"amount": _money(row.amount)})
    return disbursement_dict(row, b)


def cancel_disbursement(uow, actor: Actor, disbursement_id: str, reason: str) -> dict:
    actor.require(*FINANCE)
    s = uow.session
    b, row = _locked(s, disbursement_id)
    d = dis.cancel(to_domain(row), actor=_dom_actor(actor), reason=reason)
    _store(row, d)
    audit.append(s, actor, "disbursement_cancelled", "disbursement", row.id, budget_id=b.id, reason=d.closed_reason,
                 data={"amount": _money(row.amount)})
    return disbursement_dict(row, b)


def mark_paid(uow, actor: Actor, disbursement_id: str, bank_reference: str) -> dict:
    """The bank confirmed the payment: the ledger moves the money from the clearing account to the budget's
    disbursed account, with the bank's reference as the memo."""
    actor.require(*FINANCE)
    s = uow.session
    b, row = _locked(s, disbursement_id)
    d = dis.mark_paid(to_domain(row), actor=_dom_actor(actor), at=utcnow(), bank_reference=bank_reference)
    if (row.bank_account or {}).get("version") != b.bank_version:
        raise Conflict("bank_account_changed", "审批后收款账户已变更，本笔拨付不能按原账户登记支付；请登记失败后重新申请",
                       {"approved_version": (row.bank_account or {}).get("version"), "current": b.bank_version})
    _store(row, d)
    t = ledger.payment(id=new_uuid(), budget_id=b.id, amount=row.amount, bank_reference=d.bank_reference)
    post_transfer(s, t)
    audit.append(s, actor, "disbursement_paid", "disbursement", row.id, budget_id=b.id, reason=d.bank_reference,
                 data={"amount": _money(row.amount), "bank_reference": d.bank_reference, "transfer": t.to_dict()})
    uow.publish("disbursement_paid", {**_event_base(b), "amount": _money(row.amount), "bank_ref": d.bank_reference,
                                      "disbursement": _short(row)})
    return disbursement_dict(row, b)


def mark_failed(uow, actor: Actor, disbursement_id: str, reason: str) -> dict:
    """The bank refused the payment (no money moved, so no ledger transfer); the amount is free again."""
    actor.require(*FINANCE)
    s = uow.session
    b, row = _locked(s, disbursement_id)
    d = dis.mark_failed(to_domain(row), actor=_dom_actor(actor), reason=reason)
    _store(row, d)
    audit.append(s, actor, "disbursement_failed", "disbursement", row.id, budget_id=b.id, reason=d.failed_reason,
                 data={"amount": _money(row.amount)})
    uow.publish("disbursement_failed", {**_event_base(b), "reason": d.failed_reason, "disbursement": _short(row)})
    _finish_withdrawal_if_clear(uow, b, actor)
    return disbursement_dict(row, b)


def record_return(uow, actor: Actor, disbursement_id: str, data: dict) -> dict:
    """The unit sent money back (part or all of a paid tranche): the budget may use it again."""
    actor.require(*FINANCE)
    s = uow.session
    b, row = _locked(s, disbursement_id)
    amount = parse_positive_yuan(data.get("amount"), "amount")
    reference = _reason(data.get("bank_reference"))
    if not reference:
        raise ValidationFailed("bank_reference_required", "请填写退回款项的银行交易流水号",
                               [{"path": "bank_reference", "code": "bank_reference_required",
                                 "message": "请填写银行交易流水号"}])
    d = dis.record_return(to_domain(row), actor=_dom_actor(actor), amount=amount)
    _store(row, d)
    t = ledger.funds_returned(id=new_uuid(), budget_id=b.id, amount=amount, bank_reference=reference)
    post_transfer(s, t)
    audit.append(s, actor, "funds_returned", "disbursement", row.id, budget_id=b.id,
                 reason=_reason(data.get("reason")) or reference,
                 data={"amount": _money(amount), "returned_total": _money(row.returned_amount),
                       "bank_reference": reference, "transfer": t.to_dict()})
    uow.publish("funds_returned", {**_event_base(b), "amount": _money(amount), "disbursement": _short(row)})
    _finish_withdrawal_if_clear(uow, b, actor)
    return disbursement_dict(row, b)


def get_disbursement(session: Session, actor: Actor, disbursement_id: str) -> dict:
    actor.require(*READERS)
    d = get_disbursement_row(session, disbursement_id)
    return disbursement_dict(d, session.get(Budget, d.budget_id))


# -- final accounts -------------------------------------------------------------------------------------

def final_account_dict(f: FinalAccount, b: Budget) -> dict:
    return {"id": f.id, "budget_id": f.budget_id, "version": f.version, "spending": f.spending, "note": f.note,
            "flags": f.flags, "flagged": f.flagged, "reported_by": f.reported_by, "reported_at": _iso(f.reported_at),
            "budget": {"id": b.id, "amount": _money(b.amount), "plan": b.plan, "call_id": b.call_id,
                       "programme": b.programme, "unit_id": b.unit_id, "unit_name": b.unit_name,
                       "league_city": b.league_city, "project_id": b.project_id, "title": b.title}}


def submit_final_accounts(uow, actor: Actor, budget_id: str, data: dict) -> dict:
    """The unit reports what it spent per category; the report is stored as it is, with flags for spending
    over a category's budget, over the budget, or outside the earmarked categories."""
    actor.require("applicant_unit")
    s = uow.session
    b = get_budget_row(s, budget_id, lock=True)
    actor.require_unit(b.unit_id)
    if b.amount is None or not b.plan:
        raise Conflict("budget_plan_missing", "该预算尚未核定支出科目，暂不能报送决算；请联系财务人员")
    spending = data.get("spending")
    if not isinstance(spending, dict) or not spending:
        raise ValidationFailed("spending_required", "请按支出科目填写实际支出",
                               [{"path": "spending", "code": "required", "message": "请至少填写一个支出科目"}])
    items = budget_disbursements(s, b.id)
    flags = review_final_accounts(budget_amount=b.amount, plan=b.plan, spending=spending, disbursed=_paid_net(items))
    clean = {k: to_wire(parse_yuan(v, f"spending.{k}")) for k, v in spending.items()}
    version = (s.scalar(sa.select(sa.func.max(FinalAccount.version)).where(FinalAccount.budget_id == b.id)) or 0) + 1
    f = FinalAccount(id=new_uuid(), budget_id=b.id, version=version, spending=clean,
                     note=_reason(data.get("note")), flags=[fl.to_dict() for fl in flags], flagged=has_errors(flags),
                     reported_by=str(actor.id), reported_at=utcnow())
    s.add(f)
    s.flush()
    audit.append(s, actor, "final_accounts_reported", "final_account", f.id, budget_id=b.id,
                 reason=f.note, data={"version": version, "spending": clean,
                                      "flags": [fl.code for fl in flags], "flagged": f.flagged})
    return final_account_dict(f, b)

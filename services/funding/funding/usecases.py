"""Funding use cases (walking-skeleton depth): budget from selection, four-eyes disbursement, audit trail."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import Conflict, Forbidden, NotFound, ValidationFailed

from . import audit
from .models import Budget, Disbursement

FINANCE = ("finance_officer",)
READERS = ("finance_officer", "auditor", "programme_officer", "admin")
ACTIVE = ("requested", "approved", "paid")
DEFAULT_AMOUNTS = {"service_team": Decimal("100000.00"), "regional_base": Decimal("200000.00"),
                   "national_base": Decimal("300000.00")}


def money(value, path="amount") -> Decimal:
    if isinstance(value, float):
        raise ValidationFailed("amount_invalid", "金额须以字符串或整数提供，不能使用浮点数", [{"path": path, "code": "float"}])
    try:
        d = Decimal(str(value))
    except (InvalidOperation, TypeError):
        raise ValidationFailed("amount_invalid", "金额格式不正确", [{"path": path, "code": "invalid"}]) from None
    if d != d.quantize(Decimal("0.01")) or d <= 0:
        raise ValidationFailed("amount_invalid", "金额须为正数，最多两位小数", [{"path": path, "code": "invalid"}])
    return d.quantize(Decimal("0.01"))


def _iso(v):
    return v.isoformat() if v else None


def budget_dict(b: Budget) -> dict:
    return {"id": b.id, "application_id": b.application_id, "call_id": b.call_id,
            "programme_code": b.programme_code, "unit_id": b.unit_id, "unit_name": b.unit_name,
            "league_city_code": b.league_city_code, "title": b.title, "source": b.source,
            "amount": str(b.amount), "status": b.status, "created_at": _iso(b.created_at)}


def disb_dict(d: Disbursement) -> dict:
    return {"id": d.id, "budget_id": d.budget_id, "amount": str(d.amount), "status": d.status,
            "purpose": d.purpose, "requested_by": d.requested_by, "requested_at": _iso(d.requested_at),
            "approved_by": d.approved_by, "approved_at": _iso(d.approved_at), "paid_at": _iso(d.paid_at),
            "bank_ref": d.bank_ref}


def create_budget_from_selection(uow, envelope: dict) -> None:
    p = envelope["payload"]
    a = p["application"]
    s = uow.session
    if s.scalar(sa.select(Budget.id).where(Budget.application_id == a["id"])):
        return
    funding = p.get("funding") or {}
    amount = money(funding["amount"]) if funding.get("amount") else DEFAULT_AMOUNTS.get(
        a["programme_code"], Decimal("50000.00"))
    form = a.get("form") or {}
    bank = {k: form.get(k) for k in ("account_name", "account_number", "bank_name", "interbank_code") if form.get(k)}
    b = Budget(application_id=a["id"], call_id=p["call"]["id"], programme_code=a["programme_code"],
               unit_id=a["unit_id"], unit_name=a["unit_name"], league_city_code=a["league_city_code"],
               title=a.get("title") or "", source=funding.get("source") or "department", amount=amount, bank=bank)
    s.add(b)
    s.flush()
    actor = uow.actor or Actor.system()
    audit.append(s, actor, "budget_created", "budget", b.id, budget_dict(b), reason="application_selected")
    uow.publish("budget_created", {"call": p["call"], "application": a, "budget": budget_dict(b),
                                   "recipients": p.get("recipients", {})})


def _budget(session, budget_id, lock=False) -> Budget:
    b = session.get(Budget, budget_id, with_for_update=lock)
    if b is None:
        raise NotFound("budget_not_found", "预算不存在", {"id": budget_id})
    return b


def list_budgets(uow, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Budget).order_by(Budget.created_at)
    for key in ("call_id", "programme_code", "unit_id", "league_city_code", "application_id"):
        if filters.get(key):
            q = q.where(getattr(Budget, key) == filters[key])
    rows = [budget_dict(b) for b in uow.session.scalars(q)]
    if actor.role == "auditor":
        audit.append(uow.session, actor, "auditor_query", "budget", "*", {"filters": filters, "rows": len(rows)})
    return rows


def request_disbursement(uow, actor: Actor, budget_id: str, data: dict) -> dict:
    actor.require(*FINANCE)
    s = uow.session
    key = (data.get("idempotency_key") or "").strip()
    if not key:
        raise ValidationFailed("idempotency_key_required", "请求须带幂等键（idempotency_key）", [])
    body = {"budget_id": budget_id, "amount": str(data.get("amount")), "purpose": data.get("purpose") or ""}
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    existing = s.scalar(sa.select(Disbursement).where(Disbursement.idempotency_key == key))
    if existing is not None:
        if existing.request_fingerprint != fingerprint:
            raise Conflict("idempotency_key_reused", "该幂等键已用于另一笔不同的拨款申请", {"idempotency_key": key})
        return disb_dict(existing)
    amount = money(data.get("amount"))
    budget = _budget(s, budget_id, lock=True)   # serialises requests against one budget
    committed = s.scalar(sa.select(sa.func.coalesce(sa.func.sum(Disbursement.amount), 0)).where(
        Disbursement.budget_id == budget.id, Disbursement.status.in_(ACTIVE)))
    if Decimal(committed) + amount > budget.amount:
        raise Conflict("budget_exceeded", f"拨款金额超出预算余额（预算 {budget.amount} 元，已占用 {committed} 元）",
                       {"budget": str(budget.amount), "committed": str(committed)})
    d = Disbursement(budget_id=budget.id, amount=amount, purpose=body["purpose"], idempotency_key=key,
                     request_fingerprint=fingerprint, requested_by=actor.id)
    s.add(d)
    s.flush()
    audit.append(s, actor, "disbursement_requested", "disbursement", d.id, disb_dict(d))
    return disb_dict(d)


def approve_disbursement(uow, actor: Actor, disbursement_id: str, reason: str) -> dict:
    actor.require(*FINANCE)
    s = uow.session
    d = s.get(Disbursement, disbursement_id, with_for_update=True)
    if d is None:
        raise NotFound("disbursement_not_found", "拨款申请不存在", {"id": disbursement_id})
    if d.requested_by == actor.id:
        raise Forbidden("four_eyes_violation", "拨款须由另一名财务人员审批，申请人不能审批自己的申请")
    if d.status != "requested":
        raise Conflict("invalid_transition", "该拨款申请当前状态不能审批")
    d.status, d.approved_by, d.approved_at = "approved", actor.id, utcnow()
    audit.append(s, actor, "disbursement_approved", "disbursement", d.id, disb_dict(d), reason=reason or None)
    b = s.get(Budget, d.budget_id)
    uow.publish("disbursement_approved", {"budget": budget_dict(b), "disbursement": disb_dict(d)})
    return disb_dict(d)


def mark_paid(uow, actor: Actor, disbursement_id: str, bank_ref: str) -> dict:
    actor.require(*FINANCE)
    s = uow.session
    d = s.get(Disbursement, disbursement_id, with_for_update=True)
    if d is None:
        raise NotFound("disbursement_not_found", "拨款申请不存在", {"id": disbursement_id})
    if d.status != "approved":
        raise Conflict("invalid_transition", "只有已审批的拨款可以登记支付")
    if not (bank_ref or "").strip():
        raise ValidationFailed("bank_ref_required", "请填写银行回单号", [{"path": "bank_ref", "code": "required"}])
    d.status, d.paid_at, d.bank_ref = "paid", utcnow(), bank_ref.strip()
    audit.append(s, actor, "disbursement_paid", "disbursement", d.id, disb_dict(d))
    b = s.get(Budget, d.budget_id)
    uow.publish("disbursement_paid", {"budget": budget_dict(b), "disbursement": disb_dict(d),
                                      "application": {"id": b.application_id, "title": b.title,
                                                      "unit_id": b.unit_id, "unit_name": b.unit_name}})
    return disb_dict(d)


def list_disbursements(uow, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Disbursement).order_by(Disbursement.requested_at)
    for key in ("budget_id", "status"):
        if filters.get(key):
            q = q.where(getattr(Disbursement, key) == filters[key])
    rows = [disb_dict(d) for d in uow.session.scalars(q)]
    if actor.role == "auditor":
        audit.append(uow.session, actor, "auditor_query", "disbursement", "*", {"filters": filters, "rows": len(rows)})
    return rows


def audit_records(uow, actor: Actor, filters: dict) -> list[dict]:
    actor.require("auditor", "finance_officer", "admin")
    from .models import AuditRecord
    q = sa.select(AuditRecord).order_by(AuditRecord.seq)
    if filters.get("entity_id"):
        q = q.where(AuditRecord.entity_id == filters["entity_id"])
    rows = [{"seq": r.seq, "at": _iso(r.at), "actor_id": r.actor_id, "actor_role": r.actor_role,
             "action": r.action, "entity": r.entity, "entity_id": r.entity_id, "reason": r.reason,
             "data": json.loads(r.data), "prev_hash": r.prev_hash, "hash": r.hash}
            for r in uow.session.scalars(q)]
    if actor.role == "auditor":
        audit.append(uow.session, actor, "auditor_query", "audit_record", "*", {"filters": filters, "rows": len(rows)})
    return rows


def verify_audit_chain(uow, actor: Actor) -> dict:
    actor.require("auditor", "admin")
    result = audit.verify(uow.session)
    audit.append(uow.session, actor, "auditor_verify_chain", "audit_record", "*", result)
    return result

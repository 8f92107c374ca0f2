"""Notify use cases (walking-skeleton depth: an in-app message to the unit concerned, once per event)."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import NotFound

from .models import Message

SUBJECTS = {
    "call_opened": "申报通知已发布：{call}",
    "application_submitted": "申报材料已提交：{title}",
    "application_withdrawn": "申报材料已撤回：{title}",
    "application_received": "纸质材料已受理：{title}",
    "document_stored": "附件已通过检查：{title}",
    "application_selected": "申报项目已入选：{title}",
    "budget_created": "项目预算已下达：{title}",
    "disbursement_approved": "拨款已审批：{title}",
    "disbursement_paid": "资助经费已拨付：{title}",
}


def _dedup(event_id: str, recipient: str, channel: str) -> str:
    return hashlib.sha256(f"{event_id}|{recipient}|{channel}".encode()).hexdigest()


def record_messages(uow, envelope: dict) -> int:
    p = envelope.get("payload", {})
    app = p.get("application") or {}
    budget = p.get("budget") or {}
    unit_id = app.get("unit_id") or budget.get("unit_id")
    title = app.get("title") or budget.get("title") or ""
    call = (p.get("call") or {}).get("title", "")
    if not unit_id:
        return 0
    subject = SUBJECTS.get(envelope["type"], envelope["type"]).format(title=title, call=call)
    contact = ((p.get("call") or {}).get("contacts") or [{}])[0]
    body = subject
    if contact.get("name"):
        body += f"。如有疑问请联系{contact['name']}，电话：{contact.get('phone', '')}"
    key = _dedup(envelope["id"], f"unit:{unit_id}", "inapp")
    if uow.session.scalar(sa.select(Message.id).where(Message.dedup_key == key)):
        return 0
    uow.session.add(Message(dedup_key=key, event_id=envelope["id"], event_type=envelope["type"],
                            recipient_unit_id=unit_id, channel="inapp", subject=subject, body=body,
                            status="delivered", sent_at=utcnow(), attempts=1))
    return 1


def _msg(m: Message) -> dict:
    return {"id": m.id, "event_type": m.event_type, "channel": m.channel, "subject": m.subject, "body": m.body,
            "status": m.status, "created_at": m.created_at.isoformat(),
            "read_at": m.read_at.isoformat() if m.read_at else None}


def my_messages(session, actor: Actor, unread_only: bool) -> list[dict]:
    q = sa.select(Message).where(Message.channel == "inapp").order_by(Message.created_at)
    conds = [Message.recipient_user_id == actor.id]
    if actor.unit_id:
        conds.append(Message.recipient_unit_id == actor.unit_id)
    q = q.where(sa.or_(*conds))
    if unread_only:
        q = q.where(Message.read_at.is_(None))
    return [_msg(m) for m in session.scalars(q)]


def mark_read(uow, actor: Actor, message_id: str) -> dict:
    m = uow.session.get(Message, message_id)
    if m is None or not (m.recipient_user_id == actor.id or (actor.unit_id and m.recipient_unit_id == actor.unit_id)):
        raise NotFound("message_not_found", "消息不存在")
    m.read_at = m.read_at or utcnow()
    return _msg(m)


def delivery_log(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require("programme_officer", "intake_clerk", "admin")
    q = sa.select(Message).order_by(Message.created_at.desc()).limit(int(filters.get("limit", 200)))
    return [{**_msg(m), "recipient_unit_id": m.recipient_unit_id, "recipient_user_id": m.recipient_user_id,
             "attempts": m.attempts, "last_error": m.last_error} for m in session.scalars(q)]

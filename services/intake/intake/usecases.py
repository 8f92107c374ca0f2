"""Intake use cases: one function per thing a person does, each inside the caller's unit of work.

They take the ``UnitOfWork`` (or a read-only session), the acting user and plain data, enforce who may do
what, apply the domain rules and write events to the outbox. They import no Nameko.
"""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import Conflict, NotFound, ValidationFailed

from . import rules
from .models import Application, Call, Document, Unit

OFFICERS = ("programme_officer", "admin")
STAFF = ("programme_officer", "intake_clerk", "admin", "auditor")
COUNTING = ("submitted", "received")


# helpers ----------------------------------------------------------------------------------------------
def _get(session, model, id_, code, message):
    obj = session.get(model, id_)
    if obj is None:
        raise NotFound(code, message, {"id": id_})
    return obj


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def unit_dict(u: Unit) -> dict:
    return {"id": u.id, "name": u.name, "kind": u.kind, "league_city_code": u.league_city_code,
            "uscc": u.uscc, "contacts": u.contacts}


def call_dict(c: Call, full: bool = True) -> dict:
    d = {"id": c.id, "year": c.year, "title": c.title, "doc_no": c.doc_no, "deadline": iso(c.deadline),
         "status": c.status, "opened_at": iso(c.opened_at)}
    if full:
        d["definition"] = c.definition
    return d


def call_summary(c: Call, programme_code: str | None = None) -> dict:
    return {"id": c.id, "year": c.year, "title": c.title, "doc_no": c.doc_no, "deadline": iso(c.deadline),
            "contacts": rules.call_contacts(c.definition, programme_code)}


def app_dict(a: Application, docs: list[Document] | None = None) -> dict:
    d = {"id": a.id, "call_id": a.call_id, "programme_code": a.programme_code, "unit_id": a.unit_id,
         "title": a.title, "status": a.status, "form": a.form, "created_at": iso(a.created_at),
         "updated_at": iso(a.updated_at), "submitted_at": iso(a.submitted_at),
         "received_at": iso(a.received_at), "ended_at": iso(a.ended_at), "end_reason": a.end_reason}
    if docs is not None:
        d["documents"] = [doc_dict(x) for x in docs]
    return d


def doc_dict(d: Document) -> dict:
    return {"id": d.id, "application_id": d.application_id, "kind": d.kind, "filename": d.filename,
            "status": d.status, "sha256": d.sha256 or d.declared_sha256, "size": d.size or d.declared_size,
            "content_type": d.content_type, "version_id": d.version_id, "problems": d.problems,
            "created_at": iso(d.created_at), "stored_at": iso(d.stored_at)}


def application_payload(a: Application, call: Call, unit: Unit) -> dict:
    prog = rules.programme(call.definition, a.programme_code)
    return {
        "call": call_summary(call, a.programme_code),
        "application": {"id": a.id, "title": a.title, "programme_code": a.programme_code,
                        "programme_name": prog.name, "unit_id": unit.id,
                        "unit_name": unit.name, "unit_kind": unit.kind, "league_city_code": unit.league_city_code,
                        "status": a.status, "submitted_at": iso(a.submitted_at), "form": a.form},
        "recipients": {"unit_contacts": unit.contacts or []},
    }


# units ------------------------------------------------------------------------------------------------
def create_unit(uow, actor: Actor, data: dict) -> dict:
    actor.require(*OFFICERS)
    rules.validate_unit(data)
    if data.get("uscc") and uow.session.scalar(sa.select(Unit.id).where(Unit.uscc == data["uscc"])):
        raise Conflict("unit_exists", "该统一社会信用代码的单位已登记", {"uscc": data["uscc"]})
    unit = Unit(name=data["name"].strip(), kind=data["kind"], league_city_code=data["league_city_code"],
                uscc=data.get("uscc") or None, contacts=data.get("contacts") or [])
    uow.session.add(unit)
    uow.session.flush()
    return unit_dict(unit)


def get_unit(session, actor: Actor, unit_id: str) -> dict:
    actor.require_unit(unit_id)
    return unit_dict(_get(session, Unit, unit_id, "unit_not_found", "申报单位不存在"))


def list_units(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*STAFF)
    q = sa.select(Unit).order_by(Unit.league_city_code, Unit.name)
    if filters.get("kind"):
        q = q.where(Unit.kind == filters["kind"])
    if filters.get("league_city_code"):
        q = q.where(Unit.league_city_code == filters["league_city_code"])
    return [unit_dict(u) for u in session.scalars(q)]


# calls ------------------------------------------------------------------------------------------------
def create_call(uow, actor: Actor, definition: dict) -> dict:
    actor.require(*OFFICERS)
    parsed = rules.load_call_definition(definition)
    call = Call(year=parsed["year"], title=parsed["title"], doc_no=parsed.get("doc_no"),
                deadline=parsed["deadline_utc"], definition=parsed["definition"], created_by=actor.id)
    uow.session.add(call)
    uow.session.flush()
    return call_dict(call)


def update_call(uow, actor: Actor, call_id: str, definition: dict) -> dict:
    actor.require(*OFFICERS)
    call = _get(uow.session, Call, call_id, "call_not_found", "申报通知不存在")
    if call.status != "draft":
        raise Conflict("call_already_open", "申报通知已发布，不能再修改")
    parsed = rules.load_call_definition(definition)
    call.year, call.title, call.doc_no = parsed["year"], parsed["title"], parsed.get("doc_no")
    call.deadline, call.definition = parsed["deadline_utc"], parsed["definition"]
    return call_dict(call)


def open_call(uow, actor: Actor, call_id: str) -> dict:
    actor.require(*OFFICERS)
    call = _get(uow.session, Call, call_id, "call_not_found", "申报通知不存在")
    if call.status != "draft":
        raise Conflict("call_already_open", "申报通知已发布")
    if call.deadline <= utcnow():
        raise Conflict("deadline_in_past", "截止时间已过，不能发布该申报通知")
    call.status, call.opened_at = "open", utcnow()
    dcall = rules.domain_call(call.definition)
    uow.publish("call_opened", {"call": call_summary(call), "programmes": [
        {"code": p.code, "name": p.name, "rolling": p.rolling,
         "selection": [{"key": s.key, "label": s.label, "min": s.count.min, "max": s.count.max}
                       for s in p.selection],
         "quotas": {k: {"min": r.min, "max": r.max} for k, r in p.quotas.items()}}
        for p in dcall.programmes]})
    return call_dict(call)


def get_call(session, call_id: str) -> dict:
    return call_dict(_get(session, Call, call_id, "call_not_found", "申报通知不存在"))


def list_calls(session) -> list[dict]:
    return [call_dict(c, full=False) for c in session.scalars(sa.select(Call).order_by(Call.year.desc()))]


# applications -----------------------------------------------------------------------------------------
def _load_app_for(session, actor: Actor, application_id: str, lock: bool = False) -> Application:
    q = sa.select(Application).where(Application.id == application_id)
    if lock:
        q = q.with_for_update()
    app = session.scalar(q)
    if app is None:
        raise NotFound("application_not_found", "申报材料不存在", {"id": application_id})
    if actor.role == "applicant_unit":
        actor.require_unit(app.unit_id)
    else:
        actor.require(*STAFF, "applicant_unit")
    return app


def create_application(uow, actor: Actor, data: dict) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    call = _get(s, Call, data.get("call_id"), "call_not_found", "申报通知不存在")
    if call.status != "open":
        raise Conflict("call_not_open", "该申报通知尚未发布或已结束")
    unit = _get(s, Unit, actor.unit_id, "unit_not_found", "当前账号未关联申报单位")
    prog = rules.programme(call.definition, data.get("programme_code"))
    rules.check_unit_may_apply(prog, unit.kind)
    form = data.get("form") or {}
    rules.validate_form(prog, form, strict=False)
    title = (data.get("title") or "").strip() or rules.summary_title(prog, form, prog.name)
    app = Application(call_id=call.id, programme_code=prog.code, unit_id=unit.id,
                      title=title, form=form, created_by=actor.id)
    s.add(app)
    s.flush()
    return app_dict(app, [])


def update_application(uow, actor: Actor, application_id: str, data: dict) -> dict:
    s = uow.session
    app = _load_app_for(s, actor, application_id, lock=True)
    actor.require("applicant_unit")
    if app.status != "draft":
        raise Conflict("not_a_draft", "只有草稿状态的申报材料可以修改")
    call = s.get(Call, app.call_id)
    rules.check_deadline(call.definition, utcnow())
    prog = rules.programme(call.definition, app.programme_code)
    form = data.get("form", app.form)
    rules.validate_form(prog, form, strict=False)
    app.form = form
    if "title" in data:
        app.title = (data["title"] or "").strip()
    app.updated_at = utcnow()
    return app_dict(app)


def get_application(session, actor: Actor, application_id: str) -> dict:
    app = _load_app_for(session, actor, application_id)
    docs = session.scalars(sa.select(Document).where(Document.application_id == app.id)
                           .order_by(Document.created_at)).all()
    return app_dict(app, docs)


def list_applications(session, actor: Actor, filters: dict) -> list[dict]:
    q = sa.select(Application).order_by(Application.created_at)
    if actor.role == "applicant_unit":
        q = q.where(Application.unit_id == actor.unit_id)
    else:
        actor.require(*STAFF)
    for key in ("call_id", "programme_code", "status", "unit_id"):
        if filters.get(key):
            q = q.where(getattr(Application, key) == filters[key])
    if filters.get("league_city_code"):
        q = q.join(Unit, Unit.id == Application.unit_id).where(
            Unit.league_city_code == filters["league_city_code"])
    return [app_dict(a) for a in session.scalars(q)]


def submit_application(uow, actor: Actor, application_id: str) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    app = _load_app_for(s, actor, application_id)
    call = s.get(Call, app.call_id)
    now = utcnow()
    rules.check_deadline(call.definition, now)   # late is forfeited: refused, nothing changes
    new_status = rules.transition(app.status, "submit", actor.role)
    prog = rules.programme(call.definition, app.programme_code)
    rules.validate_form(prog, app.form, strict=True, definition=call.definition)
    docs = s.scalars(sa.select(Document).where(Document.application_id == app.id,
                                                Document.status == "stored")).all()
    rules.check_required_documents(prog, {d.kind for d in docs})
    # Quota, race-free: lock the unit's row so submissions of one unit are serialised, then count.
    unit = s.scalar(sa.select(Unit).where(Unit.id == app.unit_id).with_for_update())
    used = s.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.call_id == call.id, Application.programme_code == app.programme_code,
        Application.unit_id == unit.id, Application.status.in_(COUNTING)))
    rules.check_quota(prog, unit.kind, used)
    app.status, app.submitted_at, app.updated_at = new_status, now, now
    s.flush()
    uow.publish("application_submitted", application_payload(app, call, unit))
    return app_dict(app, docs)


def withdraw_application(uow, actor: Actor, application_id: str, reason: str) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    app = _load_app_for(s, actor, application_id, lock=True)
    was = app.status
    app.status = rules.transition(app.status, "withdraw", actor.role)
    app.ended_at, app.end_reason, app.updated_at = utcnow(), reason or None, utcnow()
    if was == "submitted":
        call, unit = s.get(Call, app.call_id), s.get(Unit, app.unit_id)
        payload = application_payload(app, call, unit)
        payload["reason"] = reason
        uow.publish("application_withdrawn", payload)
    return app_dict(app)


def receive_application(uow, actor: Actor, application_id: str, note: str) -> dict:
    actor.require("intake_clerk", "admin")
    s = uow.session
    app = _load_app_for(s, actor, application_id, lock=True)
    app.status = rules.transition(app.status, "receive", actor.role)
    app.received_at, app.updated_at = utcnow(), utcnow()
    call, unit = s.get(Call, app.call_id), s.get(Unit, app.unit_id)
    payload = application_payload(app, call, unit)
    payload["note"] = note
    uow.publish("application_received", payload)
    return app_dict(app)


# documents --------------------------------------------------------------------------------------------
_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def request_upload(uow, store, actor: Actor, application_id: str, data: dict) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    app = _load_app_for(s, actor, application_id)
    if app.status != "draft":
        raise Conflict("not_a_draft", "只有草稿状态的申报材料可以上传附件")
    call = s.get(Call, app.call_id)
    prog = rules.programme(call.definition, app.programme_code)
    spec = rules.attachment_spec(prog, data.get("kind"))
    problems = rules.check_upload_request(spec, data)
    if problems:
        raise ValidationFailed("upload_invalid", "上传申请有误，请按提示修改", problems)
    filename = _SAFE_NAME.sub("_", data["filename"])[-120:]
    doc = Document(application_id=app.id, kind=spec.kind, filename=filename,
                   declared_sha256=data["sha256"].lower(), declared_size=int(data["size"]),
                   object_key="", uploaded_by=actor.id)
    s.add(doc)
    s.flush()
    doc.object_key = f"calls/{call.id}/applications/{app.id}/{doc.id}/{filename}"
    return {"document": doc_dict(doc), "upload_url": store.presigned_put(doc.object_key, 900),
            "method": "PUT", "expires_in": 900}


def confirm_document(uow, store, actor: Actor, document_id: str) -> dict:
    """Verify the uploaded object; a rejected document is recorded with its problems, then refused."""
    s = uow.session
    doc = _get(s, Document, document_id, "document_not_found", "附件不存在")
    app = _load_app_for(s, actor, doc.application_id)
    actor.require("applicant_unit")
    if doc.status == "stored":
        return doc_dict(doc)
    call = s.get(Call, app.call_id)
    spec = rules.attachment_spec(rules.programme(call.definition, app.programme_code), doc.kind)
    try:
        info = store.verify(doc.object_key, sha256=doc.declared_sha256, max_size=spec.max_bytes,
                            allowed=tuple(spec.types))
    except ValidationFailed as exc:
        doc.status, doc.problems = "rejected", exc.details
        return {"rejected": exc.to_dict(), "document": doc_dict(doc)}
    # A new version of the same kind supersedes the previous one; earlier versions stay in the store.
    for old in s.scalars(sa.select(Document).where(Document.application_id == app.id, Document.kind == doc.kind,
                                                   Document.status == "stored")):
        old.status = "superseded"
    doc.status, doc.version_id, doc.sha256 = "stored", info.version_id, info.sha256
    doc.size, doc.content_type, doc.stored_at = info.size, info.content_type, utcnow()
    s.flush()
    unit = s.get(Unit, app.unit_id)
    payload = application_payload(app, call, unit)
    payload["document"] = doc_dict(doc)
    uow.publish("document_stored", payload)
    return doc_dict(doc)


def document_download(session, store, actor: Actor, document_id: str) -> dict:
    doc = _get(session, Document, document_id, "document_not_found", "附件不存在")
    _load_app_for(session, actor, doc.application_id)
    if doc.status not in ("stored", "superseded"):
        raise Conflict("document_not_stored", "附件尚未通过检查，不能下载")
    return {"url": store.presigned_get(doc.object_key, 300, version_id=doc.version_id, filename=doc.filename),
            "expires_in": 300}

"""Intake use cases: one function per thing a person does, each inside the caller's unit of work.

They take the ``UnitOfWork`` (or a read-only session), the acting user and plain data, enforce who may do
what, apply the domain rules and write events to the outbox. They import no Nameko.
"""
from __future__ import annotations

import base64
import datetime as dt
import re
from collections import namedtuple

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import Conflict, Forbidden, NotFound, ValidationFailed

from . import rules
from .domain import reports as dreports
from .domain.model import LOCAL_TZ
from .models import Application, Call, Document, Report, Unit

OFFICERS = ("programme_officer", "admin")
STAFF = ("programme_officer", "intake_clerk", "admin", "auditor")
COUNTING = ("submitted", "received")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGE = 500


# helpers ----------------------------------------------------------------------------------------------
def _get(session, model, id_, code, message):
    obj = session.get(model, id_)
    if obj is None:
        raise NotFound(code, message, {"id": id_})
    return obj


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or utcnow()


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(LOCAL_TZ).date()


def end_of_local_day(day: dt.date | None) -> str | None:
    """The last second of a local (Asia/Shanghai) day, as UTC ISO: when a due date is over."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59), LOCAL_TZ).astimezone(dt.timezone.utc).isoformat()


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
            "contacts": rules.call_contacts(c, programme_code)}


def app_dict(a: Application, docs: list[Document] | None = None) -> dict:
    d = {"id": a.id, "call_id": a.call_id, "programme_code": a.programme_code, "unit_id": a.unit_id,
         "title": a.title, "status": a.status, "form": a.form, "created_at": iso(a.created_at),
         "updated_at": iso(a.updated_at), "submitted_at": iso(a.submitted_at),
         "received_at": iso(a.received_at), "ended_at": iso(a.ended_at), "end_reason": a.end_reason,
         "report_due_on": iso(a.report_due_on)}
    if docs is not None:
        d["documents"] = [doc_dict(x) for x in docs]
    return d


def doc_dict(d: Document) -> dict:
    return {"id": d.id, "application_id": d.application_id, "purpose": d.purpose, "kind": d.kind,
            "filename": d.filename, "replaces_id": d.replaces_id, "status": d.status, "sha256": d.sha256 or d.declared_sha256, "size": d.size or d.declared_size,
            "content_type": d.content_type, "version_id": d.version_id, "problems": d.problems,
            "created_at": iso(d.created_at), "stored_at": iso(d.stored_at)}


def application_payload(a: Application, call: Call, unit: Unit) -> dict:
    prog = rules.programme(call, a.programme_code)
    return {
        "call": call_summary(call, a.programme_code),
        "application": {"id": a.id, "title": a.title, "programme_code": a.programme_code,
                        "programme_name": prog.name, "unit_id": unit.id,
                        "unit_name": unit.name, "unit_kind": unit.kind, "league_city_code": unit.league_city_code,
                        "status": a.status, "submitted_at": iso(a.submitted_at), "form": a.form,
                        "report_due_on": iso(a.report_due_on), "report_due_at": end_of_local_day(a.report_due_on)},
        "recipients": {"unit_contacts": unit.contacts or [], "user_ids": [a.created_by] if a.created_by else []},
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


def update_unit(uow, actor: Actor, unit_id: str, data: dict) -> dict:
    """Officers correct any field; a unit updates only its own contacts."""
    actor.require(*OFFICERS, "applicant_unit")
    actor.require_unit(unit_id)
    unit = _get(uow.session, Unit, unit_id, "unit_not_found", "申报单位不存在")
    if actor.role == "applicant_unit" and set(data) - {"contacts"}:
        raise Forbidden("unit_fields_locked", "申报单位只能修改本单位联系人，其他信息请联系项目处修改",
                        {"fields": sorted(set(data) - {"contacts"})})
    merged = {**unit_dict(unit), **data}
    merged.pop("id", None)
    if merged.get("uscc") is None:
        merged.pop("uscc")
    rules.validate_unit(merged)
    if data.get("uscc") and uow.session.scalar(sa.select(Unit.id).where(Unit.uscc == data["uscc"], Unit.id != unit.id)):
        raise Conflict("unit_exists", "该统一社会信用代码的单位已登记", {"uscc": data["uscc"]})
    for key in ("name", "kind", "league_city_code", "uscc", "contacts"):
        if key in data:
            setattr(unit, key, data[key].strip() if key == "name" else data[key])
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
    _check_call_unique(uow.session, parsed)
    call = Call(year=parsed["year"], title=parsed["title"], doc_no=parsed.get("doc_no"),
                deadline=parsed["deadline_utc"], definition=parsed["definition"], created_by=actor.id)
    uow.session.add(call)
    uow.session.flush()
    return call_dict(call)


def _check_call_unique(session, parsed: dict, other_than: str | None = None) -> None:
    q = sa.select(Call.id).where(Call.year == parsed["year"], Call.doc_no == parsed.get("doc_no"))
    if other_than:
        q = q.where(Call.id != other_than)
    if session.scalar(q):
        raise Conflict("call_exists", f"{parsed['year']}年度文号为{parsed.get('doc_no')}的申报通知已存在",
                       {"year": parsed["year"], "doc_no": parsed.get("doc_no")})


def update_call(uow, actor: Actor, call_id: str, definition: dict) -> dict:
    """Replace a draft call's definition (full, or ``{"template": year, ...}``); refused once it is open."""
    actor.require(*OFFICERS)
    call = uow.session.scalar(sa.select(Call).where(Call.id == call_id).with_for_update())
    if call is None:
        raise NotFound("call_not_found", "申报通知不存在", {"id": call_id})
    if call.status != "draft":
        raise Conflict("call_already_open", "申报通知已发布，不能再修改")
    parsed = rules.load_call_definition(definition)
    _check_call_unique(uow.session, parsed, other_than=call.id)
    call.year, call.title, call.doc_no = parsed["year"], parsed["title"], parsed.get("doc_no")
    call.deadline, call.definition = parsed["deadline_utc"], parsed["definition"]
    return call_dict(call)


def open_call(uow, actor: Actor, call_id: str, now: dt.datetime | None = None) -> dict:
    actor.require(*OFFICERS)
    now = _now(now)
    call = uow.session.scalar(sa.select(Call).where(Call.id == call_id).with_for_update())
    if call is None:
        raise NotFound("call_not_found", "申报通知不存在", {"id": call_id})
    if call.status != "draft":
        raise Conflict("call_already_open", "申报通知已发布")
    if call.deadline <= now:
        raise Conflict("deadline_in_past", "截止时间已过，不能发布该申报通知")
    call.status, call.opened_at = "open", now
    dcall = rules.domain_call(call)
    uow.publish("call_opened", {"call": call_summary(call), "programmes": [
        {"code": p.code, "name": p.name, "rolling": p.rolling,
         "eligible_unit_kinds": list(p.eligible_unit_kinds),
         "selection": [{"key": s.key, "label": s.label, "min": s.count.min, "max": s.count.max}
                       for s in p.selection],
         "quotas": {k: {"min": r.min, "max": r.max} for k, r in p.quotas.items()},
         "report_required": p.report.required}
        for p in dcall.programmes], "review": dcall.definition.get("review") or {},
        "recipients": {"unit_contacts": [], "user_ids": []}})
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


def create_application(uow, actor: Actor, data: dict, now: dt.datetime | None = None) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    call = _get(s, Call, data.get("call_id"), "call_not_found", "申报通知不存在")
    if call.status != "open":
        raise Conflict("call_not_open", "该申报通知尚未发布或已结束")
    rules.check_deadline(call, _now(now))
    if not actor.unit_id:
        raise Forbidden("no_unit", "当前账号未关联申报单位，请联系管理员")
    unit = _get(s, Unit, actor.unit_id, "unit_not_found", "当前账号未关联申报单位")
    prog = rules.programme(call, data.get("programme_code"))
    rules.check_unit_may_apply(prog, unit.kind)
    form = data.get("form") or {}
    rules.validate_form(prog, form, strict=False)
    title = (data.get("title") or "").strip() or rules.summary_title(prog, form, prog.name)
    app = Application(call_id=call.id, programme_code=prog.code, unit_id=unit.id,
                      title=title, form=form, created_by=actor.id)
    s.add(app)
    s.flush()
    return app_dict(app, [])


def update_application(uow, actor: Actor, application_id: str, data: dict, now: dt.datetime | None = None) -> dict:
    s = uow.session
    app = _load_app_for(s, actor, application_id, lock=True)
    actor.require("applicant_unit")
    if app.status != "draft":
        raise Conflict("not_a_draft", "只有草稿状态的申报材料可以修改")
    call = s.get(Call, app.call_id)
    rules.check_deadline(call, _now(now))
    prog = rules.programme(call, app.programme_code)
    form = data.get("form", app.form)
    rules.validate_form(prog, form, strict=False)
    app.form = form
    if "title" in data:
        app.title = (data["title"] or "").strip()
    app.updated_at = _now(now)
    return app_dict(app)


def get_application(session, actor: Actor, application_id: str) -> dict:
    app = _load_app_for(session, actor, application_id)
    docs = session.scalars(sa.select(Document).where(Document.application_id == app.id)
                           .order_by(Document.created_at)).all()
    return app_dict(app, docs)


def _application_query(actor: Actor, filters: dict):
    q = sa.select(Application, Unit).join(Unit, Unit.id == Application.unit_id)
    if actor.role == "applicant_unit":
        q = q.where(Application.unit_id == actor.unit_id)
    else:
        actor.require(*STAFF)
    for key in ("call_id", "programme_code", "status", "unit_id"):
        if filters.get(key):
            values = str(filters[key]).split(",")
            col = getattr(Application, key)
            q = q.where(col.in_(values) if len(values) > 1 else col == values[0])
    if filters.get("league_city_code"):
        q = q.where(Unit.league_city_code == filters["league_city_code"])
    return q


def _listed(a: Application, u: Unit) -> dict:
    d = app_dict(a)
    d.update({"unit_name": u.name, "unit_kind": u.kind, "league_city_code": u.league_city_code})
    return d


def _int(value, default: int, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, n))


def list_applications(session, actor: Actor, filters: dict) -> list[dict]:
    """Every matching application (a unit sees its own); ``limit``/``offset`` narrow it."""
    q = _application_query(actor, filters).order_by(Application.created_at, Application.id)
    if filters.get("limit") not in (None, ""):
        q = q.limit(_int(filters["limit"], MAX_PAGE, 1, MAX_PAGE)).offset(_int(filters.get("offset"), 0, 0, 10**9))
    return [_listed(a, u) for a, u in session.execute(q)]


def application_page(session, actor: Actor, filters: dict) -> dict:
    """One page of matching applications with the total, for the officers' list views."""
    limit = _int(filters.get("limit"), 50, 1, MAX_PAGE)
    offset = _int(filters.get("offset"), 0, 0, 10**9)
    q = _application_query(actor, filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    rows = session.execute(q.order_by(Application.created_at, Application.id).limit(limit).offset(offset))
    return {"items": [_listed(a, u) for a, u in rows], "total": total, "limit": limit, "offset": offset}


# Built once with bound parameters (building a statement and its cache key per call costs more CPU than
# running it): an application's stored documents, and the submission's statements (below).
def _stored(application_id, purpose):
    return sa.and_(Document.application_id == application_id, Document.purpose == purpose,
                   Document.status == "stored")


_STORED_DOCS = sa.select(Document).where(
    _stored(sa.bindparam("application_id"), sa.bindparam("purpose"))).order_by(Document.created_at)
_APPLICATION = Application.__table__
_UNIT, _CALL, _DOCUMENT = Unit.__table__, Call.__table__, Document.__table__


def _columns(table: sa.Table, omit: tuple[str, ...] = ()) -> list[sa.Column]:
    return [c for c in table.c if c.key not in omit]


def _record(name: str, columns: list[sa.Column]):
    """Rows of a table read by Core, with the ORM entity's attribute names (the helpers above read either)."""
    return namedtuple(name, [c.key for c in columns])


_APP_COLS, _UNIT_COLS, _DOC_COLS = _columns(_APPLICATION), _columns(_UNIT), _columns(_DOCUMENT)
_CALL_COLS = _columns(_CALL, omit=("definition",))
_AppRow, _UnitRow, _DocRow = (_record("ApplicationRow", _APP_COLS), _record("UnitRow", _UNIT_COLS),
                              _record("DocumentRow", _DOC_COLS))
_CALL_DEFINITION = sa.select(_CALL.c.definition).where(_CALL.c.id == sa.bindparam("id"))


class _CallRow(namedtuple("CallRow", [c.key for c in _CALL_COLS] + ["session"])):
    """A call's row without its ``definition``, a large JSON document that ``rules.domain_call`` parses once
    per process for an open call: read from ``session`` only when asked for, as the ORM's deferred column is."""
    __slots__ = ()

    @property
    def definition(self) -> dict:
        return self.session.scalar(_CALL_DEFINITION, {"id": self.id})


# A submission is two round trips on PostgreSQL. The first carries two statements: the lock on the draft (one
# draft submitted twice at once is submitted once) and on its unit (submissions of one unit are serialised for
# the quota count), sent ahead of the read; then the read, a statement of its own and so, under READ COMMITTED,
# with a snapshot taken after the locks were granted: it sees every submission committed by the transaction
# that held the unit before us (the quota, race-free). The read brings the draft, its unit, its call (but its
# definition), its stored documents (one row each, or one row without) and the unit's applications counting
# for the quota. It is a Core read into named tuples with the entities' attribute names: loading the same rows
# as four ORM entities cost about 0.1 ms of Python per submission (in-process, 0.8 ms in all). The second round
# trip carries the draft's UPDATE, the outbox row and the COMMIT.
_SUBMIT_LOCK = (sa.select(_APPLICATION.c.id).join(_UNIT, _UNIT.c.id == _APPLICATION.c.unit_id)
                .where(_APPLICATION.c.id == sa.bindparam("application_id"))
                .with_for_update(of=[_APPLICATION, _UNIT]))
_Counted = _APPLICATION.alias("counted")
_SUBMIT_READ = (sa.select(*_APP_COLS, *_UNIT_COLS, *_CALL_COLS, *_DOC_COLS,
                          sa.select(sa.func.count()).select_from(_Counted).where(
                              _Counted.c.call_id == _APPLICATION.c.call_id,
                              _Counted.c.programme_code == _APPLICATION.c.programme_code,
                              _Counted.c.unit_id == _APPLICATION.c.unit_id,
                              _Counted.c.status.in_([sa.literal(status) for status in COUNTING]))  # not expanded
                          .correlate(_APPLICATION).scalar_subquery())
                .join_from(_APPLICATION, _UNIT, _UNIT.c.id == _APPLICATION.c.unit_id)
                .join(_CALL, _CALL.c.id == _APPLICATION.c.call_id)
                .outerjoin(_DOCUMENT, _stored(_APPLICATION.c.id, "application"))
                .where(_APPLICATION.c.id == sa.bindparam("application_id"))
                .order_by(_DOCUMENT.c.created_at))
# where each table's columns lie in a row of the read
_U0 = len(_APP_COLS)
_C0 = _U0 + len(_UNIT_COLS)
_D0 = _C0 + len(_CALL_COLS)
_N0 = _D0 + len(_DOC_COLS)
_SUBMITTED = (_APPLICATION.update().where(_APPLICATION.c.id == sa.bindparam("application_id"))
              .values(status=sa.bindparam("status"), submitted_at=sa.bindparam("now"),
                      updated_at=sa.bindparam("now"), report_due_on=sa.bindparam("report_due_on")))


def _stored_docs(session, app_id: str, purpose: str = "application") -> list[Document]:
    return session.scalars(_STORED_DOCS, {"application_id": app_id, "purpose": purpose}).all()


def submit_application(uow, actor: Actor, application_id: str, now: dt.datetime | None = None) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    now = _now(now)
    uow.execute_ahead(_SUBMIT_LOCK, {"application_id": application_id})
    rows = s.connection().execute(_SUBMIT_READ, {"application_id": application_id}).all()
    if not rows:
        raise NotFound("application_not_found", "申报材料不存在", {"id": application_id})
    first = rows[0]
    app, unit, call = _AppRow._make(first[:_U0]), _UnitRow._make(first[_U0:_C0]), _CallRow(*first[_C0:_D0], s)
    used = first[_N0]
    docs = [_DocRow._make(row[_D0:_N0]) for row in rows if row[_D0] is not None]
    actor.require_unit(app.unit_id)
    rules.check_deadline(call, now)   # late is forfeited: refused, nothing changes
    new_status = rules.transition(app.status, "submit", actor.role)
    prog = rules.programme(call, app.programme_code)
    rules.validate_form(prog, app.form, strict=True, definition=call)
    end = dreports.activity_end(prog, app.form)
    due = dreports.report_due_date(prog, end) if end else None
    rules.check_required_documents(prog, {d.kind for d in docs})
    rules.check_quota(prog, unit.kind, used)
    # the UPDATE travels with the outbox row
    uow.execute_ahead(_SUBMITTED, {"application_id": app.id, "status": new_status, "now": now,
                                   "report_due_on": due})
    app = app._replace(status=new_status, submitted_at=now, updated_at=now, report_due_on=due)
    uow.publish("application_submitted", application_payload(app, call, unit))
    return app_dict(app, docs)


def withdraw_application(uow, actor: Actor, application_id: str, reason: str, now: dt.datetime | None = None) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    now = _now(now)
    app = _load_app_for(s, actor, application_id, lock=True)
    was = app.status
    app.status = rules.transition(app.status, "withdraw", actor.role)
    app.ended_at, app.end_reason, app.updated_at = now, reason or None, now
    if was == "submitted":
        call, unit = s.get(Call, app.call_id), s.get(Unit, app.unit_id)
        payload = application_payload(app, call, unit)
        payload["reason"] = reason
        uow.publish("application_withdrawn", payload)
    return app_dict(app)


def receive_application(uow, actor: Actor, application_id: str, note: str, now: dt.datetime | None = None) -> dict:
    actor.require("intake_clerk", "admin")
    s = uow.session
    now = _now(now)
    app = _load_app_for(s, actor, application_id, lock=True)
    app.status = rules.transition(app.status, "receive", actor.role)
    app.received_at, app.updated_at = now, now
    call, unit = s.get(Call, app.call_id), s.get(Unit, app.unit_id)
    payload = application_payload(app, call, unit)
    payload["note"] = note
    uow.publish("application_received", payload)
    return app_dict(app)


def forfeit_late_drafts(uow, now: dt.datetime | None = None) -> list[str]:
    """Mark drafts of calls whose deadline has passed as forfeited (逾期不报视为放弃), one event each.

    Replicas may run this at the same moment: each application changes by a conditional UPDATE
    (``WHERE status = 'draft'``), and only the transaction whose UPDATE changed the row publishes.
    """
    s = uow.session
    now = _now(now)
    uow.actor = Actor.system()
    # the deadline is inclusive to the second (lifecycle.deadline_passed); the first late second starts after it
    late_calls = s.scalars(sa.select(Call).where(Call.status == "open", Call.deadline < now)).all()
    forfeited = []
    for call in late_calls:
        if not rules.deadline_passed(call, now):
            continue
        new_status = rules.transition("draft", "forfeit", "system")
        ids = s.scalars(sa.select(Application.id).where(Application.call_id == call.id,
                                                        Application.status == "draft")).all()
        for app_id in ids:
            changed = s.execute(sa.update(Application).where(Application.id == app_id, Application.status == "draft")
                                .values(status=new_status, ended_at=now, updated_at=now,
                                        end_reason="逾期未提交，视为放弃")
                                .execution_options(synchronize_session=False)).rowcount
            if changed != 1:
                continue  # another replica got there first
            app = s.get(Application, app_id, populate_existing=True)
            unit = s.get(Unit, app.unit_id)
            payload = application_payload(app, call, unit)
            payload["reason"] = "deadline_passed"
            uow.publish("application_forfeited", payload)
            forfeited.append(app_id)
    return forfeited


# officer views ----------------------------------------------------------------------------------------
def _usage_rows(call: Call, unit: Unit, counts: dict) -> list[dict]:
    dcall = rules.domain_call(call)
    rows = []
    for prog in dcall.programmes:
        if not prog.may_apply(unit.kind):
            continue
        rows.append(rules.quota_usage(prog, unit.kind, counts.get(prog.code, 0)))
    return rows


def _counts_by_unit(session, call_id: str, statuses) -> dict:
    out: dict = {}
    q = (sa.select(Application.unit_id, Application.programme_code, sa.func.count())
         .where(Application.call_id == call_id, Application.status.in_(tuple(statuses)))
         .group_by(Application.unit_id, Application.programme_code))
    for unit_id, code, n in session.execute(q):
        out.setdefault(unit_id, {})[code] = n
    return out


def quota_usage(session, actor: Actor, call_id: str, filters: dict) -> list[dict]:
    """Per unit and programme: quota, used (submitted or received) and remaining; a unit sees its own."""
    call = _get(session, Call, call_id, "call_not_found", "申报通知不存在")
    q = sa.select(Unit).order_by(Unit.league_city_code, Unit.name)
    if actor.role == "applicant_unit":
        q = q.where(Unit.id == actor.unit_id)
    else:
        actor.require(*STAFF)
    if filters.get("unit_id"):
        q = q.where(Unit.id == filters["unit_id"])
    if filters.get("league_city_code"):
        q = q.where(Unit.league_city_code == filters["league_city_code"])
    counts = _counts_by_unit(session, call.id, COUNTING)
    out = []
    for unit in session.scalars(q):
        rows = _usage_rows(call, unit, counts.get(unit.id, {}))
        if rows:
            out.append({"unit": unit_dict(unit), "programmes": rows})
    return out


def unit_standing(session, actor: Actor, call_id: str) -> list[dict]:
    """For deadline reminders: per unit, its drafts and its quota usage in this call (system or officers)."""
    actor.require(*OFFICERS)
    call = _get(session, Call, call_id, "call_not_found", "申报通知不存在")
    counts = _counts_by_unit(session, call.id, COUNTING)
    drafts = _counts_by_unit(session, call.id, ("draft",))
    out = []
    for unit in session.scalars(sa.select(Unit).order_by(Unit.league_city_code, Unit.name)):
        rows = _usage_rows(call, unit, counts.get(unit.id, {}))
        if not rows:
            continue
        limited = [r for r in rows if r["max"] is not None]
        out.append({"unit": unit_dict(unit), "drafts": sum(drafts.get(unit.id, {}).values()),
                    "drafts_by_programme": drafts.get(unit.id, {}),
                    "quota": sum(r["max"] for r in limited), "used": sum(min(r["used"], r["max"]) for r in limited),
                    "quota_left": sum(r["remaining"] for r in limited), "programmes": rows})
    return out


def export_call(session, actor: Actor, call_id: str, filters: dict) -> dict:
    """The 申报汇总表 of a call's submissions (submitted and received) as .xlsx, base64 for the RPC hop."""
    actor.require(*STAFF)
    from .domain import export as dexport
    call = _get(session, Call, call_id, "call_not_found", "申报通知不存在")
    dcall = rules.domain_call(call)
    statuses = str(filters.get("status") or ",".join(COUNTING))
    apps = list_applications(session, actor, {**filters, "call_id": call.id, "status": statuses, "limit": None})
    rows = [dexport.summary_row(dcall, dcall.programme(a["programme_code"]), a) for a in apps]
    data = dexport.build_summary_xlsx(rows, title=f"{call.year}年申报汇总表")
    return {"filename": f"{call.year}年申报汇总表.xlsx", "mimetype": XLSX_MIMETYPE, "rows": len(rows),
            "content_base64": base64.b64encode(data).decode("ascii")}


# documents --------------------------------------------------------------------------------------------
_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def _attachments_for(prog, purpose: str):
    if purpose == "report":
        if not prog.report.required:
            raise Conflict("report_not_required", f"{prog.name}无需报送活动总结")
        return prog.report.attachments
    return prog.attachments


def _check_may_upload(s, app: Application, call: Call, prog, purpose: str, now: dt.datetime) -> None:
    if purpose == "application":
        if app.status != "draft":
            raise Conflict("not_a_draft", "只有草稿状态的申报材料可以上传附件")
        rules.check_deadline(call, now)
    else:
        if app.status not in COUNTING:
            raise Conflict("not_submitted", "申报提交后才能报送活动总结材料")
        if s.scalar(sa.select(Report.id).where(Report.application_id == app.id)):
            raise Conflict("report_already_filed", "活动总结已报送，不能再上传材料")


def _slot_problems(s, app: Application, spec, purpose: str, replaces_id: str | None) -> list[dict]:
    """max_count per kind: a new version replaces one document; otherwise the kind must have room."""
    stored = [d for d in _stored_docs(s, app.id, purpose) if d.kind == spec.kind]
    if replaces_id:
        if not any(d.id == replaces_id for d in stored):
            return [{"path": "replaces", "code": "not_replaceable",
                     "message": f"要替换的「{spec.label}」不存在或已被替换"}]
        return []
    if spec.max_count > 1 and len(stored) >= spec.max_count:
        return [{"path": "kind", "code": "too_many_files",
                 "message": f"「{spec.label}」最多上传{spec.max_count}个文件，请先替换已有文件"}]
    return []


def request_upload(uow, store, actor: Actor, application_id: str, data: dict, now: dt.datetime | None = None) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    now = _now(now)
    app = _load_app_for(s, actor, application_id)
    call = s.get(Call, app.call_id)
    prog = rules.programme(call, app.programme_code)
    purpose = data.get("purpose") or "application"
    if purpose not in ("application", "report"):
        raise ValidationFailed("upload_invalid", "上传申请有误", [{"path": "purpose", "code": "invalid",
                                                             "message": "用途只能是 application 或 report"}])
    attachments = _attachments_for(prog, purpose)
    _check_may_upload(s, app, call, prog, purpose, now)
    spec = rules.attachment_spec(prog, data.get("kind"), attachments)
    problems = rules.check_upload_request(spec, data) + _slot_problems(s, app, spec, purpose, data.get("replaces"))
    if problems:
        raise ValidationFailed("upload_invalid", f"上传申请有误，请按提示修改：{problems[0]['message']}", problems)
    filename = _SAFE_NAME.sub("_", data["filename"])[-120:]
    doc = Document(application_id=app.id, purpose=purpose, kind=spec.kind, filename=filename,
                   declared_sha256=data["sha256"].lower(), declared_size=int(data["size"]),
                   replaces_id=data.get("replaces") or None, object_key="", uploaded_by=actor.id, created_at=now)
    s.add(doc)
    s.flush()
    doc.object_key = f"calls/{call.id}/applications/{app.id}/{purpose}/{doc.id}/{filename}"
    return {"document": doc_dict(doc), "upload_url": store.presigned_put(doc.object_key, 900),
            "method": "PUT", "expires_in": 900}


def confirm_document(uow, store, actor: Actor, document_id: str, now: dt.datetime | None = None) -> dict:
    """Verify the uploaded object; a rejected document is recorded with its problems, then refused."""
    s = uow.session
    now = _now(now)
    doc = _get(s, Document, document_id, "document_not_found", "附件不存在")
    app = _load_app_for(s, actor, doc.application_id, lock=True)
    actor.require("applicant_unit")
    if doc.status == "stored":
        return doc_dict(doc)
    if doc.status != "pending":
        raise Conflict("document_not_pending", "该附件已处理，请重新申请上传", {"status": doc.status})
    call = s.get(Call, app.call_id)
    prog = rules.programme(call, app.programme_code)
    _check_may_upload(s, app, call, prog, doc.purpose, now)
    spec = rules.attachment_spec(prog, doc.kind, _attachments_for(prog, doc.purpose))
    problems = _slot_problems(s, app, spec, doc.purpose, doc.replaces_id)
    if problems:
        doc.status, doc.problems = "rejected", problems
        return {"rejected": {"code": "document_rejected", "message": problems[0]["message"], "details": problems},
                "document": doc_dict(doc)}
    try:
        info = store.verify(doc.object_key, sha256=doc.declared_sha256, max_size=spec.max_bytes,
                            allowed=tuple(spec.types))
    except ValidationFailed as exc:
        doc.status, doc.problems = "rejected", exc.details
        return {"rejected": exc.to_dict(), "document": doc_dict(doc)}
    # A new version supersedes the one it replaces (or, for a one-file kind, the current one); earlier
    # versions stay in the store and stay downloadable by staff.
    for old in s.scalars(sa.select(Document).where(Document.application_id == app.id, Document.kind == doc.kind,
                                                   Document.purpose == doc.purpose, Document.status == "stored")):
        if old.id == doc.replaces_id or (doc.replaces_id is None and spec.max_count == 1):
            old.status = "superseded"
            doc.replaces_id = old.id
    doc.status, doc.version_id, doc.sha256 = "stored", info.version_id, info.sha256
    doc.size, doc.content_type, doc.stored_at = info.size, info.content_type, now
    s.flush()
    unit = s.get(Unit, app.unit_id)
    payload = application_payload(app, call, unit)
    payload["document"] = doc_dict(doc)
    uow.publish("document_stored", payload)
    return doc_dict(doc)


def document_download(session, store, actor: Actor, document_id: str) -> dict:
    """A presigned GET for someone allowed to see the application; superseded versions for staff only."""
    doc = _get(session, Document, document_id, "document_not_found", "附件不存在")
    _load_app_for(session, actor, doc.application_id)
    if doc.status == "superseded":
        actor.require(*STAFF)
    elif doc.status != "stored":
        raise Conflict("document_not_stored", "附件尚未通过检查，不能下载")
    return {"url": store.presigned_get(doc.object_key, 300, version_id=doc.version_id, filename=doc.filename),
            "expires_in": 300, "document": doc_dict(doc)}


# post-activity reports --------------------------------------------------------------------------------
def report_dict(r: Report) -> dict:
    return {"id": r.id, "application_id": r.application_id, "form": r.form, "document_ids": r.document_ids,
            "activity_end": iso(r.activity_end_on), "due_on": iso(r.due_on), "late": r.late,
            "filed_by": r.filed_by, "filed_at": iso(r.filed_at)}


def _report_state(prog, app: Application, report: Report | None, now: dt.datetime) -> dict:
    end = dreports.activity_end(prog, app.form)
    st = dreports.report_status(prog, end, filed_on=local_today(report.filed_at) if report else None,
                                today=local_today(now))
    if st.state != "not_required" and app.status not in COUNTING and report is None:
        return {"state": "not_required", "label": "无需报送", "due_on": None, "days_left": None, "late": False}
    return {"state": st.state, "label": st.label, "due_on": iso(st.due_on), "due_at": end_of_local_day(st.due_on),
            "days_left": st.days_left, "late": st.late}


def get_report(session, actor: Actor, application_id: str, now: dt.datetime | None = None) -> dict:
    app = _load_app_for(session, actor, application_id)
    call = session.get(Call, app.call_id)
    prog = rules.programme(call, app.programme_code)
    report = session.scalar(sa.select(Report).where(Report.application_id == app.id))
    docs = session.scalars(sa.select(Document).where(Document.application_id == app.id, Document.purpose == "report")
                           .order_by(Document.created_at)).all()
    return {"application_id": app.id, "required": prog.report.required, "name": prog.report.name,
            "status": _report_state(prog, app, report, _now(now)),
            "report": report_dict(report) if report else None, "documents": [doc_dict(d) for d in docs]}


def _photo_problems(form: dict, photos: dict) -> list[dict]:
    problems = []
    for i, item in enumerate(form.get("photos") or []):
        ref = item.get("document_id") if isinstance(item, dict) else None
        if ref and ref not in photos:
            problems.append({"path": f"photos[{i}].document_id", "code": "photo_not_uploaded",
                             "message": "照片须先作为本报告的「活动照片」上传并通过检查"})
    return problems


def file_report(uow, actor: Actor, application_id: str, data: dict, now: dt.datetime | None = None) -> dict:
    actor.require("applicant_unit")
    s = uow.session
    now = _now(now)
    app = _load_app_for(s, actor, application_id, lock=True)
    call = s.get(Call, app.call_id)
    prog = rules.programme(call, app.programme_code)
    if not prog.report.required:
        raise Conflict("report_not_required", f"{prog.name}无需报送活动总结")
    if app.status not in COUNTING:
        raise Conflict("not_submitted", "申报提交后才能报送活动总结")
    if s.scalar(sa.select(Report.id).where(Report.application_id == app.id)):
        raise Conflict("report_already_filed", "活动总结已报送")
    form = data.get("form") or {}
    docs = _stored_docs(s, app.id, "report")
    photos = {d.id: d for d in docs if d.kind == "activity_photo"}
    problems = []
    try:
        rules.validate_report(prog, form)
    except ValidationFailed as exc:
        problems += exc.details or []
    problems += _photo_problems(form, photos)
    try:
        rules.check_required_documents(prog, {d.kind for d in docs}, prog.report.attachments)
    except ValidationFailed as exc:
        problems += exc.details or []
    if problems:
        raise ValidationFailed("report_invalid", f"活动总结有{len(problems)}处需要修改，第一处：{problems[0]['message']}",
                               problems)
    end = dreports.activity_end(prog, app.form)
    due = dreports.report_due_date(prog, end) if end else None
    late = due is not None and local_today(now) > due
    report = Report(application_id=app.id, form=form, document_ids=[d.id for d in docs], activity_end_on=end,
                    due_on=due, late=late, filed_by=actor.id, filed_at=now)
    s.add(report)
    s.flush()
    unit = s.get(Unit, app.unit_id)
    payload = application_payload(app, call, unit)
    payload["report"] = {**report_dict(report), "name": prog.report.name,
                         "documents": [{"id": d.id, "kind": d.kind, "filename": d.filename} for d in docs]}
    payload.update({"report_id": report.id, "activity_end": iso(end), "due_on": iso(due),
                    "due_at": end_of_local_day(due), "filed_at": iso(now), "late": late})
    uow.publish("report_filed", payload)
    return report_dict(report)


def flag_overdue_reports(uow, now: dt.datetime | None = None) -> list[str]:
    """Emit report_overdue once per application whose report is past its due date and not filed.

    The conditional UPDATE (``report_overdue_at IS NULL``) lets only one replica, once, publish.
    """
    s = uow.session
    now = _now(now)
    uow.actor = Actor.system()
    today = local_today(now)
    filed = sa.select(Report.application_id)
    ids = s.scalars(sa.select(Application.id).where(
        Application.report_due_on.is_not(None), Application.report_due_on < today,
        Application.report_overdue_at.is_(None), Application.status.in_(COUNTING),
        Application.id.not_in(filed))).all()
    flagged = []
    for app_id in ids:
        changed = s.execute(sa.update(Application).where(Application.id == app_id,
                                                         Application.report_overdue_at.is_(None))
                            .values(report_overdue_at=now).execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            continue
        app = s.get(Application, app_id, populate_existing=True)
        call, unit = s.get(Call, app.call_id), s.get(Unit, app.unit_id)
        prog = rules.programme(call, app.programme_code)
        payload = application_payload(app, call, unit)
        payload.update({"due_on": iso(app.report_due_on), "due_at": end_of_local_day(app.report_due_on),
                        "activity_end": iso(dreports.activity_end(prog, app.form)),
                        "report_name": prog.report.name})
        uow.publish("report_overdue", payload)
        flagged.append(app_id)
    return flagged

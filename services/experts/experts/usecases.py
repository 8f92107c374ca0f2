"""Experts use cases: the registry, the key-contact pool, bulk import and export, service history, conflicts.

Each function takes the unit of work (or a read-only session), the acting user and plain data; it enforces
who may do what, applies the rules in ``experts.domain`` and writes events to the outbox. Demands, matching,
reviewer proposals and search are in ``experts.matchmaking``. No Nameko here.

A resident ID number leaves this module in full only in ``get_expert`` for an admin; everywhere else the
masked form (``150102********1234``) is shown.
"""
from __future__ import annotations

import base64
import binascii
from collections import Counter
from typing import Callable

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from grassroots.logging import get_logger

from .domain import pool, profile, roster
from .domain.identity import POOL_MINIMUM_TITLE, parse_title_level
from .idvault import IdVault
from .models import DeclaredConflict, Expert, KnownCall, Recommendation, ServiceEntry

log = get_logger("experts")

OFFICERS = ("programme_officer", "admin")
READERS = ("programme_officer", "admin", "auditor")
POOL_MEMBERS = (pool.PoolStatus.ADMITTED.value, pool.PoolStatus.RECOMMENDED_NATIONAL.value)
STATUS_LABELS = {"registered": "已登记", **{s.value: s.label for s in pool.PoolStatus}}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEY_EXPERT = "key_expert"
#: a call's definition as intake's get_call returns it, fetched when experts has not seen call_opened.
CallFetcher = Callable[[str], "dict | None"]


# helpers ----------------------------------------------------------------------------------------------
def iso(value) -> str | None:
    return value.isoformat() if value else None


def get_or_404(session, model, id_, code: str, message: str, lock: bool = False):
    if lock:
        obj = session.scalar(sa.select(model).where(model.id == id_).with_for_update())
    else:
        obj = session.get(model, id_)
    if obj is None:
        raise NotFound(code, message, {"id": id_})
    return obj


def recommendation_dict(r: Recommendation) -> dict:
    return {"id": r.id, "call_id": r.call_id, "unit_id": r.unit_id, "unit_name": r.unit_name,
            "league_city_code": r.league_city_code, "source": r.source, "application_id": r.application_id,
            "status": r.status, "created_at": iso(r.created_at)}


def expert_dict(e: Expert, recommendations: list[Recommendation] | None = None,
                id_number: str | None = None) -> dict:
    d = {"id": e.id, "user_id": e.user_id, "name": e.name, "gender": e.gender, "birth_year": e.birth_year,
         "ethnicity": e.ethnicity, "id_number_masked": e.id_masked, "unit_id": e.unit_id, "unit_name": e.unit_name,
         "league_city_code": e.league_city_code, "position": e.position, "title": e.title,
         "title_level": e.title_level, "specialty": e.specialty, "research_areas": e.research_areas,
         "tags": list(e.tags or []), "talent_programmes": e.talent_programmes, "major_projects": e.major_projects,
         "service_record": e.service_record, "healthy": e.healthy, "willing": e.willing, "mobile": e.mobile,
         "office_phone": e.office_phone, "email": e.email, "capacity": e.capacity,
         "review_capacity": e.review_capacity, "unavailable": list(e.unavailable or []),
         "pool_status": e.pool_status, "pool_status_label": STATUS_LABELS.get(e.pool_status, e.pool_status),
         "pool_exception_reason": e.pool_exception_reason, "pool_decided_at": iso(e.pool_decided_at),
         "created_at": iso(e.created_at), "updated_at": iso(e.updated_at)}
    if recommendations is not None:
        d["recommendations"] = [recommendation_dict(r) for r in recommendations]
    if id_number is not None:
        d["id_number"] = id_number
    return d


def expert_brief(e: Expert) -> dict:
    """The ``expert`` shape of events (EVENTS.md): who to tell and how to reach them."""
    return {"id": e.id, "name": e.name, "email": e.email or None, "mobile": e.mobile or None, "user_id": e.user_id}


def _recommendations(session, expert_ids: list[str]) -> dict[str, list[Recommendation]]:
    out: dict[str, list[Recommendation]] = {i: [] for i in expert_ids}
    if expert_ids:
        for r in session.scalars(sa.select(Recommendation).where(Recommendation.expert_id.in_(expert_ids))
                                 .order_by(Recommendation.created_at)):
            out[r.expert_id].append(r)
    return out


def _own_expert(session, actor: Actor) -> Expert | None:
    return session.scalar(sa.select(Expert).where(Expert.user_id == actor.id)) if actor.role == "expert" else None


def _may_read(session, actor: Actor, expert: Expert) -> None:
    if actor.role == "expert":
        if expert.user_id != actor.id:
            raise Forbidden("not_your_profile", "专家只能查看本人的信息")
        return
    actor.require(*READERS)


# calls (as intake announced them) ---------------------------------------------------------------------
def _contacts_from_definition(definition: dict, programme_code: str | None) -> list[dict]:
    out = []
    for c in definition.get("contacts") or []:
        progs = c.get("programmes")
        if programme_code and progs and programme_code not in progs:
            continue
        phones = list(c.get("phones") or ([c["phone"]] if c.get("phone") else []))
        out.append({"name": c.get("name"), "department": c.get("department"), "phone": phones[0] if phones else "",
                    "phones": phones, "email": c.get("email")})
    return out


def _quotas_from_programmes(programmes: list[dict]) -> dict | None:
    for p in programmes or []:
        if p.get("code") == KEY_EXPERT:
            return {kind: {"min": (q or {}).get("min"), "max": (q or {}).get("max")}
                    for kind, q in (p.get("quotas") or {}).items()}
    return None


def remember_call(session, call: dict, programmes: list[dict] | None = None) -> KnownCall:
    """Keep a call's summary (the latest one seen wins) and, when given, its key_expert quotas."""
    known = session.get(KnownCall, call["id"])
    if known is None:
        known = KnownCall(id=call["id"], year=int(call.get("year") or 0), summary=call)
        session.add(known)
    else:
        # a summary scoped to one programme (application events) keeps the contacts it names
        known.summary = {**known.summary, **{k: v for k, v in call.items() if v not in (None, [], "")}}
    if programmes is not None:
        known.key_expert_quotas = _quotas_from_programmes(programmes)
    known.updated_at = utcnow()
    session.flush()
    return known


def known_call(session, call_id: str, fetch: CallFetcher | None = None) -> KnownCall:
    """The call, from what intake announced, else asked from intake (``fetch``); NotFound if neither knows."""
    known = session.get(KnownCall, call_id)
    if known is not None and known.key_expert_quotas is not None:
        return known
    data = fetch(call_id) if fetch else None
    if not data:
        if known is not None:
            return known
        raise NotFound("call_not_found", "申报通知不存在或尚未发布", {"id": call_id})
    definition = data.get("definition") or {}
    summary = {"id": data["id"], "year": data.get("year"), "title": data.get("title"), "doc_no": data.get("doc_no"),
               "deadline": data.get("deadline"), "contacts": _contacts_from_definition(definition, KEY_EXPERT)}
    return remember_call(session, summary, definition.get("programmes") or [])


def on_call_opened(uow, payload: dict) -> None:
    remember_call(uow.session, payload["call"], payload.get("programmes") or [])


def _quota(known: KnownCall, unit_kind: str | None) -> pool.RecommendationQuota:
    quotas = known.key_expert_quotas or {}
    q = quotas.get(unit_kind or "league_city") or quotas.get("league_city") or {}
    return pool.RecommendationQuota(minimum=None, maximum=q.get("max"))


def _quota_scope(unit_id: str | None, league_city_code: str):
    """Count per recommending unit when it is known, else per league/city of the recommended experts."""
    if unit_id:
        return Recommendation.unit_id == unit_id, unit_id
    return sa.and_(Recommendation.unit_id.is_(None), Recommendation.league_city_code == league_city_code), \
        league_city_code


def _count_recommended(session, call_id: str, unit_id: str | None, league_city_code: str) -> int:
    scope, _ = _quota_scope(unit_id, league_city_code)
    return session.scalar(sa.select(sa.func.count()).select_from(Recommendation).where(
        Recommendation.call_id == call_id, Recommendation.status == "active", scope))


# experts ----------------------------------------------------------------------------------------------
def _check_unique_id(session, id_hash: str, other_than: str | None = None) -> None:
    q = sa.select(Expert.id).where(Expert.id_hash == id_hash)
    if other_than:
        q = q.where(Expert.id != other_than)
    existing = session.scalar(q)
    if existing:
        raise Conflict("expert_exists", "该身份证号码的专家已登记，请勿重复登记", {"expert_id": existing})


def _check_user_free(session, user_id: str, other_than: str | None = None) -> None:
    q = sa.select(Expert.id).where(Expert.user_id == user_id)
    if other_than:
        q = q.where(Expert.id != other_than)
    if session.scalar(q):
        raise Conflict("user_already_linked", "该登录账号已关联其他专家", {"user_id": user_id})


def _new_expert(session, vault: IdVault, clean: dict, created_by: str) -> Expert:
    sealed = vault.seal(clean.pop("id_number"))
    clean.pop("birth_year", None)
    e = Expert(id_hash=sealed.hash, id_encrypted=sealed.encrypted, id_masked=sealed.masked,
               birth_year=sealed.birth_year, created_by=created_by, **clean)
    session.add(e)
    return e


def _add_recommendation(session, actor_id: str, expert: Expert, call_id: str, data: dict, source: str,
                        check_quota: KnownCall | None = None, application_id: str | None = None) -> Recommendation:
    """Record who recommended the expert in the call; with ``check_quota`` the call's quota is enforced."""
    existing = session.scalar(sa.select(Recommendation).where(Recommendation.expert_id == expert.id,
                                                              Recommendation.call_id == call_id))
    if existing is not None:
        if existing.status == "active":
            raise Conflict("already_recommended", "该专家已在本年度通知中被推荐", {"expert_id": expert.id})
        session.delete(existing)
        session.flush()
    region_code = data.get("league_city_code") or expert.league_city_code
    if check_quota is not None:
        current = _count_recommended(session, call_id, data.get("unit_id"), region_code)
        _quota(check_quota, data.get("unit_kind")).check_can_add(region_code=region_code, current=current)
    rec = Recommendation(expert_id=expert.id, call_id=call_id, unit_id=data.get("unit_id") or None,
                         unit_name=(data.get("unit_name") or "")[:200], league_city_code=region_code, source=source,
                         application_id=application_id, opinion=(data.get("opinion") or "")[:500],
                         created_by=actor_id)
    session.add(rec)
    if expert.pool_status in ("registered", pool.PoolStatus.REJECTED.value):
        expert.pool_status = pool.PoolStatus.RECOMMENDED.value
    return rec


def register_expert(uow, vault: IdVault, actor: Actor, data: dict, fetch: CallFetcher | None = None) -> dict:
    """An officer registers an expert; with ``recommendation {call_id, unit_id?, unit_name?, unit_kind?}``
    the expert enters the pool as recommended (within the call's quota)."""
    actor.require(*OFFICERS)
    data = dict(data or {})
    recommendation = data.pop("recommendation", None)
    user_id = data.pop("user_id", None)
    clean = profile.clean_profile(data)
    s = uow.session
    _check_unique_id(s, vault.hash(clean["id_number"]))
    if user_id:
        _check_user_free(s, user_id)
    e = _new_expert(s, vault, clean, actor.id)
    e.user_id = user_id or None
    s.flush()
    recs = []
    if recommendation:
        known = known_call(s, recommendation.get("call_id") or "", fetch)
        recs.append(_add_recommendation(s, actor.id, e, known.id, recommendation, "officer", check_quota=known))
        s.flush()
    log.info("expert_registered", expert_id=e.id, id_number=e.id_masked)
    return expert_dict(e, recs)


def get_expert(session, vault: IdVault, actor: Actor, expert_id: str) -> dict:
    e = get_or_404(session, Expert, expert_id, "expert_not_found", "专家不存在")
    _may_read(session, actor, e)
    # the full number is for the administrator alone (e.g. to correct a record with the person's card)
    number = vault.reveal(e.id_encrypted) if actor.role == "admin" else None
    return expert_dict(e, _recommendations(session, [e.id])[e.id], id_number=number)


def my_profile(session, actor: Actor) -> dict:
    actor.require("expert")
    e = _own_expert(session, actor)
    if e is None:
        raise NotFound("no_expert_profile", "当前账号未关联专家信息，请联系业务处室关联")
    return expert_dict(e, _recommendations(session, [e.id])[e.id])


def update_expert(uow, vault: IdVault, actor: Actor, expert_id: str, patch: dict) -> dict:
    """Officers correct any field (and link the login account ``user_id``); an expert edits a few of their own."""
    s = uow.session
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在", lock=True)
    patch = dict(patch or {})
    if actor.role == "expert":
        if e.user_id != actor.id:
            raise Forbidden("not_your_profile", "专家只能修改本人的信息")
        profile.check_self_edit(patch)
    else:
        actor.require(*OFFICERS)
    if "user_id" in patch:
        user_id = patch.pop("user_id") or None
        if user_id:
            _check_user_free(s, user_id, other_than=e.id)
        e.user_id = user_id
    clean = profile.clean_profile(patch, partial=True)
    if "id_number" in clean:
        sealed = vault.seal(clean.pop("id_number"))
        _check_unique_id(s, sealed.hash, other_than=e.id)
        e.id_hash, e.id_encrypted, e.id_masked, e.birth_year = sealed.hash, sealed.encrypted, sealed.masked, \
            sealed.birth_year
        clean.pop("birth_year", None)
    for key, value in clean.items():
        setattr(e, key, value)
    e.updated_at = utcnow()
    s.flush()
    return expert_dict(e, _recommendations(s, [e.id])[e.id])


def list_experts(session, actor: Actor, filters: dict) -> dict:
    """A page of experts (masked IDs) by pool status, league/city, unit; officers and auditors."""
    actor.require(*READERS)
    q = sa.select(Expert)
    for key in ("pool_status", "league_city_code", "unit_id", "title_level"):
        if filters.get(key):
            values = str(filters[key]).split(",")
            q = q.where(getattr(Expert, key).in_(values))
    if filters.get("name"):
        q = q.where(Expert.name.contains(str(filters["name"])))
    limit, offset = page_args(filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Expert.league_city_code, Expert.name, Expert.id).limit(limit).offset(offset)).all()
    recs = _recommendations(session, [e.id for e in rows])
    return {"items": [expert_dict(e, recs[e.id]) for e in rows], "total": total, "limit": limit, "offset": offset}


def page_args(filters: dict, default: int = 50, hi: int = 500) -> tuple[int, int]:
    def num(v, d, lo, top):
        try:
            return max(lo, min(top, int(v)))
        except (TypeError, ValueError):
            return d
    return num(filters.get("limit"), default, 1, hi), num(filters.get("offset"), 0, 0, 10**9)


# the key-contact pool ---------------------------------------------------------------------------------
def recommend_expert(uow, actor: Actor, expert_id: str, data: dict, fetch: CallFetcher | None = None) -> dict:
    """An officer records a unit's recommendation of a registered expert in a call (within its quota)."""
    actor.require(*OFFICERS)
    s = uow.session
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在", lock=True)
    known = known_call(s, (data or {}).get("call_id") or "", fetch)
    _add_recommendation(s, actor.id, e, known.id, data or {}, "officer", check_quota=known)
    s.flush()
    return expert_dict(e, _recommendations(s, [e.id])[e.id])


def _admission_call(session, e: Expert) -> dict | None:
    rec = session.scalar(sa.select(Recommendation).where(Recommendation.expert_id == e.id,
                                                         Recommendation.status == "active")
                         .order_by(Recommendation.created_at.desc()))
    known = session.get(KnownCall, rec.call_id) if rec else None
    return known.summary if known else None


def _publish_admitted(uow, e: Expert, extra: dict | None = None) -> None:
    call = _admission_call(uow.session, e)
    payload = {"expert": expert_brief(e), "recipients": {"unit_contacts": [], "user_ids": []},
               "pool_status": e.pool_status, **(extra or {})}
    if call is not None:
        payload["call"] = call
    uow.publish("expert_admitted_to_pool", payload)


def admit_expert(uow, actor: Actor, expert_id: str, exception_reason: str | None = None) -> dict:
    """recommended -> admitted: 副高级 or above, or an officer's recorded exception reason."""
    s = uow.session
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在", lock=True)
    if e.pool_status == "registered":
        _not_recommended(actor)
    target, why = pool.admit(e.pool_status, role=actor.role, title_level=e.title_level,
                             exception_reason=exception_reason)
    _set_pool(e, target.value, actor.id, why.exception_reason)
    s.flush()
    _publish_admitted(uow, e)
    return expert_dict(e, _recommendations(s, [e.id])[e.id])


def _not_recommended(actor: Actor):
    pool.transition(pool.PoolStatus.RECOMMENDED, pool.PoolAction.ADMIT, role=actor.role)  # role check first
    raise Conflict("not_recommended", "该专家尚未被推荐，不能入库；请先登记推荐单位和年度通知")


def _set_pool(e: Expert, status: str, by: str, exception_reason: str | None = None, note: str | None = None):
    e.pool_status, e.pool_decided_by, e.pool_decided_at = status, by, utcnow()
    if exception_reason is not None:
        e.pool_exception_reason = exception_reason
    if note is not None:
        e.pool_note = note
    e.updated_at = utcnow()


def recommend_national(uow, actor: Actor, expert_id: str) -> dict:
    s = uow.session
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在", lock=True)
    target = pool.transition(_pool_state(e), pool.PoolAction.RECOMMEND_NATIONAL, role=actor.role)
    _set_pool(e, target.value, actor.id)
    s.flush()
    return expert_dict(e, _recommendations(s, [e.id])[e.id])


def reject_expert(uow, actor: Actor, expert_id: str, reason: str) -> dict:
    s = uow.session
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在", lock=True)
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", "请填写不予入库的理由",
                               [{"path": "reason", "code": "required", "message": "请填写不予入库的理由"}])
    target = pool.transition(_pool_state(e), pool.PoolAction.REJECT, role=actor.role)
    _set_pool(e, target.value, actor.id, note=reason.strip())
    s.flush()
    return expert_dict(e, _recommendations(s, [e.id])[e.id])


def _pool_state(e: Expert) -> str:
    if e.pool_status == "registered":
        raise Conflict("not_recommended", "该专家尚未被推荐，不在重点联系专家库流程中")
    return e.pool_status


# recommendations arriving from intake and review ------------------------------------------------------
def _form_profile(form: dict) -> dict:
    """The profile fields of a key_expert recommendation form (2025 表4)."""
    keys = {"name": "name", "gender": "gender", "birth_year": "birth_year", "ethnicity": "ethnicity",
            "id_number": "id_number", "region": "league_city_code", "unit": "unit_name", "position": "position",
            "title": "title", "title_level": "title_level", "specialty": "specialty",
            "research_areas": "research_areas", "talent_programmes": "talent_programmes",
            "major_projects": "major_projects", "service_record": "service_record", "healthy": "healthy",
            "willing": "willing", "mobile": "mobile", "office_phone": "office_phone", "email": "email"}
    return {field: form[key] for key, field in keys.items() if form.get(key) not in (None, "")}


def upsert_recommended(uow, vault: IdVault, payload: dict) -> Expert | None:
    """A key_expert application (submitted, or selected in review) becomes a recommended expert, once.

    A known person (same ID number) is refreshed from the newer form; one not yet registered is created.
    Intake enforced the unit's quota at submission, so it is not re-checked here. A form that does not
    make a valid profile is logged and skipped: retrying would not fix it.
    """
    s = uow.session
    app, call = payload["application"], payload["call"]
    remember_call(s, call)
    existing_rec = s.scalar(sa.select(Recommendation).where(Recommendation.application_id == app["id"]))
    if existing_rec is not None:
        return s.get(Expert, existing_rec.expert_id)
    try:
        clean = profile.clean_profile(_form_profile(app.get("form") or {}))
    except ValidationFailed as exc:
        log.warning("recommendation_form_unusable", application_id=app["id"],
                    problems=[p.get("path") for p in exc.details or []])
        return None
    sealed_hash = vault.hash(clean["id_number"])
    e = s.scalar(sa.select(Expert).where(Expert.id_hash == sealed_hash).with_for_update())
    if e is None:
        e = _new_expert(s, vault, clean, "system")
    else:
        clean.pop("id_number")
        clean.pop("birth_year", None)
        for key, value in clean.items():
            setattr(e, key, value)
        e.updated_at = utcnow()
    s.flush()
    prior = s.scalar(sa.select(Recommendation).where(Recommendation.expert_id == e.id,
                                                     Recommendation.call_id == call["id"]))
    if prior is not None:  # recommended in this call before by another route (import): this application is it
        prior.application_id, prior.status = app["id"], "active"
        prior.unit_id, prior.unit_name = app.get("unit_id"), app.get("unit_name") or prior.unit_name
        if e.pool_status in ("registered", pool.PoolStatus.REJECTED.value):
            e.pool_status = pool.PoolStatus.RECOMMENDED.value
    else:
        _add_recommendation(s, "system", e, call["id"],
                            {"unit_id": app.get("unit_id"), "unit_name": app.get("unit_name"),
                             "league_city_code": app.get("league_city_code") or e.league_city_code,
                             "opinion": (app.get("form") or {}).get("unit_opinion")},
                            "application", application_id=app["id"])
    s.flush()
    return e


def on_application_withdrawn(uow, payload: dict) -> None:
    """A withdrawn key_expert application no longer counts as a recommendation."""
    rec = uow.session.scalar(sa.select(Recommendation).where(
        Recommendation.application_id == payload["application"]["id"]))
    if rec is not None:
        rec.status = "withdrawn"
        e = uow.session.get(Expert, rec.expert_id)
        others = uow.session.scalar(sa.select(sa.func.count()).select_from(Recommendation).where(
            Recommendation.expert_id == e.id, Recommendation.status == "active"))
        if e.pool_status == pool.PoolStatus.RECOMMENDED.value and not others:
            e.pool_status = "registered"


def on_review_selection(uow, vault: IdVault, payload: dict, event_type: str) -> None:
    """Review selected a key_expert application: ``regional_pool`` admits, ``ministry_pool`` recommends to
    the national pool (admitting first if needed). Idempotent: an expert already there stays as is."""
    app = payload.get("application") or {}
    if app.get("programme_code") != KEY_EXPERT:
        return
    key = (payload.get("selection") or {}).get("key") or (
        "ministry_pool" if event_type == "application_recommended_to_ministry" else "regional_pool")
    if key not in ("regional_pool", "ministry_pool"):
        log.info("selection_ignored", application_id=app.get("id"), selection=key)
        return
    e = upsert_recommended(uow, vault, payload)
    if e is None:
        return
    e = uow.session.get(Expert, e.id, with_for_update=True, populate_existing=True)
    label = (payload.get("selection") or {}).get("label") or key
    by = (uow.actor.id if uow.actor else "system")
    if e.pool_status in (pool.PoolStatus.RECOMMENDED.value, pool.PoolStatus.REJECTED.value, "registered"):
        level = parse_title_level(e.title_level)
        # The selection is the officers' recorded decision: below the title bar it stands as the exception.
        reason = None if level >= POOL_MINIMUM_TITLE else f"经评审遴选纳入（{label}）"
        pool.eligible_for_pool(level, reason)
        _set_pool(e, pool.PoolStatus.ADMITTED.value, by, reason)
        uow.session.flush()
        _publish_admitted(uow, e, {"selection": {"key": key, "label": label}})
    if key == "ministry_pool" and e.pool_status == pool.PoolStatus.ADMITTED.value:
        _set_pool(e, pool.PoolStatus.RECOMMENDED_NATIONAL.value, by)
    uow.session.flush()


# bulk import and export -------------------------------------------------------------------------------
def _decode(content_base64: str) -> bytes:
    try:
        return base64.b64decode(content_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("import_not_base64", "导入文件内容不是有效的 base64 编码") from None


def import_experts(uow, vault: IdVault, actor: Actor, data: dict, fetch: CallFetcher | None = None) -> dict:
    """Import recommended experts from an .xlsx 专家推荐表 into a call: all rows or none.

    Every problem of every row is reported at once ``{row, column, code, message}``; if there is any,
    ValidationFailed ``import_invalid`` and nothing is written. A person already registered (same ID
    number) gets the recommendation added; one already recommended in the call is an error.
    """
    actor.require(*OFFICERS)
    s = uow.session
    known = known_call(s, data.get("call_id") or "", fetch)
    rows, problems = roster.read_import(_decode(data.get("content_base64")))
    unit_id, unit_kind = data.get("unit_id") or None, data.get("unit_kind") or None
    quota = _quota(known, unit_kind)
    seen: dict[str, int] = {}
    planned: list[tuple[int, dict, str, Expert | None]] = []
    adding: Counter = Counter()
    for excel_row, clean in rows:
        id_hash = vault.hash(clean["id_number"])
        if id_hash in seen:
            problems.append({"row": excel_row, "column": "身份证号码", "code": "duplicate_in_file",
                             "message": f"与第{seen[id_hash]}行的身份证号码重复"})
            continue
        seen[id_hash] = excel_row
        existing = s.scalar(sa.select(Expert).where(Expert.id_hash == id_hash))
        if existing is not None and s.scalar(sa.select(Recommendation.id).where(
                Recommendation.expert_id == existing.id, Recommendation.call_id == known.id,
                Recommendation.status == "active")):
            problems.append({"row": excel_row, "column": "身份证号码", "code": "already_recommended",
                             "message": "该专家已在本年度通知中被推荐"})
            continue
        scope_key = unit_id or clean["league_city_code"]
        current = _count_recommended(s, known.id, unit_id, clean["league_city_code"]) + adding[scope_key]
        if quota.maximum is not None and current + 1 > quota.maximum:
            problems.append({"row": excel_row, "column": "所在盟市" if not unit_id else "",
                             "code": "recommendation_quota_exceeded",
                             "message": f"超出推荐名额：每个盟市（单位）最多推荐{quota.maximum}名，已有{current}名"})
            continue
        adding[scope_key] += 1
        planned.append((excel_row, clean, id_hash, existing))
    if problems:
        problems.sort(key=lambda p: (p["row"], p["column"]))
        raise ValidationFailed("import_invalid",
                               f"导入文件有{len(problems)}处问题，未导入任何专家；第{problems[0]['row']}行："
                               f"{problems[0]['message']}", problems)
    created, attached = [], []
    for excel_row, clean, id_hash, existing in planned:
        e = existing
        if e is None:
            e = _new_expert(s, vault, clean, actor.id)
            created.append(e)
        else:
            attached.append(e)
        s.flush()
        _add_recommendation(s, actor.id, e, known.id,
                            {"unit_id": unit_id, "unit_name": data.get("unit_name"),
                             "league_city_code": clean["league_city_code"] if not unit_id else e.league_city_code},
                            "import")
    s.flush()
    log.info("experts_imported", call_id=known.id, created=len(created), attached=len(attached))
    return {"imported": len(planned), "created": len(created), "existing": len(attached),
            "experts": [expert_brief(e) | {"id_number_masked": e.id_masked} for e in created + attached]}


def import_template() -> dict:
    return {"filename": "专家推荐表（导入模板）.xlsx", "mimetype": XLSX_MIMETYPE,
            "content_base64": base64.b64encode(roster.template_xlsx()).decode("ascii"), "rows": 0}


def export_pool(session, actor: Actor, filters: dict) -> dict:
    """The pool (admitted and recommended to the national pool, or ``pool_status``) as .xlsx, masked IDs."""
    actor.require(*READERS)
    statuses = str(filters.get("pool_status") or ",".join(POOL_MEMBERS)).split(",")
    q = sa.select(Expert).where(Expert.pool_status.in_(statuses))
    if filters.get("league_city_code"):
        q = q.where(Expert.league_city_code == filters["league_city_code"])
    experts = session.scalars(q.order_by(Expert.league_city_code, Expert.name, Expert.id)).all()
    recs = _recommendations(session, [e.id for e in experts])
    rows = [expert_dict(e, [r for r in recs[e.id] if r.status == "active"]) for e in experts]
    data = roster.build_pool_xlsx(rows)
    return {"filename": "专家服务基层重点联系专家库.xlsx", "mimetype": XLSX_MIMETYPE, "rows": len(rows),
            "content_base64": base64.b64encode(data).decode("ascii")}


# service history --------------------------------------------------------------------------------------
def entry_dict(x: ServiceEntry) -> dict:
    return {"id": x.id, "expert_id": x.expert_id, "demand_id": x.demand_id, "application_id": x.application_id,
            "assignment_id": x.assignment_id, "project": x.project, "role": x.role, "place": x.place,
            "start": iso(x.start_on), "end": iso(x.end_on), "feedback": x.feedback, "rating": x.rating,
            "source": x.source, "created_at": iso(x.created_at), "feedback_at": iso(x.feedback_at)}


def service_history(session, actor: Actor, expert_id: str) -> list[dict]:
    e = get_or_404(session, Expert, expert_id, "expert_not_found", "专家不存在")
    _may_read(session, actor, e)
    q = sa.select(ServiceEntry).where(ServiceEntry.expert_id == e.id).order_by(ServiceEntry.start_on.desc(),
                                                                             ServiceEntry.created_at.desc())
    return [entry_dict(x) for x in session.scalars(q)]


def _clean_entry(data: dict, partial: bool) -> dict:
    problems, out = [], {}
    if not partial and not (data.get("project") or "").strip():
        problems.append({"path": "project", "code": "required", "message": "请填写服务项目或需求名称"})
    for key, limit in (("project", 200), ("role", 60), ("place", 200), ("feedback", 2000)):
        if key in data and data[key] is not None:
            text = str(data[key]).strip()
            if len(text) > limit:
                problems.append({"path": key, "code": "too_long", "message": f"不超过{limit}字"})
            out[key] = text
    for key in ("start", "end"):
        if data.get(key):
            day = profile.parse_day(data[key])
            if day is None:
                problems.append({"path": key, "code": "invalid_date", "message": "日期格式应为 2025-06-01"})
            out[key] = day
    if out.get("start") and out.get("end") and out["end"] < out["start"]:
        problems.append({"path": "end", "code": "end_before_start", "message": "结束日期早于开始日期"})
    if data.get("rating") is not None:
        if not isinstance(data["rating"], int) or not 1 <= data["rating"] <= 5:
            problems.append({"path": "rating", "code": "out_of_range", "message": "评价等级应为1到5"})
        out["rating"] = data["rating"]
    if problems:
        raise ValidationFailed("history_invalid", f"服务记录有误：{problems[0]['message']}", problems)
    return out


def add_history(uow, actor: Actor, expert_id: str, data: dict) -> dict:
    """An officer records a service by hand (a project outside matching, or one before the system)."""
    actor.require(*OFFICERS)
    e = get_or_404(uow.session, Expert, expert_id, "expert_not_found", "专家不存在")
    clean = _clean_entry(data or {}, partial=False)
    x = ServiceEntry(expert_id=e.id, project=clean["project"], role=clean.get("role") or "服务专家",
                     place=clean.get("place", ""), start_on=clean.get("start"), end_on=clean.get("end"),
                     feedback=clean.get("feedback", ""), rating=clean.get("rating"), source="officer",
                     demand_id=(data or {}).get("demand_id"), application_id=(data or {}).get("application_id"),
                     created_by=actor.id)
    if x.feedback:
        x.feedback_by, x.feedback_at = actor.id, utcnow()
    uow.session.add(x)
    uow.session.flush()
    return entry_dict(x)


def record_feedback(uow, actor: Actor, entry_id: str, data: dict) -> dict:
    actor.require(*OFFICERS)
    x = get_or_404(uow.session, ServiceEntry, entry_id, "history_not_found", "服务记录不存在", lock=True)
    clean = _clean_entry({k: (data or {}).get(k) for k in ("feedback", "rating") if k in (data or {})}, partial=True)
    if not clean.get("feedback"):
        raise ValidationFailed("feedback_required", "请填写服务评价",
                               [{"path": "feedback", "code": "required", "message": "请填写服务评价"}])
    x.feedback, x.rating = clean["feedback"], clean.get("rating", x.rating)
    x.feedback_by, x.feedback_at = actor.id, utcnow()
    return entry_dict(x)


# declared conflicts -----------------------------------------------------------------------------------
def conflict_dict(c: DeclaredConflict) -> dict:
    return {"id": c.id, "expert_id": c.expert_id, "unit_id": c.unit_id, "subject_id": c.subject_id,
            "reason": c.reason, "declared_by": c.declared_by, "created_at": iso(c.created_at)}


def declare_conflict(uow, actor: Actor, expert_id: str, unit_id: str | None, reason: str,
                     subject_id: str | None = None) -> dict:
    """The expert never serves or reviews ``unit_id`` (or the one demand/application ``subject_id``).

    Officers and the system (review, when a reviewer declares a conflict) record them; an expert may
    declare their own. Declaring the same conflict twice returns the first.
    """
    s = uow.session
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在")
    if actor.role == "expert":
        if e.user_id != actor.id:
            raise Forbidden("not_your_profile", "专家只能申报本人的回避事项")
    else:
        actor.require(*OFFICERS)
    problems = []
    if not unit_id and not subject_id:
        problems.append({"path": "unit_id", "code": "required", "message": "请指明需回避的单位或具体需求（申报）"})
    if not (reason or "").strip():
        problems.append({"path": "reason", "code": "required", "message": "请填写回避理由"})
    if problems:
        raise ValidationFailed("conflict_invalid", problems[0]["message"], problems)
    existing = s.scalar(sa.select(DeclaredConflict).where(
        DeclaredConflict.expert_id == e.id, DeclaredConflict.unit_id.is_(None) if not unit_id
        else DeclaredConflict.unit_id == unit_id,
        DeclaredConflict.subject_id.is_(None) if not subject_id else DeclaredConflict.subject_id == subject_id))
    if existing is not None:
        return conflict_dict(existing)
    c = DeclaredConflict(expert_id=e.id, unit_id=unit_id or None, subject_id=subject_id or None,
                         reason=reason.strip()[:500], declared_by=actor.id)
    s.add(c)
    s.flush()
    return conflict_dict(c)


def list_conflicts(session, actor: Actor, expert_id: str) -> list[dict]:
    e = get_or_404(session, Expert, expert_id, "expert_not_found", "专家不存在")
    _may_read(session, actor, e)
    return [conflict_dict(c) for c in session.scalars(sa.select(DeclaredConflict).where(
        DeclaredConflict.expert_id == e.id).order_by(DeclaredConflict.created_at))]


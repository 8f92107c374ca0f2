"""Demands, matching proposals, reviewer proposals for review, and expert search (use cases, no Nameko).

Matching reads the state of the registry into the domain's dataclasses and lets ``domain.matching`` find
the optimal plan; what it stores is a proposal whose items an officer confirms, rejects or swaps.
Everything the matcher treats as a hard rule is checked again when an item is confirmed or swapped in,
under a lock on the expert's row, because other proposals may have been confirmed in the meantime:

- the expert is in the pool (admitted or recommended to the national pool) and willing to serve;
- never their own unit (by unit id, or by name against the demand's grassroots unit), no declared
  conflict with the demand's unit or the demand itself;
- load: confirmed, unfinished matches below the expert's ``capacity``;
- availability: the demand's dates overlap neither the expert's unavailable windows nor the dates of
  the expert's confirmed matches in other activities (the demands of one postdoc hosting application
  are one on-site activity: an expert there serves several of them on the same days).

One run proposes each expert at most ``capacity - load`` demands but does not know that two demands of
different activities on overlapping dates exclude each other (that would no longer be a bipartite
matching); confirming the second of such a pair is refused with ``expert_unavailable`` and the officer
swaps it.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import replace

import numpy as np
import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from grassroots.logging import get_logger
from grassroots.regions import REGIONS, region_relation

from .domain import demands as ddemands
from .domain import fit as dfit
from .domain import matching as dmatching
from .domain import reviewers as dreviewers
from .domain.identity import parse_title_level
from .domain.profile import parse_day
from .domain.text import SpecialtyIndex, tag_terms, tokenize
from .models import Assignment, DeclaredConflict, Demand, Expert, KnownCall, Proposal, ServiceEntry
from .usecases import (OFFICERS, POOL_MEMBERS, READERS, expert_brief, expert_dict, get_or_404, iso, page_args,
                       remember_call)

log = get_logger("experts")

UNIT = "applicant_unit"
POSTDOC = "postdoc_hosting"
LIVE = ("proposed", "confirmed")


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _today(now: dt.datetime | None) -> dt.date:
    from zoneinfo import ZoneInfo
    return (now or utcnow()).astimezone(ZoneInfo("Asia/Shanghai")).date()


# demands ----------------------------------------------------------------------------------------------
def demand_dict(d: Demand, filled: int | None = None) -> dict:
    out = {"id": d.id, "call_id": d.call_id, "source_application_id": d.source_application_id,
           "unit_id": d.unit_id, "unit_name": d.unit_name, "demand_unit": d.demand_unit,
           "league_city_code": d.league_city_code, "place": d.place, "field": d.field, "title": d.title,
           "description": d.description, "tags": list(d.tags or []), "experts_wanted": d.experts_wanted,
           "start": iso(d.start_on), "end": iso(d.end_on), "status": d.status, "cancel_reason": d.cancel_reason,
           "created_at": iso(d.created_at)}
    if filled is not None:
        out["experts_confirmed"] = filled
    return out


def _confirmed_counts(session, demand_ids) -> dict[str, int]:
    if not demand_ids:
        return {}
    rows = session.execute(sa.select(Assignment.demand_id, sa.func.count()).where(
        Assignment.demand_id.in_(list(demand_ids)), Assignment.status == "confirmed").group_by(Assignment.demand_id))
    return {k: n for k, n in rows}


def _latest_call(session) -> KnownCall | None:
    return session.scalar(sa.select(KnownCall).order_by(KnownCall.year.desc(), KnownCall.updated_at.desc()))


def post_demand(uow, actor: Actor, data: dict) -> dict:
    """A unit posts a demand for itself; an officer for any unit (or for none)."""
    actor.require(UNIT, *OFFICERS)
    clean = ddemands.clean_demand(data or {})
    s = uow.session
    if actor.role == UNIT:
        if not actor.unit_id:
            raise Forbidden("no_unit", "当前账号未关联申报单位，请联系管理员")
        if clean.get("unit_id") and clean["unit_id"] != actor.unit_id:
            raise Forbidden("not_your_unit", "只能为本单位发布需求")
        clean["unit_id"] = actor.unit_id
    known = s.get(KnownCall, clean["call_id"]) if clean.get("call_id") else _latest_call(s)
    if known is None:
        # a match is announced with the call's contacts; without a call nobody could be told whom to ask
        raise Conflict("no_call", "尚无已发布的年度通知，暂不能发布需求" if not clean.get("call_id")
                       else "指定的年度通知不存在或尚未发布", {"call_id": clean.get("call_id")})
    place = clean.get("place") or REGIONS[clean["league_city_code"]].name
    d = Demand(call_id=known.id, unit_id=clean.get("unit_id"), unit_name="", demand_unit=clean.get("demand_unit", ""),
               league_city_code=clean["league_city_code"], place=place, field=clean.get("field", ""),
               title=clean["title"], description=clean["description"], tags=clean.get("tags", []),
               experts_wanted=clean.get("experts_wanted", 1), start_on=clean["start"], end_on=clean["end"],
               contacts={"unit_contacts": [], "user_ids": [actor.id] if actor.role == UNIT else []},
               created_by=actor.id)
    s.add(d)
    s.flush()
    return demand_dict(d, 0)


def _load_demand_for(session, actor: Actor, demand_id: str, lock: bool = False) -> Demand:
    d = get_or_404(session, Demand, demand_id, "demand_not_found", "需求不存在", lock=lock)
    if actor.role == UNIT:
        actor.require_unit(d.unit_id)
    else:
        actor.require(*READERS)
    return d


def get_demand(session, actor: Actor, demand_id: str) -> dict:
    d = _load_demand_for(session, actor, demand_id)
    return demand_dict(d, _confirmed_counts(session, [d.id]).get(d.id, 0))


def list_demands(session, actor: Actor, filters: dict) -> dict:
    q = sa.select(Demand)
    if actor.role == UNIT:
        q = q.where(Demand.unit_id == actor.unit_id)
    else:
        actor.require(*READERS)
    for key in ("status", "league_city_code", "source_application_id", "unit_id", "call_id"):
        if filters.get(key):
            q = q.where(getattr(Demand, key).in_(str(filters[key]).split(",")))
    limit, offset = page_args(filters, default=100)
    total = session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Demand.created_at, Demand.source_item, Demand.id).limit(limit).offset(offset)).all()
    counts = _confirmed_counts(session, [d.id for d in rows])
    return {"items": [demand_dict(d, counts.get(d.id, 0)) for d in rows], "total": total, "limit": limit,
            "offset": offset}


def update_demand(uow, actor: Actor, demand_id: str, patch: dict) -> dict:
    d = _load_demand_for(uow.session, actor, demand_id, lock=True)
    if actor.role not in (UNIT, *OFFICERS):
        actor.require(UNIT, *OFFICERS)
    if d.status != "open":
        raise Conflict("demand_not_open", "需求已取消，不能修改")
    clean = ddemands.clean_demand({k: v for k, v in (patch or {}).items() if k not in ("unit_id", "call_id")},
                                  partial=True)
    start, end = clean.get("start", d.start_on), clean.get("end", d.end_on)
    if end < start:
        raise ValidationFailed("demand_invalid", "结束日期早于开始日期",
                               [{"path": "end", "code": "end_before_start", "message": "结束日期早于开始日期"}])
    confirmed = _confirmed_counts(uow.session, [d.id]).get(d.id, 0)
    if "experts_wanted" in clean and clean["experts_wanted"] < confirmed:
        raise Conflict("fewer_than_confirmed", f"已确认{confirmed}名专家，所需人数不能少于已确认人数")
    if confirmed and ("start" in clean or "end" in clean):
        raise Conflict("dates_locked", "已有确认的专家，不能修改服务日期；请先取消匹配")
    mapping = {"start": "start_on", "end": "end_on"}
    for key, value in clean.items():
        setattr(d, mapping.get(key, key), value)
    return demand_dict(d, confirmed)


def _cancel(session, d: Demand, reason: str) -> None:
    d.status, d.cancel_reason = "cancelled", reason
    for a in session.scalars(sa.select(Assignment).where(Assignment.demand_id == d.id,
                                                         Assignment.status.in_(LIVE))):
        was = a.status
        a.status, a.decided_at, a.note = "cancelled", utcnow(), reason
        if was == "confirmed":  # the service will not happen: it leaves the expert's history
            session.execute(sa.delete(ServiceEntry).where(ServiceEntry.assignment_id == a.id))


def cancel_demand(uow, actor: Actor, demand_id: str, reason: str) -> dict:
    d = _load_demand_for(uow.session, actor, demand_id, lock=True)
    actor.require(UNIT, *OFFICERS)
    if d.status != "open":
        raise Conflict("demand_not_open", "需求已取消")
    _cancel(uow.session, d, (reason or "").strip() or "发布单位取消")
    return demand_dict(d, 0)


def on_postdoc_submitted(uow, payload: dict) -> int:
    """The demands of a submitted postdoc hosting application become open demands (once per item)."""
    s = uow.session
    app = payload["application"]
    remember_call(s, payload["call"])
    existing = set(s.scalars(sa.select(Demand.source_item).where(Demand.source_application_id == app["id"])))
    added = 0
    application = {k: app.get(k) for k in ("id", "title", "programme_code", "programme_name", "unit_id",
                                           "unit_name", "league_city_code")}
    for item in ddemands.postdoc_demands(payload):
        if item["index"] in existing:
            continue
        if item["start"] is None or not item["league_city_code"]:
            log.warning("postdoc_demand_unusable", application_id=app["id"], item=item["index"])
            continue
        s.add(Demand(call_id=payload["call"]["id"], source_application_id=app["id"], source_item=item["index"],
                     application=application, unit_id=app.get("unit_id"), unit_name=app.get("unit_name") or "",
                     demand_unit=item["demand_unit"], league_city_code=item["league_city_code"],
                     place=item["place"], field=item["field"], title=item["title"],
                     description=item["description"], tags=item["tags"], experts_wanted=item["experts_wanted"],
                     start_on=item["start"], end_on=item["end"], contacts=payload.get("recipients") or {},
                     created_by="system"))
        added += 1
    s.flush()
    return added


def on_application_ended(uow, payload: dict, why: str) -> int:
    """A withdrawn or forfeited application takes its open demands (and their matches) with it."""
    s = uow.session
    rows = s.scalars(sa.select(Demand).where(Demand.source_application_id == payload["application"]["id"],
                                             Demand.status == "open").with_for_update()).all()
    for d in rows:
        _cancel(s, d, why)
    return len(rows)


# what the matcher needs to know -----------------------------------------------------------------------
def _activity(d_source_application_id: str | None, demand_id: str) -> str:
    """Demands of one hosting application are one on-site activity: an expert there serves several at once."""
    return d_source_application_id or demand_id


def _busy(session, expert_ids, today: dt.date, exclude_assignment: str | None = None):
    """Per expert: confirmed matches (load) still to be served, and (activity, start, end) of all confirmed ones."""
    load: dict[str, int] = {}
    ranges: dict[str, list[tuple[str, dt.date, dt.date]]] = {}
    if not expert_ids:
        return load, ranges
    q = (sa.select(Assignment.id, Assignment.expert_id, Demand.id, Demand.source_application_id, Demand.start_on,
                   Demand.end_on)
         .join(Demand, Demand.id == Assignment.demand_id)
         .where(Assignment.status == "confirmed", Assignment.expert_id.in_(list(expert_ids))))
    for aid, eid, did, app_id, start, end in session.execute(q):
        if aid == exclude_assignment:
            continue
        ranges.setdefault(eid, []).append((_activity(app_id, did), start, end))
        if end >= today:
            load[eid] = load.get(eid, 0) + 1
    return load, ranges


def _busy_pairs(ranges: dict, demands: list[Demand]) -> list[tuple[str, str]]:
    """(expert, demand) where a confirmed match of another activity overlaps the demand's dates."""
    out = []
    for eid, spans in ranges.items():
        for d in demands:
            act = _activity(d.source_application_id, d.id)
            if any(a != act and s <= d.end_on and e >= d.start_on for a, s, e in spans):
                out.append((eid, d.id))
    return out


def _windows(e: Expert) -> list[tuple[dt.date, dt.date]]:
    out = []
    for w in e.unavailable or []:
        start, end = parse_day(w.get("start")), parse_day(w.get("end"))
        if start and end:
            out.append((start, end))
    return out


def _domain_expert(e: Expert, load: dict, capacity: int | None = None, review: bool = False):
    return dfit.Expert(id=e.id, unit_id=e.unit_id or f"expert-unit:{e.id}", region_code=e.league_city_code,
                       specialty=" ".join(x for x in (e.specialty, e.research_areas) if x), tags=tuple(e.tags or ()),
                       title_level=parse_title_level(e.title_level),
                       capacity=e.review_capacity if review else (capacity if capacity is not None else e.capacity),
                       load=load.get(e.id, 0),
                       unavailable=() if review else tuple(_windows(e)))


def _domain_demand(d: Demand, wanted: int):
    return dfit.Demand(id=d.id, unit_id=d.unit_id or f"demand-unit:{d.id}", region_code=d.league_city_code,
                       text=ddemands.matching_text(d.title, d.field, d.description), tags=tuple(d.tags or ()),
                       wanted=wanted, start=d.start_on, end=d.end_on)


def _unit_conflicts(session, expert_ids=None) -> list[tuple[str, str]]:
    q = sa.select(DeclaredConflict.expert_id, DeclaredConflict.unit_id).where(DeclaredConflict.unit_id.is_not(None))
    if expert_ids is not None:
        q = q.where(DeclaredConflict.expert_id.in_(list(expert_ids)))
    return [(e, u) for e, u in session.execute(q)]


def _subject_conflicts(session, subject_ids) -> list[tuple[str, str]]:
    if not subject_ids:
        return []
    q = sa.select(DeclaredConflict.expert_id, DeclaredConflict.subject_id).where(
        DeclaredConflict.subject_id.in_(list(subject_ids)))
    return [(e, x) for e, x in session.execute(q)]


def _same_grassroots_unit(experts: list[Expert], demands: list[Demand]) -> list[tuple[str, str]]:
    """(expert, demand) where the expert works at the demand's grassroots unit (named, not an intake unit)."""
    by_unit: dict[str, list[str]] = {}
    for e in experts:
        if e.unit_name:
            by_unit.setdefault(_norm(e.unit_name), []).append(e.id)
    return [(eid, d.id) for d in demands if d.demand_unit for eid in by_unit.get(_norm(d.demand_unit), [])]


# proposals --------------------------------------------------------------------------------------------
def _pool_experts(session) -> list[Expert]:
    return session.scalars(sa.select(Expert).where(Expert.pool_status.in_(POOL_MEMBERS), Expert.willing.is_(True))
                           .order_by(Expert.id)).all()


def propose(uow, actor: Actor, data: dict, now: dt.datetime | None = None) -> dict:
    """The optimal proposal for a set of open demands: most slots filled, then the highest total fit."""
    actor.require(*OFFICERS)
    s = uow.session
    ids = list(dict.fromkeys((data or {}).get("demand_ids") or []))
    if not ids:
        raise ValidationFailed("no_demands", "请选择要匹配的需求",
                               [{"path": "demand_ids", "code": "required", "message": "请选择要匹配的需求"}])
    demands = s.scalars(sa.select(Demand).where(Demand.id.in_(ids))).all()
    found = {d.id: d for d in demands}
    problems = [{"path": f"demand_ids[{i}]", "code": "demand_not_found", "message": "需求不存在"}
                for i, x in enumerate(ids) if x not in found]
    problems += [{"path": f"demand_ids[{i}]", "code": "demand_not_open", "message": f"需求“{found[x].title}”已取消"}
                 for i, x in enumerate(ids) if x in found and found[x].status != "open"]
    if problems:
        raise ValidationFailed("demands_invalid", problems[0]["message"], problems)
    demands = [found[x] for x in ids]
    today = _today(now)
    confirmed = _confirmed_counts(s, ids)
    experts = _pool_experts(s)
    load, ranges = _busy(s, [e.id for e in experts], today)
    # pairs already decided on these demands (confirmed, rejected, replaced) are not proposed again
    decided = [(a.expert_id, a.demand_id) for a in s.scalars(sa.select(Assignment).where(
        Assignment.demand_id.in_(ids), Assignment.status.in_(("confirmed", "rejected", "replaced"))))]
    # the dates of confirmed matches block other activities only, so they are pairs, not expert-wide windows
    pair_conflicts = decided + _subject_conflicts(s, ids) + _same_grassroots_unit(experts, demands) + \
        _busy_pairs(ranges, demands)
    result = dmatching.match_experts(
        [_domain_demand(d, max(0, d.experts_wanted - confirmed.get(d.id, 0))) for d in demands],
        [_domain_expert(e, load) for e in experts],
        region_relation=region_relation, unit_conflicts=_unit_conflicts(s), pair_conflicts=pair_conflicts)
    out = result.to_dict()
    p = Proposal(demand_ids=ids, unmet=out["unmet"], total_fit=out["total_fit"], slots_wanted=out["slots_wanted"],
                 slots_filled=out["slots_filled"], stats=out["stats"], created_by=actor.id)
    s.add(p)
    s.flush()
    for m in result.matches:
        s.add(Assignment(proposal_id=p.id, demand_id=m.demand_id, expert_id=m.expert_id, fit=m.fit,
                         explanation=m.explanation))
    s.flush()
    log.info("proposal_made", proposal_id=p.id, demands=len(ids), experts=len(experts),
             filled=out["slots_filled"], wanted=out["slots_wanted"])
    return proposal_dict(s, p)


def assignment_dict(a: Assignment, e: Expert | None = None) -> dict:
    d = {"id": a.id, "proposal_id": a.proposal_id, "demand_id": a.demand_id, "expert_id": a.expert_id,
         "fit": a.fit, "explanation": a.explanation, "status": a.status, "replaces_id": a.replaces_id,
         "decided_at": iso(a.decided_at), "note": a.note}
    if e is not None:
        d["expert"] = {"id": e.id, "name": e.name, "unit_name": e.unit_name, "league_city_code": e.league_city_code,
                       "title": e.title, "title_level": e.title_level}
    return d


def proposal_dict(session, p: Proposal) -> dict:
    items = session.scalars(sa.select(Assignment).where(Assignment.proposal_id == p.id)
                            .order_by(Assignment.created_at, Assignment.id)).all()
    experts = {e.id: e for e in session.scalars(sa.select(Expert).where(
        Expert.id.in_({a.expert_id for a in items})))} if items else {}
    return {"id": p.id, "demand_ids": p.demand_ids, "total_fit": p.total_fit, "slots_wanted": p.slots_wanted,
            "slots_filled": p.slots_filled, "unmet": p.unmet, "stats": p.stats, "created_at": iso(p.created_at),
            "items": [assignment_dict(a, experts.get(a.expert_id)) for a in items]}


def get_proposal(session, actor: Actor, proposal_id: str) -> dict:
    actor.require(*READERS)
    return proposal_dict(session, get_or_404(session, Proposal, proposal_id, "proposal_not_found", "匹配方案不存在"))


def list_matches(session, actor: Actor, filters: dict) -> list[dict]:
    """Assignments by demand, expert or status (confirmed ones are the matches); an expert sees their own."""
    q = sa.select(Assignment, Expert).join(Expert, Expert.id == Assignment.expert_id)
    if actor.role == "expert":
        q = q.where(Expert.user_id == actor.id)
    else:
        actor.require(*READERS)
    for key in ("demand_id", "expert_id", "status", "proposal_id"):
        if filters.get(key):
            q = q.where(getattr(Assignment, key).in_(str(filters[key]).split(",")))
    return [assignment_dict(a, e) for a, e in session.execute(q.order_by(Assignment.created_at).limit(1000))]


def check_assignable(session, e: Expert, d: Demand, today: dt.date, exclude_assignment: str | None = None) -> None:
    """Conflict with a stable code if the expert may not serve the demand now (see the module docstring)."""
    details = {"expert_id": e.id, "demand_id": d.id}
    if d.status != "open":
        raise Conflict("demand_not_open", f"需求“{d.title}”已取消", details)
    if e.pool_status not in POOL_MEMBERS or not e.willing:
        raise Conflict("expert_not_available_for_service", f"{e.name}不在重点联系专家库中或未表示服务意愿", details)
    if (d.unit_id and e.unit_id == d.unit_id) or (d.demand_unit and _norm(d.demand_unit) == _norm(e.unit_name)):
        raise Conflict("own_unit", f"{e.name}是需求单位本单位的专家，须回避", details)
    declared = session.scalar(sa.select(DeclaredConflict.id).where(
        DeclaredConflict.expert_id == e.id,
        sa.or_(DeclaredConflict.subject_id == d.id,
               sa.and_(DeclaredConflict.unit_id.is_not(None), DeclaredConflict.unit_id == d.unit_id))))
    if declared:
        raise Conflict("conflict_declared", f"{e.name}已申报与该需求（单位）的利益冲突，须回避", details)
    if session.scalar(sa.select(Assignment.id).where(Assignment.expert_id == e.id, Assignment.demand_id == d.id,
                                                     Assignment.status == "confirmed",
                                                     Assignment.id != (exclude_assignment or ""))):
        raise Conflict("already_matched", f"{e.name}已确认服务该需求", details)
    load, ranges = _busy(session, [e.id], today, exclude_assignment)
    if load.get(e.id, 0) >= e.capacity:
        raise Conflict("at_load_cap", f"{e.name}已承担{load.get(e.id, 0)}项服务任务，达到上限{e.capacity}项",
                       {**details, "load": load.get(e.id, 0), "capacity": e.capacity})
    act = _activity(d.source_application_id, d.id)
    for start, end in _windows(e) + [(s_, e_) for a, s_, e_ in ranges.get(e.id, []) if a != act]:
        if start <= d.end_on and end >= d.start_on:
            raise Conflict("expert_unavailable",
                           f"{e.name}在{start.isoformat()}至{end.isoformat()}期间无法到岗，与需求日期冲突",
                           {**details, "busy": {"start": start.isoformat(), "end": end.isoformat()}})
    filled = _confirmed_counts(session, [d.id]).get(d.id, 0)
    if filled >= d.experts_wanted:
        raise Conflict("demand_full", f"需求“{d.title}”已确认{filled}名专家，达到所需人数", details)


def _matched_payload(session, a: Assignment, e: Expert, d: Demand) -> dict:
    payload = {"expert": expert_brief(e), "recipients": d.contacts or {"unit_contacts": [], "user_ids": []},
               "demand": {"id": d.id, "title": d.title, "place": d.place or REGIONS[d.league_city_code].name,
                          "league_city_code": d.league_city_code, "field": d.field,
                          "dates": {"start": iso(d.start_on), "end": iso(d.end_on)}},
               "match": {"id": a.id, "proposal_id": a.proposal_id, "fit": a.fit,
                         "summary": (a.explanation or {}).get("summary")}}
    known = session.get(KnownCall, d.call_id) if d.call_id else None
    if known is not None:
        payload["call"] = known.summary
    if d.application:
        payload["application"] = d.application
    return payload


def _confirm_one(uow, actor: Actor, a: Assignment, today: dt.date) -> None:
    s = uow.session
    if a.status != "proposed":
        raise Conflict("not_proposed", "该匹配项已处理", {"assignment_id": a.id, "status": a.status})
    # Locks in a fixed order (expert, then demand) so two officers confirming at once serialise.
    e = s.scalar(sa.select(Expert).where(Expert.id == a.expert_id).with_for_update())
    d = s.scalar(sa.select(Demand).where(Demand.id == a.demand_id).with_for_update())
    check_assignable(s, e, d, today)
    a.status, a.decided_by, a.decided_at = "confirmed", actor.id, utcnow()
    s.add(ServiceEntry(expert_id=e.id, demand_id=d.id, application_id=(d.application or {}).get("id"),
                       assignment_id=a.id, project=d.title, role="服务专家", place=d.place, start_on=d.start_on,
                       end_on=d.end_on, source="match", created_by=actor.id))
    s.flush()
    uow.publish("expert_matched", _matched_payload(s, a, e, d))


def _proposal_item(session, proposal_id: str, item_id: str, lock: bool = True) -> Assignment:
    a = session.scalar(sa.select(Assignment).where(Assignment.id == item_id, Assignment.proposal_id == proposal_id)
                       .with_for_update() if lock else
                       sa.select(Assignment).where(Assignment.id == item_id, Assignment.proposal_id == proposal_id))
    if a is None:
        raise NotFound("assignment_not_found", "匹配项不存在", {"proposal_id": proposal_id, "id": item_id})
    return a


def confirm(uow, actor: Actor, proposal_id: str, item_ids: list[str] | None = None,
            now: dt.datetime | None = None) -> dict:
    """Confirm the given proposed items (or all still proposed): all of them or, on any refusal, none."""
    actor.require(*OFFICERS)
    s = uow.session
    p = get_or_404(s, Proposal, proposal_id, "proposal_not_found", "匹配方案不存在")
    if item_ids:
        items = [_proposal_item(s, p.id, i) for i in dict.fromkeys(item_ids)]
    else:
        items = s.scalars(sa.select(Assignment).where(Assignment.proposal_id == p.id,
                                                      Assignment.status == "proposed")
                          .order_by(Assignment.expert_id).with_for_update()).all()
    today = _today(now)
    for a in items:
        _confirm_one(uow, actor, a, today)
    return proposal_dict(s, p)


def reject(uow, actor: Actor, proposal_id: str, item_id: str, reason: str = "") -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    a = _proposal_item(s, proposal_id, item_id)
    if a.status != "proposed":
        raise Conflict("not_proposed", "该匹配项已处理", {"assignment_id": a.id, "status": a.status})
    a.status, a.decided_by, a.decided_at, a.note = "rejected", actor.id, utcnow(), (reason or "").strip() or None
    return proposal_dict(s, get_or_404(s, Proposal, proposal_id, "proposal_not_found", "匹配方案不存在"))


def _pair_fit(session, e: Expert, d: Demand, wanted: int, today: dt.date) -> tuple[float, dict]:
    """The fit and explanation of one chosen pair, by the matcher's own scoring."""
    load, _ = _busy(session, [e.id], today)
    problem = dfit.build_fit([_domain_demand(d, wanted)], [_domain_expert(e, load)], region_relation=region_relation)
    # one demand and one expert: the single candidate pair, if the specialty texts share a term at all
    result = dmatching.explain(problem, dmatching.Solution(chosen=np.arange(min(1, len(problem.rows))),
                                                           method="officer"))
    if result.matches:
        return result.matches[0].fit, {**result.matches[0].explanation, "chosen_by": "officer"}
    relation = region_relation(d.league_city_code, e.league_city_code)
    return 0.0, {"matched_terms": [], "similarity": 0.0, "region_relation": relation,
                 "title_level": e.title_level, "chosen_by": "officer",
                 "summary": f"业务处室指定（专业关键词无重合）；{dfit.RELATION_LABELS[relation]}；职称{e.title_level}"}


def swap(uow, actor: Actor, proposal_id: str, item_id: str, expert_id: str, reason: str = "",
         confirm_now: bool = False, now: dt.datetime | None = None) -> dict:
    """Replace a proposed expert by another the officer chose; the newcomer passes every hard rule first."""
    actor.require(*OFFICERS)
    s = uow.session
    a = _proposal_item(s, proposal_id, item_id)
    if a.status != "proposed":
        raise Conflict("not_proposed", "只能替换尚未确认的匹配项", {"assignment_id": a.id, "status": a.status})
    if expert_id == a.expert_id:
        raise Conflict("same_expert", "替换专家与原专家相同")
    e = get_or_404(s, Expert, expert_id, "expert_not_found", "专家不存在", lock=True)
    d = s.scalar(sa.select(Demand).where(Demand.id == a.demand_id).with_for_update())
    today = _today(now)
    if s.scalar(sa.select(Assignment.id).where(Assignment.proposal_id == proposal_id, Assignment.demand_id == d.id,
                                               Assignment.expert_id == e.id, Assignment.status == "proposed")):
        raise Conflict("already_proposed", f"{e.name}已在本方案中匹配该需求")
    check_assignable(s, e, d, today)
    fit, explanation = _pair_fit(s, e, d, 1, today)
    a.status, a.decided_by, a.decided_at = "replaced", actor.id, utcnow()
    a.note = (reason or "").strip() or None
    new = Assignment(proposal_id=proposal_id, demand_id=d.id, expert_id=e.id, fit=fit, explanation=explanation,
                     replaces_id=a.id, note=a.note)
    s.add(new)
    s.flush()
    if confirm_now:
        _confirm_one(uow, actor, new, today)
    return proposal_dict(s, get_or_404(s, Proposal, proposal_id, "proposal_not_found", "匹配方案不存在"))


# reviewers for review ---------------------------------------------------------------------------------
def _reviewer_dict(e: Expert) -> dict:
    return {"expert_id": e.id, "user_id": e.user_id, "name": e.name, "unit_id": e.unit_id, "unit_name": e.unit_name,
            "league_city_code": e.league_city_code, "email": e.email or None, "mobile": e.mobile or None}


def _check_reviewer_request(applications, per_application, exclude, loads) -> None:
    problems = []
    if not isinstance(applications, list) or not applications:
        problems.append({"path": "applications", "code": "required", "message": "请提供待评审的申报"})
    else:
        for i, a in enumerate(applications):
            if not isinstance(a, dict):
                problems.append({"path": f"applications[{i}]", "code": "wrong_type", "message": "申报应为对象"})
                continue
            for key in ("id", "unit_id", "league_city_code", "text"):
                if not isinstance(a.get(key), str) or (key != "text" and not a.get(key)):
                    problems.append({"path": f"applications[{i}].{key}", "code": "required",
                                     "message": f"缺少{key}"})
            if a.get("wanted") is not None and (not isinstance(a["wanted"], int) or a["wanted"] < 0):
                problems.append({"path": f"applications[{i}].wanted", "code": "out_of_range",
                                 "message": "wanted 应为非负整数"})
    if not isinstance(per_application, int) or not 1 <= per_application <= 50:
        problems.append({"path": "per_application", "code": "out_of_range", "message": "每份申报的评审专家数应为1到50"})
    if exclude is not None and (not isinstance(exclude, list) or any(
            not isinstance(p, (list, tuple)) or len(p) != 2 for p in exclude)):
        problems.append({"path": "exclude", "code": "wrong_type", "message": "exclude 应为 [专家id, 申报id] 对的列表"})
    if loads is not None and not isinstance(loads, dict):
        problems.append({"path": "loads", "code": "wrong_type", "message": "loads 应为 {专家id: 当前评审任务数}"})
    if problems:
        raise ValidationFailed("reviewer_request_invalid", problems[0]["message"], problems)


def propose_reviewers(session, actor: Actor, applications: list[dict], per_application: int,
                      exclude: list | None = None, loads: dict | None = None, load_cap: int | None = None) -> dict:
    """Reviewers for applications: pool experts with a login, by specialty and title; never the
    applicant's unit or league/city, a declared conflict, an excluded pair, or past their cap: their own
    ``review_capacity`` or the round's ``load_cap``, whichever is lower."""
    actor.require(*OFFICERS)
    _check_reviewer_request(applications, per_application, exclude, loads)
    if load_cap is not None and (not isinstance(load_cap, int) or isinstance(load_cap, bool) or load_cap < 1):
        raise ValidationFailed("reviewer_request_invalid", "load_cap 应为正整数",
                               [{"path": "load_cap", "code": "out_of_range", "message": "load_cap 应为正整数"}])
    experts = session.scalars(sa.select(Expert).where(Expert.pool_status.in_(POOL_MEMBERS),
                                                      Expert.user_id.is_not(None)).order_by(Expert.id)).all()
    loads = {str(k): int(v) for k, v in (loads or {}).items()}
    reviewers = [_domain_expert(e, loads, review=True) for e in experts]
    if load_cap is not None:
        reviewers = [replace(r, capacity=min(r.capacity, load_cap)) for r in reviewers]
    apps = [dreviewers.Application(id=a["id"], unit_id=a["unit_id"], region_code=a["league_city_code"],
                                   text=a.get("text") or "", tags=tuple(a.get("tags") or ()), wanted=a.get("wanted"))
            for a in applications]
    result = dreviewers.propose_reviewers(
        apps, reviewers, per_application=per_application, region_relation=region_relation,
        unit_conflicts=_unit_conflicts(session, [e.id for e in experts]),
        pair_conflicts=_subject_conflicts(session, [a["id"] for a in applications]),
        already_assigned=[(str(x), str(y)) for x, y in (exclude or [])])
    by_id = {e.id: e for e in experts}
    return {"matches": [{"application_id": m.demand_id, "expert_id": m.expert_id, "fit": m.fit,
                         "explanation": m.explanation, "reviewer": _reviewer_dict(by_id[m.expert_id])}
                        for m in result.matches],
            "unmet": [{"application_id": u.demand_id, "missing": u.wanted - u.filled, "reason": u.reason,
                       "message": u.message} for u in result.unmet]}


# search -----------------------------------------------------------------------------------------------
def search_experts(session, actor: Actor, filters: dict, now: dt.datetime | None = None) -> dict:
    """Experts by specialty text (BM25, best first), tag, league/city, minimum title level, availability
    over a date range, pool status; paginated. Officers and auditors."""
    actor.require(*READERS)
    q = sa.select(Expert)
    statuses = str(filters.get("pool_status") or "").split(",") if filters.get("pool_status") else None
    if statuses:
        q = q.where(Expert.pool_status.in_(statuses))
    if filters.get("league_city_code"):
        q = q.where(Expert.league_city_code.in_(str(filters["league_city_code"]).split(",")))
    experts = session.scalars(q.order_by(Expert.id)).all()
    if filters.get("tag"):
        from .domain.taxonomy import canonical_tag
        tag = canonical_tag(str(filters["tag"]))
        experts = [e for e in experts if tag and tag in (e.tags or [])]
    if filters.get("title_level_min"):
        floor = parse_title_level(str(filters["title_level_min"]))
        experts = [e for e in experts if parse_title_level(e.title_level) >= floor]
    start, end = parse_day(filters.get("available_from")), parse_day(filters.get("available_to"))
    if start or end:
        start, end = start or end, end or start
        _, ranges = _busy(session, [e.id for e in experts], _today(now))
        experts = [e for e in experts if not any(a <= end and b >= start for a, b in
                                                 _windows(e) + [(x, y) for _, x, y in ranges.get(e.id, [])])]
    scores: dict[str, float] = {}
    text = str(filters.get("q") or "").strip()
    if text and experts:
        docs = [tokenize(" ".join((e.specialty, e.research_areas))) + tag_terms(e.tags or ()) for e in experts]
        sim = SpecialtyIndex(docs).similarity([tokenize(text)]).tocoo()
        scores = {experts[j].id: float(v) for j, v in zip(sim.col, sim.data)}
        experts = sorted((e for e in experts if e.id in scores), key=lambda e: (-scores[e.id], e.name, e.id))
    else:
        experts = sorted(experts, key=lambda e: (e.league_city_code, e.name, e.id))
    limit, offset = page_args(filters)
    page = experts[offset:offset + limit]
    items = []
    for e in page:
        d = expert_dict(e)
        if text:
            d["score"] = round(scores[e.id], 6)
        items.append(d)
    return {"items": items, "total": len(experts), "limit": limit, "offset": offset}

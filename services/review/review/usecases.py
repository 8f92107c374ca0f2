"""Review use cases (walking-skeleton depth: candidates from events, a selection with its decision record)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import utcnow
from grassroots.errors import Conflict, NotFound

from .models import Candidate, Decision

OFFICERS = ("programme_officer", "admin")
READERS = ("programme_officer", "admin", "auditor")


def _iso(v):
    return v.isoformat() if v else None


def candidate_dict(c: Candidate) -> dict:
    return {"application_id": c.application_id, "call_id": c.call_id, "programme_code": c.programme_code,
            "unit_id": c.unit_id, "unit_name": c.unit_name, "league_city_code": c.league_city_code,
            "title": c.title, "status": c.status, "submitted_at": _iso(c.submitted_at)}


def candidate_arrived(uow, envelope: dict) -> None:
    p = envelope["payload"]
    a = p["application"]
    cand = uow.session.get(Candidate, a["id"])
    submitted = dt.datetime.fromisoformat(a["submitted_at"]) if a.get("submitted_at") else None
    if cand is None:
        cand = Candidate(application_id=a["id"], call_id=p["call"]["id"], programme_code=a["programme_code"],
                         unit_id=a["unit_id"], unit_name=a["unit_name"], league_city_code=a["league_city_code"],
                         title=a.get("title") or "", submitted_at=submitted, snapshot=p)
        uow.session.add(cand)
    else:
        cand.status, cand.snapshot, cand.updated_at = "in_review", p, utcnow()


def candidate_left(uow, envelope: dict, why: str) -> None:
    cand = uow.session.get(Candidate, envelope["payload"]["application"]["id"])
    if cand is not None:
        cand.status, cand.updated_at = why, utcnow()


def list_candidates(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Candidate).order_by(Candidate.submitted_at)
    for key in ("call_id", "programme_code", "status"):
        if filters.get(key):
            q = q.where(getattr(Candidate, key) == filters[key])
    return [candidate_dict(c) for c in session.scalars(q)]


def select_application(uow, actor: Actor, application_id: str, data: dict) -> dict:
    actor.require(*OFFICERS)
    cand = uow.session.get(Candidate, application_id, with_for_update=True)
    if cand is None:
        raise NotFound("candidate_not_found", "评审中没有这份申报材料", {"id": application_id})
    if cand.status != "in_review":
        raise Conflict("invalid_transition", "该申报材料当前不在评审中，不能入选")
    cand.status, cand.updated_at = "selected", utcnow()
    uow.session.add(Decision(application_id=application_id, action="select", actor_id=actor.id,
                             actor_role=actor.role, reason=data.get("reason"), data={}))
    snap = cand.snapshot
    uow.publish("application_selected", {
        "call": snap["call"], "application": {**snap["application"], "status": "selected"},
        "recipients": snap.get("recipients", {}), "outcome": "selected",
        "funding": {"amount": data.get("amount"), "source": data.get("source", "department")}})
    return candidate_dict(cand)


def outcome(session, actor: Actor, application_id: str) -> dict:
    cand = session.get(Candidate, application_id)
    if cand is None:
        raise NotFound("candidate_not_found", "评审中没有这份申报材料", {"id": application_id})
    actor.require_unit(cand.unit_id)
    return {"application_id": cand.application_id, "status": cand.status}


def decisions(session, actor: Actor, application_id: str | None) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Decision).order_by(Decision.at)
    if application_id:
        q = q.where(Decision.application_id == application_id)
    return [{"id": d.id, "application_id": d.application_id, "action": d.action, "actor_id": d.actor_id,
             "actor_role": d.actor_role, "reason": d.reason, "data": d.data, "at": _iso(d.at)}
            for d in session.scalars(q)]

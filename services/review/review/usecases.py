"""Review use cases: the service layer between Nameko entrypoints and the pure rules in ``review.domain``.

Every write runs inside one ``uow`` (a transaction with its outbox): the rows, the decision record and the
events commit together or not at all. Rows are turned into domain values, the domain decides, and the
result is written back. The round row is locked (``FOR UPDATE``) by every write that depends on its state,
so two officers (or two replicas) acting on one round at once are serialised.

Who may do what is checked here from the acting user; the gateway's role lists only turn away requests
that could never succeed. Reviewers are gateway users whose id is the ``user_id`` the experts service
gave for them.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.errors import Conflict, Forbidden, NotFound, ValidationFailed

from .domain import assignments as dassign
from .domain import completion, decisions, ministry, post_evaluation, priority, ranking, rounds, rubrics, selection
from .domain._common import programme_label
from .domain.facts import ApplicationFacts, ReviewerFacts, ServicePlace
from .models import (Assignment, Candidate, Decision, FiledReport, MinistryDecision, PostEvaluation,
                     PriorityListRow, ReviewCall, Reviewer, Round, ScoreSheet, SelectionProposal)

OFFICERS = ("programme_officer", "admin")
READERS = ("programme_officer", "admin", "auditor")
REVIEWER_ROLES = ("reviewer", "expert")
GONE = ("withdrawn", "forfeited", "arrived_late")
# Pool admissions carry no money; every other selected or ministry-approved project is funded.
UNFUNDED_PROGRAMMES = ("key_expert",)


def _iso(v):
    return v.isoformat() if v else None


def _parse_time(value: Any, field: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed("invalid_datetime", "时间格式不正确",
                               [{"path": field, "code": "invalid_datetime",
                                 "message": "请填写带时区的时间，如 2025-03-01T18:00:00+08:00"}]) from None
    if moment.tzinfo is None:
        raise ValidationFailed("invalid_datetime", "时间须带时区",
                               [{"path": field, "code": "naive_datetime", "message": "请注明时区，如 +08:00"}])
    return moment.astimezone(dt.timezone.utc)


def _amount(value: Any, path: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("invalid_amount", "资助金额须为大于0、最多两位小数的元数",
                               [{"path": path, "code": "invalid_amount", "message": "资助金额格式不正确，如 150000.00"}])
    return f"{amount:.2f}"


def _get(session, model, key, code: str, message: str, lock: bool = False):
    row = session.get(model, key, with_for_update=lock) if lock else session.get(model, key)
    if row is None:
        raise NotFound(code, message, {"id": key})
    return row


# --- the decision record ----------------------------------------------------------------------------

def record(uow, kind: str, actor: Actor, now: dt.datetime, subject_type: str, subject_id: str, *,
           what: dict | None = None, why: str | None = None, round_id: str | None = None,
           application_id: str | None = None) -> None:
    rec = decisions.decision_record(kind, actor_id=actor.id, actor_role=actor.role, at=now,
                                    subject_type=subject_type, subject_id=subject_id, what=what, why=why,
                                    round_id=round_id)
    uow.session.add(Decision(kind=rec.kind, round_id=round_id, subject_type=subject_type, subject_id=subject_id,
                             application_id=application_id, actor_id=actor.id, actor_role=actor.role,
                             why=rec.why, what=dict(rec.what), at=now))


def decision_dict(d: Decision) -> dict:
    return {"id": d.id, "kind": d.kind, "label": decisions.KINDS.get(d.kind, d.kind), "round_id": d.round_id,
            "subject_type": d.subject_type, "subject_id": d.subject_id, "application_id": d.application_id,
            "actor_id": d.actor_id, "actor_role": d.actor_role, "why": d.why, "what": d.what, "at": _iso(d.at)}


def list_decisions(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Decision).order_by(Decision.at, Decision.id)
    for key in ("round_id", "application_id", "kind", "actor_id"):
        if filters.get(key):
            q = q.where(getattr(Decision, key) == filters[key])
    return [decision_dict(d) for d in session.scalars(q.limit(int(filters.get("limit") or 1000)))]


# --- facts arriving by events -----------------------------------------------------------------------

def call_opened(uow, envelope: dict) -> None:
    p = envelope["payload"]
    call = p["call"]
    row = uow.session.get(ReviewCall, call["id"])
    if row is None:
        row = ReviewCall(id=call["id"])
        uow.session.add(row)
    row.year, row.deadline = int(call["year"]), _parse_time(call["deadline"], "call.deadline")
    settings = p.get("review") or {}
    row.summary, row.programmes = call, p.get("programmes") or []
    row.rubrics = settings.get("rubrics") or {}
    row.settings = {k: v for k, v in settings.items() if k != "rubrics"}


def _places(application: dict) -> list[dict]:
    form = application.get("form") or {}
    out = []
    for item in form.get("service_places") or []:
        if isinstance(item, dict) and (item.get("county") or "").strip():
            out.append({"county": item["county"].strip(), "league_code": application.get("league_city_code")})
    return out


def _round_for(session, call_id: str, programme: str, lock: bool = False, share: bool = False) -> Round | None:
    """The round of a call's programme; ``lock`` for writers of its state, ``share`` for arrivals, which
    must not interleave with closing (a late arrival is recorded as such) but need not wait for each other."""
    q = sa.select(Round).where(Round.call_id == call_id, Round.programme_code == programme)
    if lock:
        q = q.with_for_update()
    elif share:
        q = q.with_for_update(read=True)
    return session.scalar(q)


def candidates_arrived(uow, envelopes: list[dict], now: dt.datetime) -> None:
    """A batch of submissions: their candidates are read in one statement, and each round once."""
    ids = [e["payload"]["application"]["id"] for e in envelopes]
    known = {c.application_id: c for c in uow.session.scalars(
        sa.select(Candidate).where(Candidate.application_id.in_(ids)))} if ids else {}
    seen: dict = {"candidates": {i: known.get(i) for i in ids}, "rounds": {}}
    for envelope in envelopes:
        uow.acting_for(envelope)
        _candidate_arrived(uow, envelope, now, seen)


def _candidate_arrived(uow, envelope: dict, now: dt.datetime, seen: dict) -> None:
    """One arrival of a batch; ``seen`` holds the batch's candidates and the rounds already read."""
    p = envelope["payload"]
    a = p["application"]
    s = uow.session
    snapshot = {"call": p["call"], "application": a, "recipients": p.get("recipients") or {}}
    cand = seen["candidates"][a["id"]]
    key = (p["call"]["id"], a["programme_code"])
    if key not in seen["rounds"]:
        seen["rounds"][key] = _round_for(s, *key, share=True)
    rnd = seen["rounds"][key]
    late = rnd is not None and rnd.state not in ("draft", "open") and (cand is None or cand.status in GONE)
    status = "arrived_late" if late else "in_review"
    fields = dict(call_id=p["call"]["id"], programme_code=a["programme_code"], unit_id=a["unit_id"],
                  unit_name=a.get("unit_name") or "", league_city_code=a.get("league_city_code") or "",
                  title=(a.get("title") or "")[:200],
                  submitted_at=_parse_time(a["submitted_at"], "submitted_at") if a.get("submitted_at") else None,
                  service_places=_places(a), snapshot=snapshot, updated_at=now)
    if cand is None:
        cand = Candidate(application_id=a["id"], status=status, **fields)
        s.add(cand)
        seen["candidates"][a["id"]] = cand
    elif cand.status in ("in_review",) + GONE:
        for k, v in fields.items():
            setattr(cand, k, v)
        cand.status = status
    if late:
        record(uow, "remove_application", Actor.system(), now, "application", a["id"], round_id=rnd.id,
               application_id=a["id"], why="评审已结束后才收到提交，未加入本轮评审", what={"state": rnd.state})


def candidate_left(uow, envelope: dict, why: str, now: dt.datetime) -> None:
    s = uow.session
    app_id = envelope["payload"]["application"]["id"]
    cand = s.get(Candidate, app_id, with_for_update=True)
    if cand is None or cand.status not in ("in_review",):
        return
    rnd = _round_for(s, cand.call_id, cand.programme_code, lock=True)
    reason = {"withdrawn": "申报单位撤回申报", "forfeited": "申报单位逾期未报送纸质材料，视为放弃"}[why]
    if rnd is not None:
        drnd = round_domain(s, rnd)
        _, changed = rounds.remove_application(drnd, app_id, assignments_of(s, rnd.id), now, reason)
        _store_assignments(s, changed)
        record(uow, "remove_application", Actor.system(), now, "application", app_id, round_id=rnd.id,
               application_id=app_id, why=reason, what={"cancelled_assignments": len(changed)})
    cand.status, cand.updated_at = why, now


def report_filed(uow, envelope: dict) -> None:
    p = envelope["payload"]
    a = p["application"]
    row = uow.session.get(FiledReport, a["id"])
    if row is None:
        row = FiledReport(application_id=a["id"])
        uow.session.add(row)
    row.report_id = p.get("report_id") or (p.get("report") or {}).get("id") or a["id"]
    row.unit_id, row.programme_code = a["unit_id"], a["programme_code"]
    row.year = int(p["call"].get("year") or 0)
    row.filed_at = _parse_time(p["filed_at"], "filed_at") if p.get("filed_at") else envelope_time(envelope)
    row.snapshot = {"call": p["call"], "application": a, "recipients": p.get("recipients") or {}}


def envelope_time(envelope: dict) -> dt.datetime:
    return _parse_time(envelope["occurred_at"], "occurred_at")


# --- domain values from rows ------------------------------------------------------------------------

def round_domain(session, row: Round) -> rounds.ReviewRound:
    apps = session.scalars(sa.select(Candidate.application_id).where(
        Candidate.call_id == row.call_id, Candidate.programme_code == row.programme_code,
        Candidate.status.not_in(GONE)).order_by(Candidate.submitted_at, Candidate.application_id)).all()
    return rounds.ReviewRound(id=row.id, call_id=row.call_id, programme=row.programme_code, deadline=row.deadline,
                              rolling=row.rolling, reviewers_per_application=row.reviewers_per_application,
                              load_cap=row.load_cap, state=rounds.RoundState(row.state),
                              application_ids=tuple(apps), opened_at=row.opened_at, closed_at=row.closed_at,
                              published_at=row.published_at)


def _to_assignment(a: Assignment) -> dassign.Assignment:
    return dassign.Assignment(id=a.id, round_id=a.round_id, application_id=a.application_id,
                              reviewer_id=a.reviewer_id, status=a.status, assigned_at=a.assigned_at,
                              conflict_reason=a.conflict_reason, conflict_declared_by=a.conflict_declared_by,
                              conflict_declared_at=a.conflict_declared_at, cancelled_at=a.cancelled_at,
                              cancel_reason=a.cancel_reason)


def assignments_of(session, round_id: str) -> list[dassign.Assignment]:
    return [_to_assignment(a) for a in session.scalars(
        sa.select(Assignment).where(Assignment.round_id == round_id).order_by(Assignment.assigned_at, Assignment.id))]


def _store_assignments(session, changed: Iterable[dassign.Assignment]) -> None:
    for a in changed:
        row = session.get(Assignment, a.id)
        row.status, row.conflict_reason = a.status, a.conflict_reason
        row.conflict_declared_by, row.conflict_declared_at = a.conflict_declared_by, a.conflict_declared_at
        row.cancelled_at, row.cancel_reason = a.cancelled_at, a.cancel_reason


def _facts(c: Candidate) -> ApplicationFacts:
    return ApplicationFacts(application_id=c.application_id, unit_id=c.unit_id, league_code=c.league_city_code,
                            submitted_at=c.submitted_at, title=c.title,
                            service_places=tuple(ServicePlace(p["county"], p.get("league_code"))
                                                 for p in c.service_places or []))


def candidates_of(session, row: Round, ids: Iterable[str] | None = None) -> dict[str, Candidate]:
    q = sa.select(Candidate).where(Candidate.call_id == row.call_id, Candidate.programme_code == row.programme_code)
    if ids is not None:
        q = q.where(Candidate.application_id.in_(list(ids)))
    return {c.application_id: c for c in session.scalars(q)}


def _sheets(session, round_id: str) -> list[rubrics.ScoreSheet]:
    return [rubrics.ScoreSheet(application_id=x.application_id, reviewer_id=x.reviewer_id,
                               scores={k: Decimal(v) for k, v in x.scores.items()}, comments=x.comments,
                               submitted_at=x.submitted_at, revision=x.revision, assignment_id=x.assignment_id)
            for x in session.scalars(sa.select(ScoreSheet).where(ScoreSheet.round_id == round_id))]


def _rubric(row: Round) -> rubrics.Rubric:
    return rubrics.rubric_from_dict(row.rubric, row.programme_code)


def priority_list(session) -> priority.PriorityList:
    row = session.scalar(sa.select(PriorityListRow).where(PriorityListRow.current.is_(True)))
    return priority.priority_list_from_dict(row.data) if row else priority.load_priority_list()


# --- rounds -----------------------------------------------------------------------------------------

def _programme_of(call: ReviewCall, code: str) -> dict:
    for p in call.programmes:
        if p.get("code") == code:
            return p
    raise NotFound("programme_not_in_call", f"该申报通知没有“{programme_label(code)}”这一项目类别",
                   {"call_id": call.id, "programme_code": code})


def caps_and_keys(programme: dict) -> tuple[dict, dict]:
    """Selection caps and the call's selection entries per outcome.

    The call lists what a programme's applications can become (``selection``: key, label, min, max); an
    entry whose key names the ministry is a national recommendation, the others are regional selections.
    An outcome the call does not list is not available for that programme.
    """
    caps = {"selected": {"min": 0, "max": 0}, "recommended_national": {"min": 0, "max": 0}}
    keys: dict[str, dict] = {}
    for entry in programme.get("selection") or []:
        outcome = selection.RECOMMENDED_NATIONAL if "ministry" in entry["key"] else selection.SELECTED
        caps[outcome] = {"min": int(entry.get("min") or 0), "max": entry.get("max")}
        keys[outcome] = {"key": entry["key"], "label": entry.get("label") or ""}
    return caps, keys


def round_dict(session, row: Round, with_progress: bool = True) -> dict:
    out = {"id": row.id, "call_id": row.call_id, "programme_code": row.programme_code,
           "programme_name": programme_label(row.programme_code), "name": row.name, "state": row.state,
           "state_label": rounds.STATE_LABELS[rounds.RoundState(row.state)], "deadline": _iso(row.deadline),
           "rolling": row.rolling, "reviewers_per_application": row.reviewers_per_application,
           "load_cap": row.load_cap, "close_at": _iso(row.close_at), "rubric": row.rubric,
           "bonus_policy": row.bonus_policy, "caps": row.caps, "selection_keys": row.selection_keys,
           "created_by": row.created_by, "created_at": _iso(row.created_at), "opened_at": _iso(row.opened_at),
           "closed_at": _iso(row.closed_at), "published_at": _iso(row.published_at)}
    if with_progress:
        drnd = round_domain(session, row)
        made = assignments_of(session, row.id)
        progress = completion.application_progress(drnd.application_ids, drnd.k, made, _sheets(session, row.id))
        out["applications"] = len(drnd.application_ids)
        out["applications_complete"] = sum(1 for p in progress.values() if p.complete)
        out["applications_fully_assigned"] = sum(1 for p in progress.values() if p.assigned >= drnd.k)
    return out


def create_round(uow, actor: Actor, data: dict, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    problems = [{"path": k, "code": "required", "message": m} for k, m in
                (("call_id", "请选择申报通知"), ("programme_code", "请选择项目类别"), ("close_at", "请填写评审截止时间"))
                if not data.get(k)]
    if problems:
        raise ValidationFailed("round_invalid", "评审轮次信息不完整", problems)
    call = _get(s, ReviewCall, data["call_id"], "call_not_known",
                "评审服务尚未收到该申报通知（通知发布后才能建立评审轮次）")
    programme = _programme_of(call, data["programme_code"])
    if _round_for(s, call.id, programme["code"]) is not None:
        raise Conflict("round_exists", "该申报通知的这一项目类别已建立评审轮次",
                       {"call_id": call.id, "programme_code": programme["code"]})
    close_at = _parse_time(data["close_at"], "close_at")
    if close_at <= now:
        raise ValidationFailed("round_invalid", "评审截止时间须晚于现在",
                               [{"path": "close_at", "code": "in_past", "message": "评审截止时间须晚于现在"}])
    # the round's own settings, else the call's (intake's ``review`` section), else the defaults
    defaults = call.settings or {}
    drnd = rounds.new_round("new", call.id, programme["code"], call.deadline, rolling=bool(programme.get("rolling")),
                            reviewers_per_application=data.get("reviewers_per_application") or defaults.get(
                                "reviewers_per_application", rounds.DEFAULT_REVIEWERS_PER_APPLICATION),
                            load_cap=data.get("load_cap") or defaults.get("load_cap", rounds.DEFAULT_LOAD_CAP))
    rubric = rubrics.rubric_from_dict(data["rubric"], programme["code"]) if data.get("rubric") else \
        rubrics.rubric_for_call(programme["code"], {"rubrics": call.rubrics})
    policy = data.get("bonus_policy") or defaults.get("bonus_policy") or {}
    priority.BonusPolicy.from_dict(policy)
    caps, keys = caps_and_keys(programme)
    selection.caps_from_definition(programme["code"], {"caps": caps})
    row = Round(call_id=call.id, programme_code=programme["code"],
                name=(data.get("name") or f"{call.year}年{programme.get('name') or programme_label(programme['code'])}评审"),
                deadline=call.deadline, rolling=drnd.rolling, reviewers_per_application=drnd.k,
                load_cap=drnd.load_cap, close_at=close_at, state="draft", rubric=rubric.to_dict(),
                bonus_policy=policy, caps=caps, selection_keys=keys, created_by=actor.id, created_at=now)
    s.add(row)
    s.flush()
    record(uow, "configure_round", actor, now, "round", row.id, round_id=row.id,
           what={"created": True, "k": row.reviewers_per_application, "load_cap": row.load_cap, "caps": caps})
    return round_dict(s, row)


def configure_round(uow, actor: Actor, round_id: str, data: dict, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    row = _get(s, Round, round_id, "round_not_found", "评审轮次不存在", lock=True)
    drnd = rounds.configure_round(round_domain(s, row), reviewers_per_application=data.get("reviewers_per_application"),
                                  load_cap=data.get("load_cap"))
    if data.get("rubric"):
        row.rubric = rubrics.rubric_from_dict(data["rubric"], row.programme_code).to_dict()
    if "bonus_policy" in data:
        priority.BonusPolicy.from_dict(data["bonus_policy"])
        row.bonus_policy = data["bonus_policy"] or {}
    if data.get("close_at"):
        row.close_at = _parse_time(data["close_at"], "close_at")
    row.reviewers_per_application, row.load_cap = drnd.k, drnd.load_cap
    record(uow, "configure_round", actor, now, "round", row.id, round_id=row.id,
           what={k: v for k, v in data.items() if k != "rubric"} | ({"rubric": "changed"} if data.get("rubric") else {}))
    return round_dict(s, row)


def get_round(session, actor: Actor, round_id: str) -> dict:
    actor.require(*READERS)
    return round_dict(session, _get(session, Round, round_id, "round_not_found", "评审轮次不存在"))


def list_rounds(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Round).order_by(Round.created_at)
    for key in ("call_id", "programme_code", "state"):
        if filters.get(key):
            q = q.where(getattr(Round, key) == filters[key])
    return [round_dict(session, r) for r in session.scalars(q)]


def _round_event_payload(session, row: Round) -> dict:
    call = session.get(ReviewCall, row.call_id)
    return {"call": call.summary if call else {"id": row.call_id},
            "round": {"id": row.id, "close_at": _iso(row.close_at), "name": row.name,
                      "programme_code": row.programme_code}}


def open_round(uow, actor: Actor, round_id: str, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    row = _get(s, Round, round_id, "round_not_found", "评审轮次不存在", lock=True)
    drnd = rounds.open_round(round_domain(s, row), now)
    if not drnd.application_ids:
        raise Conflict("round_empty", "本轮评审还没有收到任何申报项目", {"round_id": row.id})
    row.state, row.opened_at = drnd.state.value, now
    record(uow, "open_round", actor, now, "round", row.id, round_id=row.id,
           what={"applications": len(drnd.application_ids)})
    uow.publish("review_round_opened", {**_round_event_payload(s, row),
                                        "recipients": {"unit_contacts": [], "user_ids": []}})
    return round_dict(s, row)


def close_round(uow, actor: Actor, round_id: str, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    row = _get(s, Round, round_id, "round_not_found", "评审轮次不存在", lock=True)
    drnd = rounds.close_round(round_domain(s, row), now)
    row.state, row.closed_at = drnd.state.value, now
    progress = completion.application_progress(drnd.application_ids, drnd.k, assignments_of(s, row.id),
                                               _sheets(s, row.id))
    incomplete = sorted(a for a, p in progress.items() if not p.complete)
    record(uow, "close_round", actor, now, "round", row.id, round_id=row.id,
           what={"applications": len(drnd.application_ids), "incomplete": incomplete})
    return round_dict(s, row)


# --- assignments ------------------------------------------------------------------------------------

def assignment_request(session, actor: Actor, round_id: str, only: str | None = None) -> dict:
    """What to ask the experts service for: applications still short of reviewers, pairs to exclude, loads."""
    actor.require(*OFFICERS, *REVIEWER_ROLES)
    row = _get(session, Round, round_id, "round_not_found", "评审轮次不存在")
    drnd = round_domain(session, row)
    rounds.ensure_open_for_review(drnd)
    made = assignments_of(session, row.id)
    active = Counter(a.application_id for a in made if a.active)
    cands = candidates_of(session, row, drnd.application_ids)
    apps = []
    for app_id in drnd.application_ids:
        if only and app_id != only:
            continue
        missing = drnd.k - active[app_id]
        if missing <= 0:
            continue
        c = cands[app_id]
        form = (c.snapshot.get("application") or {}).get("form") or {}
        text = " ".join(str(v) for v in (c.title, form.get("field"), form.get("theme"), form.get("specialty"),
                                         form.get("summary"), form.get("service_content")) if v)
        apps.append({"id": app_id, "unit_id": c.unit_id, "league_city_code": c.league_city_code,
                     "text": text[:2000], "wanted": missing})
    return {"applications": apps, "per_application": drnd.k,
            "exclude": [[a.reviewer_id, a.application_id] for a in made],
            "loads": dict(Counter(a.reviewer_id for a in made if a.active)), "load_cap": row.load_cap}


def _remember_reviewers(session, matches: list[dict], now: dt.datetime) -> None:
    for m in matches:
        r = m["reviewer"]
        row = session.get(Reviewer, r["expert_id"])
        if row is None:
            row = Reviewer(expert_id=r["expert_id"])
            session.add(row)
        row.user_id, row.name = r.get("user_id"), r.get("name") or r["expert_id"]
        row.unit_id, row.league_city_code = r.get("unit_id"), r.get("league_city_code")
        row.email, row.mobile, row.updated_at = r.get("email"), r.get("mobile"), now
    session.flush()


def assign_from_proposal(uow, actor: Actor, round_id: str, proposal: dict, now: dt.datetime,
                         only: str | None = None, new_id: Callable[[], str] | None = None) -> dict:
    """Store the experts service's proposal after the domain checked every rule; report what stays unmet.

    Only applications the proposal covers completely are assigned (a half-covered application would
    fail the k-reviewers rule); the others are reported with the experts service's reason.
    """
    s = uow.session
    row = _get(s, Round, round_id, "round_not_found", "评审轮次不存在", lock=True)
    drnd = round_domain(s, row)
    matches = proposal.get("matches") or []
    _remember_reviewers(s, matches, now)
    made = assignments_of(s, row.id)
    active = Counter(a.application_id for a in made if a.active)
    offered = Counter(m["application_id"] for m in matches)
    covered = [a for a in drnd.application_ids if (not only or a == only)
               and active[a] < drnd.k and active[a] + offered[a] >= drnd.k]
    pairs = [m for m in matches if m["application_id"] in covered]
    cands = candidates_of(s, row, drnd.application_ids)
    facts = {a: _facts(c) for a, c in cands.items()}
    reviewers = {r.expert_id: ReviewerFacts(r.expert_id, r.unit_id, r.league_city_code)
                 for r in s.scalars(sa.select(Reviewer).where(
                     Reviewer.expert_id.in_({m["expert_id"] for m in pairs} | {a.reviewer_id for a in made})))}
    kwargs = {"new_id": new_id} if new_id else {}
    new = dassign.assign(drnd, [(m["application_id"], m["expert_id"]) for m in pairs], facts, reviewers, made,
                         now, cover=covered, **kwargs)
    by_pair = {(m["application_id"], m["expert_id"]): m for m in pairs}
    out = []
    for a in new:
        m = by_pair[(a.application_id, a.reviewer_id)]
        s.add(Assignment(id=a.id, round_id=row.id, application_id=a.application_id, reviewer_id=a.reviewer_id,
                         status=a.status, assigned_at=now, fit=m.get("fit"), explanation=m.get("explanation") or {}))
        reviewer = s.get(Reviewer, a.reviewer_id)
        uow.publish("reviewer_assigned", {
            **_round_event_payload(s, row), "application": _application_summary(cands[a.application_id]),
            "reviewer": _reviewer_summary(reviewer),
            "recipients": {"unit_contacts": [], "user_ids": [reviewer.user_id] if reviewer.user_id else []}})
        out.append({"assignment_id": a.id, "application_id": a.application_id, "reviewer_id": a.reviewer_id,
                    "fit": m.get("fit"), "explanation": m.get("explanation")})
    asked = [a for a in drnd.application_ids if (not only or a == only) and active[a] < drnd.k]
    unmet = [u for u in proposal.get("unmet") or [] if u.get("application_id") not in covered]
    for a in asked:
        if a not in covered and not any(u.get("application_id") == a for u in unmet):
            unmet.append({"application_id": a, "missing": drnd.k - active[a] - offered[a],
                          "reason": "专家库中符合回避与负荷要求的评审专家不足"})
    if new:
        record(uow, "assign", actor, now, "round", row.id, round_id=row.id,
               what={"assigned": len(new), "applications": covered, "unmet": unmet})
    return {"assigned": out, "unmet": unmet}


def _application_summary(c: Candidate) -> dict:
    a = c.snapshot.get("application") or {}
    return {"id": c.application_id, "title": c.title, "programme_code": c.programme_code,
            "programme_name": a.get("programme_name") or programme_label(c.programme_code), "unit_id": c.unit_id,
            "unit_name": c.unit_name, "league_city_code": c.league_city_code}


def _reviewer_summary(r: Reviewer) -> dict:
    return {"id": r.expert_id, "name": r.name, "email": r.email, "mobile": r.mobile, "user_id": r.user_id}


def _assignment_row(session, assignment_id: str, lock: bool = False) -> Assignment:
    return _get(session, Assignment, assignment_id, "assignment_not_found", "评审任务不存在", lock=lock)


def _reviewer_of(session, actor: Actor) -> Reviewer:
    actor.require(*REVIEWER_ROLES)
    row = session.scalar(sa.select(Reviewer).where(Reviewer.user_id == actor.id))
    if row is None:
        raise NotFound("reviewer_not_found", "您尚未被分配任何评审任务", {"user_id": actor.id})
    return row


def declare_conflict(uow, actor: Actor, assignment_id: str, reason: str, now: dt.datetime) -> dict:
    """The reviewer (or an officer for them) declares a conflict; the declaration is kept."""
    actor.require(*OFFICERS, *REVIEWER_ROLES)
    s = uow.session
    a = _assignment_row(s, assignment_id)
    row = _get(s, Round, a.round_id, "round_not_found", "评审轮次不存在", lock=True)
    a = _assignment_row(s, assignment_id, lock=True)
    if actor.role in REVIEWER_ROLES:
        me = _reviewer_of(s, actor)
        reviewer_id, role = me.expert_id, "reviewer"
    else:
        reviewer_id, role = actor.id, "programme_officer"
    made = assignments_of(s, row.id)
    declared, request = dassign.declare_conflict(round_domain(s, row), _to_assignment(a), made, reviewer_id, role,
                                                 reason, now)
    _store_assignments(s, [declared])
    record(uow, "declare_conflict", actor, now, "assignment", a.id, round_id=row.id, application_id=a.application_id,
           why=declared.conflict_reason, what={"reviewer_id": a.reviewer_id,
                                               "excluded": list(request.excluded_reviewer_ids)})
    return {"assignment": assignment_dict(s, a), "replacement_request": request.to_dict()}


def assignment_dict(session, a: Assignment, with_sheet: bool = False, sheets: dict | None = None) -> dict:
    out = {"id": a.id, "round_id": a.round_id, "application_id": a.application_id, "reviewer_id": a.reviewer_id,
           "status": a.status, "fit": a.fit, "explanation": a.explanation, "assigned_at": _iso(a.assigned_at),
           "conflict_reason": a.conflict_reason, "conflict_declared_by": a.conflict_declared_by,
           "conflict_declared_at": _iso(a.conflict_declared_at), "cancelled_at": _iso(a.cancelled_at),
           "cancel_reason": a.cancel_reason}
    if with_sheet:
        sheet = sheets.get(a.id) if sheets is not None else \
            session.scalar(sa.select(ScoreSheet).where(ScoreSheet.assignment_id == a.id))
        out["sheet"] = None if sheet is None else sheet_dict(sheet)
    return out


def sheet_dict(x: ScoreSheet) -> dict:
    return {"assignment_id": x.assignment_id, "application_id": x.application_id, "reviewer_id": x.reviewer_id,
            "scores": x.scores, "comments": x.comments, "weighted_total": x.weighted_total, "revision": x.revision,
            "submitted_at": _iso(x.submitted_at)}


def list_assignments(session, actor: Actor, filters: dict) -> list[dict]:
    """Officers see a round's assignments; a reviewer sees only their own, with what they need to score."""
    q = sa.select(Assignment).order_by(Assignment.assigned_at, Assignment.id)
    if actor.role in REVIEWER_ROLES:
        me = _reviewer_of(session, actor)
        q = q.where(Assignment.reviewer_id == me.expert_id, Assignment.status == "active")
    else:
        actor.require(*READERS)
    for key in ("round_id", "application_id", "reviewer_id", "status"):
        if filters.get(key):
            q = q.where(getattr(Assignment, key) == filters[key])
    rows = list(session.scalars(q))
    out = []
    round_rows = {r.id: r for r in session.scalars(sa.select(Round).where(Round.id.in_({a.round_id for a in rows})))}
    cands = {c.application_id: c for c in session.scalars(
        sa.select(Candidate).where(Candidate.application_id.in_({a.application_id for a in rows})))}
    sheets = {x.assignment_id: x for x in session.scalars(
        sa.select(ScoreSheet).where(ScoreSheet.assignment_id.in_([a.id for a in rows])))} if rows else {}
    for a in rows:
        d = assignment_dict(session, a, with_sheet=True, sheets=sheets)
        c, r = cands.get(a.application_id), round_rows[a.round_id]
        d["application"] = _application_summary(c) if c else {"id": a.application_id}
        if actor.role in REVIEWER_ROLES and c is not None:
            d["application"]["form"] = (c.snapshot.get("application") or {}).get("form") or {}
        d["round"] = {"id": r.id, "name": r.name, "state": r.state, "close_at": _iso(r.close_at)}
        d["rubric"] = r.rubric
        out.append(d)
    return out


def submit_score(uow, actor: Actor, assignment_id: str, data: dict, now: dt.datetime) -> dict:
    s = uow.session
    me = _reviewer_of(s, actor)
    a = _assignment_row(s, assignment_id)
    if a.reviewer_id != me.expert_id:
        raise Forbidden("not_your_assignment", "只能为分配给本人的项目评分", {"assignment_id": assignment_id})
    row = _get(s, Round, a.round_id, "round_not_found", "评审轮次不存在", lock=True)
    a = _assignment_row(s, assignment_id, lock=True)
    existing = s.scalar(sa.select(ScoreSheet).where(ScoreSheet.assignment_id == a.id))
    previous = None if existing is None else rubrics.ScoreSheet(
        application_id=existing.application_id, reviewer_id=existing.reviewer_id, scores={}, revision=existing.revision)
    rubric = _rubric(row)
    sheet = rubrics.submit_score(round_domain(s, row), _to_assignment(a), rubric, me.expert_id,
                                 data.get("scores") or {}, data.get("comments") or {}, now, previous=previous)
    total = rubrics.weighted_total(rubric, sheet.scores)
    if existing is None:
        existing = ScoreSheet(assignment_id=a.id, round_id=row.id, application_id=a.application_id,
                              reviewer_id=me.expert_id)
        s.add(existing)
    existing.scores = {k: str(v) for k, v in sheet.scores.items()}
    existing.comments, existing.weighted_total = dict(sheet.comments), str(total)
    existing.revision, existing.submitted_at = sheet.revision, now
    s.flush()
    record(uow, "score", actor, now, "assignment", a.id, round_id=row.id, application_id=a.application_id,
           what={"revision": sheet.revision, "weighted_total": str(total)})
    uow.publish("score_submitted", {**_round_event_payload(s, row), "reviewer": {"id": me.expert_id},
                                    "application": {"id": a.application_id}, "revision": sheet.revision,
                                    "recipients": {"unit_contacts": [], "user_ids": []}})
    return sheet_dict(existing)


def progress(session, actor: Actor, round_id: str) -> dict:
    actor.require(*READERS)
    row = _get(session, Round, round_id, "round_not_found", "评审轮次不存在")
    drnd = round_domain(session, row)
    made, sheets = assignments_of(session, row.id), _sheets(session, row.id)
    names = {r.expert_id: r.name for r in session.scalars(sa.select(Reviewer))}
    return {"round_id": row.id,
            "reviewers": [p.to_dict() | {"name": names.get(p.reviewer_id)}
                          for p in completion.reviewer_progress(made, sheets).values()],
            "applications": [p.to_dict() for p in
                             completion.application_progress(drnd.application_ids, drnd.k, made, sheets).values()]}


# --- ranking and selection --------------------------------------------------------------------------

def compute_ranking(session, row: Round, drnd: rounds.ReviewRound | None = None,
                    cands: dict[str, Candidate] | None = None) -> list[ranking.RankedApplication]:
    """The round's ranking; callers that already read the round's domain value or candidates pass them."""
    drnd = drnd or round_domain(session, row)
    made, sheets = assignments_of(session, row.id), _sheets(session, row.id)
    used = ranking.sheets_for_ranking(made, sheets)
    cands = cands if cands is not None else candidates_of(session, row, drnd.application_ids)
    entries = [ranking.RankingEntry(a, [x for x in used if x.application_id == a], cands[a].submitted_at,
                                    _facts(cands[a]).service_places) for a in drnd.application_ids]
    return ranking.rank_applications(_rubric(row), entries, drnd.k, priority_list(session),
                                     priority.BonusPolicy.from_dict(row.bonus_policy))


def ranking_view(session, actor: Actor, round_id: str) -> dict:
    actor.require(*READERS)
    row = _get(session, Round, round_id, "round_not_found", "评审轮次不存在")
    if row.state in ("draft", "open"):
        raise Conflict("round_not_closed", "评审结束后才能查看排名", {"round_id": row.id, "state": row.state})
    drnd = round_domain(session, row)
    cands = candidates_of(session, row, drnd.application_ids)
    ranked = compute_ranking(session, row, drnd, cands)
    return {"round_id": row.id, "caps": row.caps, "selection_keys": row.selection_keys,
            "bonus_policy": row.bonus_policy or {},
            "ranking": [r.explain() | {"title": cands[r.application_id].title,
                                       "unit_name": cands[r.application_id].unit_name,
                                       "league_city_code": cands[r.application_id].league_city_code}
                        for r in ranked]}


def _caps(row: Round) -> selection.ProgrammeCaps:
    return selection.caps_from_definition(row.programme_code, {"caps": row.caps})


def _proposal_domain(p: SelectionProposal) -> selection.SelectionProposal:
    return selection.SelectionProposal(
        id=p.id, round_id=p.round_id, proposed_by=p.proposed_by, proposed_at=p.proposed_at, note=p.note,
        status=p.status, decided_by=p.decided_by, decided_at=p.decided_at, decision_reason=p.decision_reason,
        lines=tuple(selection.OutcomeLine(x["application_id"], x["outcome"], x.get("reason")) for x in p.lines))


def proposal_dict(p: SelectionProposal) -> dict:
    return {"id": p.id, "round_id": p.round_id, "lines": p.lines, "proposed_by": p.proposed_by,
            "proposed_at": _iso(p.proposed_at), "note": p.note, "status": p.status, "decided_by": p.decided_by,
            "decided_at": _iso(p.decided_at), "decision_reason": p.decision_reason, "ranking": p.ranking}


def propose_selection(uow, actor: Actor, round_id: str, data: dict, now: dt.datetime, proposal_id: str) -> dict:
    actor.require("programme_officer")
    s = uow.session
    row = _get(s, Round, round_id, "round_not_found", "评审轮次不存在", lock=True)
    raw = data.get("lines")
    if not isinstance(raw, list):
        raise ValidationFailed("selection_invalid", "遴选方案须逐项列出每个申报项目的结果",
                               [{"path": "lines", "code": "required", "message": "请列出遴选结果"}])
    lines, problems = [], []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append({"path": f"lines[{i}]", "code": "invalid", "message": "遴选结果格式不正确"})
            continue
        amount = None
        if item.get("amount") not in (None, ""):
            if item.get("outcome") != selection.SELECTED or row.programme_code in UNFUNDED_PROGRAMMES:
                problems.append({"path": f"lines[{i}].amount", "code": "amount_not_applicable",
                                 "message": "只有确定入选的资助项目才能填写资助金额"})
            else:
                try:
                    amount = _amount(item["amount"], f"lines[{i}].amount")
                except ValidationFailed as exc:
                    problems += exc.details
        lines.append({"application_id": item.get("application_id"), "outcome": item.get("outcome"),
                      "reason": (item.get("reason") or "").strip() or None, "amount": amount})
    if problems:
        raise ValidationFailed("selection_invalid", f"遴选方案有 {len(problems)} 处问题", problems)
    current = round_domain(s, row)
    ranked = compute_ranking(s, row, current)
    proposal, drnd = selection.propose_selection(current, proposal_id, lines, ranked, _caps(row),
                                                 actor.id, now, data.get("note"))
    p = SelectionProposal(id=proposal.id, round_id=row.id, lines=lines, ranking=[r.explain() for r in ranked],
                          proposed_by=actor.id, proposed_at=now, note=proposal.note, status=proposal.status)
    s.add(p)
    row.state = drnd.state.value
    counts = Counter(x["outcome"] for x in lines)
    record(uow, "propose_selection", actor, now, "proposal", p.id, round_id=row.id, why=proposal.note,
           what={"counts": dict(counts), "lines": lines})
    return proposal_dict(p)


def _pending_proposal(s, proposal_id: str) -> tuple[SelectionProposal, Round]:
    p = _get(s, SelectionProposal, proposal_id, "proposal_not_found", "遴选方案不存在")
    row = _get(s, Round, p.round_id, "round_not_found", "评审轮次不存在", lock=True)
    return _get(s, SelectionProposal, proposal_id, "proposal_not_found", "遴选方案不存在", lock=True), row


def approve_selection(uow, actor: Actor, proposal_id: str, reason: str | None, now: dt.datetime) -> dict:
    """A second programme officer approves; the proposer never can (also not through a direct RPC)."""
    actor.require("programme_officer")
    s = uow.session
    p, row = _pending_proposal(s, proposal_id)
    approved, drnd = selection.approve_selection(round_domain(s, row), _proposal_domain(p), actor.id, now, reason)
    p.status, p.decided_by, p.decided_at, p.decision_reason = (approved.status, approved.decided_by,
                                                               approved.decided_at, approved.decision_reason)
    row.state = drnd.state.value
    record(uow, "approve_selection", actor, now, "proposal", p.id, round_id=row.id, why=approved.decision_reason,
           what={"proposed_by": p.proposed_by})
    return proposal_dict(p)


def reject_selection(uow, actor: Actor, proposal_id: str, reason: str, now: dt.datetime) -> dict:
    actor.require("programme_officer")
    s = uow.session
    p, row = _pending_proposal(s, proposal_id)
    rejected, drnd = selection.reject_selection(round_domain(s, row), _proposal_domain(p), actor.id, now, reason)
    p.status, p.decided_by, p.decided_at, p.decision_reason = (rejected.status, rejected.decided_by,
                                                               rejected.decided_at, rejected.decision_reason)
    row.state = drnd.state.value
    record(uow, "reject_selection", actor, now, "proposal", p.id, round_id=row.id, why=rejected.decision_reason)
    return proposal_dict(p)


def list_proposals(session, actor: Actor, round_id: str) -> list[dict]:
    actor.require(*READERS)
    return [proposal_dict(p) for p in session.scalars(
        sa.select(SelectionProposal).where(SelectionProposal.round_id == round_id)
        .order_by(SelectionProposal.proposed_at))]


def _funding(programme: str, outcome: str, amount: str | None, source: str) -> dict | None:
    if programme in UNFUNDED_PROGRAMMES:
        return None
    return {"amount": amount, "source": source}


def publish_selection(uow, actor: Actor, round_id: str, now: dt.datetime) -> dict:
    """Publish the approved selection: one event per application, carrying what consumers need."""
    actor.require("programme_officer")
    s = uow.session
    row = _get(s, Round, round_id, "round_not_found", "评审轮次不存在", lock=True)
    p = s.scalar(sa.select(SelectionProposal).where(SelectionProposal.round_id == row.id,
                                                    SelectionProposal.status == selection.APPROVED)
                 .order_by(SelectionProposal.decided_at.desc()))
    if p is None or row.state != rounds.RoundState.SELECTION_APPROVED.value:
        raise Conflict("selection_not_approved", "遴选方案经另一位处室人员批准后才能公布",
                       {"round_id": row.id, "state": row.state})
    drnd = round_domain(s, row)
    cands = candidates_of(s, row, drnd.application_ids)
    ranked = compute_ranking(s, row, drnd, cands)
    published, events = selection.publish_selection(drnd, _proposal_domain(p), ranked,
                                                    {a: _facts(c) for a, c in cands.items()}, now)
    amounts = {x["application_id"]: x.get("amount") for x in p.lines}
    call = s.get(ReviewCall, row.call_id)
    for ev in events:
        d = ev["payload"]
        c = cands[d["application_id"]]
        outcome = d["outcome"]
        c.status, c.updated_at = outcome, now
        payload = {
            "call": call.summary if call else c.snapshot.get("call"),
            "application": {**(c.snapshot.get("application") or {}), "status": outcome},
            "recipients": c.snapshot.get("recipients") or {},
            "round": {"id": row.id, "name": row.name}, "outcome": outcome, "outcome_label": d["outcome_label"],
            "selection": row.selection_keys.get(outcome), "rank": d["rank"], "score": d["score"],
            "base_score": d["base_score"], "bonus": d["bonus"], "complete": d["complete"], "reason": d["reason"],
            "decision": {"id": p.id, "proposed_by": p.proposed_by, "approved_by": p.decided_by,
                         "approved_at": _iso(p.decided_at)},
            "funding": _funding(row.programme_code, outcome, amounts.get(c.application_id), "department")
            if outcome == selection.SELECTED else None,
        }
        uow.publish(ev["type"], payload)
    row.state, row.published_at = published.state.value, now
    record(uow, "publish", actor, now, "round", row.id, round_id=row.id,
           what={"proposal_id": p.id, "events": Counter(e["type"] for e in events)})
    return round_dict(s, row)


# --- ministry outcomes ------------------------------------------------------------------------------

def _published_context(s, application_id: str):
    c = _get(s, Candidate, application_id, "candidate_not_found", "评审中没有这份申报材料")
    row = _round_for(s, c.call_id, c.programme_code, lock=True)
    if row is None:
        raise Conflict("round_not_published", "评审结果公布后才能登记人力资源社会保障部的决定", {"application_id": application_id})
    p = s.scalar(sa.select(SelectionProposal).where(SelectionProposal.round_id == row.id,
                                                    SelectionProposal.status == selection.APPROVED)
                 .order_by(SelectionProposal.decided_at.desc()))
    return c, row, p


def _decided_on(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _ministry_payload(s, c: Candidate, decision: MinistryDecision, domain_payload: dict) -> dict:
    call = s.get(ReviewCall, c.call_id)
    funded = decision.approved and c.programme_code not in UNFUNDED_PROGRAMMES
    return {"call": call.summary if call else c.snapshot.get("call"),
            "application": c.snapshot.get("application") or {"id": c.application_id},
            "recipients": c.snapshot.get("recipients") or {},
            "approved": decision.approved, "doc_ref": decision.document_ref,
            "document_ref": decision.document_ref, "decided_on": decision.decided_on.isoformat(),
            # 1 for the decision, +1 per correction: consumers apply a decision only if it is newer than the
            # last one they applied (a retried delivery can arrive after its own correction)
            "revision": 1 + len(decision.corrections or []),
            "correction": domain_payload["correction"], "correction_reason": domain_payload["correction_reason"],
            "previous": domain_payload["previous"], "round": {"id": decision.round_id},
            "funding": {"amount": decision.amount, "source": "ministry"} if funded else None}


def ministry_dict(m: MinistryDecision) -> dict:
    return {"application_id": m.application_id, "round_id": m.round_id, "approved": m.approved,
            "document_ref": m.document_ref, "decided_on": m.decided_on.isoformat(), "amount": m.amount,
            "recorded_by": m.recorded_by, "recorded_at": _iso(m.recorded_at), "corrections": m.corrections}


def _to_ministry(m: MinistryDecision) -> ministry.MinistryDecision:
    return ministry.MinistryDecision(round_id=m.round_id, application_id=m.application_id, approved=m.approved,
                                     document_ref=m.document_ref, decided_on=m.decided_on,
                                     recorded_by=m.recorded_by, recorded_at=m.recorded_at,
                                     corrections=tuple(m.corrections))


def record_ministry_decision(uow, actor: Actor, application_id: str, data: dict, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    c, row, p = _published_context(s, application_id)
    if p is None:
        raise Conflict("round_not_published", "评审结果公布后才能登记人力资源社会保障部的决定", {"round_id": row.id})
    amount = _amount(data.get("amount"), "amount")
    existing = s.get(MinistryDecision, application_id, with_for_update=True)
    decision, event = ministry.record_ministry_decision(
        round_domain(s, row), _proposal_domain(p), application_id, None if existing is None else _to_ministry(existing),
        data.get("approved"), data.get("document_ref"), _decided_on(data.get("decided_on")), actor.id, now, _facts(c))
    m = MinistryDecision(application_id=application_id, round_id=row.id, approved=decision.approved,
                         document_ref=decision.document_ref, decided_on=decision.decided_on, amount=amount,
                         recorded_by=actor.id, recorded_at=now, corrections=[])
    s.add(m)
    record(uow, "ministry_decision", actor, now, "application", application_id, round_id=row.id,
           application_id=application_id, what=ministry_dict(m))
    uow.publish("ministry_decided", _ministry_payload(s, c, m, event["payload"]))
    return ministry_dict(m)


def correct_ministry_decision(uow, actor: Actor, application_id: str, data: dict, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    c, row, _ = _published_context(s, application_id)
    m = _get(s, MinistryDecision, application_id, "ministry_decision_not_found", "该项目尚未登记人力资源社会保障部的决定",
             lock=True)
    amount = _amount(data.get("amount"), "amount") if "amount" in data else m.amount
    corrected, event = ministry.correct_ministry_decision(
        round_domain(s, row), _to_ministry(m), data.get("approved"), data.get("document_ref"),
        _decided_on(data.get("decided_on")), actor.id, now, data.get("reason"), _facts(c))
    m.approved, m.document_ref, m.decided_on = corrected.approved, corrected.document_ref, corrected.decided_on
    m.recorded_by, m.recorded_at, m.corrections, m.amount = actor.id, now, list(corrected.corrections), amount
    record(uow, "ministry_decision_correction", actor, now, "application", application_id, round_id=row.id,
           application_id=application_id, why=corrected.corrections[-1]["reason"], what=ministry_dict(m))
    uow.publish("ministry_decided", _ministry_payload(s, c, m, event["payload"]))
    return ministry_dict(m)


# --- outcomes for units -----------------------------------------------------------------------------

def outcome(session, actor: Actor, application_id: str) -> dict:
    """A unit's own outcome, once published; never anyone else's scores."""
    c = _get(session, Candidate, application_id, "candidate_not_found", "评审中没有这份申报材料")
    actor.require(*READERS, "applicant_unit")
    actor.require_unit(c.unit_id)
    row = _round_for(session, c.call_id, c.programme_code)
    published = row is not None and row.state == rounds.RoundState.PUBLISHED.value
    out = {"application_id": c.application_id, "title": c.title, "published": published,
           "status": c.status if published or c.status in GONE else "in_review"}
    if published:
        label = selection.OUTCOME_LABELS.get(c.status)
        out.update({"outcome": c.status, "outcome_label": label, "published_at": _iso(row.published_at),
                    "selection": row.selection_keys.get(c.status)})
        m = session.get(MinistryDecision, application_id)
        if m is not None:
            out["ministry"] = {"approved": m.approved, "document_ref": m.document_ref,
                               "decided_on": m.decided_on.isoformat()}
    return out


def list_candidates(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(Candidate).order_by(Candidate.submitted_at, Candidate.application_id)
    for key in ("call_id", "programme_code", "status", "unit_id"):
        if filters.get(key):
            q = q.where(getattr(Candidate, key) == filters[key])
    rows = list(session.scalars(q))
    histories = _histories(session, {c.unit_id for c in rows})
    return [candidate_dict(c) | {"post_evaluation": histories.get(c.unit_id) or post_evaluation.summarise_history([])}
            for c in rows]


def candidate_dict(c: Candidate) -> dict:
    return {"application_id": c.application_id, "call_id": c.call_id, "programme_code": c.programme_code,
            "unit_id": c.unit_id, "unit_name": c.unit_name, "league_city_code": c.league_city_code,
            "title": c.title, "status": c.status, "submitted_at": _iso(c.submitted_at),
            "service_places": c.service_places}


# --- post-evaluation --------------------------------------------------------------------------------

def _to_post(e: PostEvaluation) -> post_evaluation.PostEvaluation:
    return post_evaluation.PostEvaluation(
        report_id=e.report_id, application_id=e.application_id, unit_id=e.unit_id, programme=e.programme_code,
        year=e.year, scores={k: Decimal(v) for k, v in e.scores.items()}, comments=e.comments,
        total=Decimal(e.total), grade=e.grade, evaluated_by=e.evaluated_by, evaluated_at=e.evaluated_at,
        remark=e.remark)


def _histories(session, unit_ids: set[str]) -> dict[str, dict]:
    by_unit: dict[str, list] = {}
    for e in session.scalars(sa.select(PostEvaluation).where(PostEvaluation.unit_id.in_(unit_ids))):
        by_unit.setdefault(e.unit_id, []).append(_to_post(e))
    return {u: post_evaluation.summarise_history(items) for u, items in by_unit.items()}


def evaluate(uow, actor: Actor, application_id: str, data: dict, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    report = s.get(FiledReport, application_id)
    if s.scalar(sa.select(PostEvaluation.id).where(PostEvaluation.application_id == application_id)):
        raise Conflict("already_evaluated", "该项目已完成后评估", {"application_id": application_id})
    unit_id = report.unit_id if report else ""
    result = post_evaluation.evaluate_implementation(
        rubrics.load_default_rubric("post_evaluation"), report_id=report.report_id if report else application_id,
        report_filed=report is not None, application_id=application_id, unit_id=unit_id,
        programme=report.programme_code if report else "", year=report.year if report else 0,
        scores=data.get("scores") or {}, comments=data.get("comments") or {}, evaluator=actor.id, now=now,
        remark=data.get("remark"))
    e = PostEvaluation(application_id=application_id, report_id=result.report_id, unit_id=unit_id,
                       programme_code=result.programme, year=result.year,
                       scores={k: str(v) for k, v in result.scores.items()}, comments=dict(result.comments),
                       total=str(result.total), grade=result.grade, remark=result.remark, evaluated_by=actor.id,
                       evaluated_at=now)
    s.add(e)
    record(uow, "post_evaluation", actor, now, "application", application_id, application_id=application_id,
           what={"total": str(result.total), "grade": result.grade})
    return result.to_dict()


def unit_history(session, actor: Actor, unit_id: str) -> dict:
    actor.require(*READERS, "applicant_unit")
    actor.require_unit(unit_id)
    return _histories(session, {unit_id}).get(unit_id) or post_evaluation.summarise_history([])


def list_reports(session, actor: Actor, filters: dict) -> list[dict]:
    actor.require(*READERS)
    q = sa.select(FiledReport).order_by(FiledReport.filed_at)
    if filters.get("unit_id"):
        q = q.where(FiledReport.unit_id == filters["unit_id"])
    done = {e.application_id: e for e in session.scalars(sa.select(PostEvaluation))}
    return [{"application_id": r.application_id, "report_id": r.report_id, "unit_id": r.unit_id,
             "programme_code": r.programme_code, "year": r.year, "filed_at": _iso(r.filed_at),
             "title": (r.snapshot.get("application") or {}).get("title"),
             "evaluation": _to_post(done[r.application_id]).to_dict() if r.application_id in done else None}
            for r in session.scalars(q)]


# --- priority regions -------------------------------------------------------------------------------

def get_priority_list(session, actor: Actor) -> dict:
    actor.require(*READERS)
    row = session.scalar(sa.select(PriorityListRow).where(PriorityListRow.current.is_(True)))
    plist = priority_list(session)
    return {"source": plist.source, "version": plist.version, "shipped_default": row is None,
            "updated_by": row.updated_by if row else None, "updated_at": _iso(row.updated_at) if row else None,
            "counties": [{"county": c.county, "league_code": c.league_code, "categories": list(c.categories)}
                         for c in plist.counties]}


def put_priority_list(uow, actor: Actor, data: dict, now: dt.datetime) -> dict:
    actor.require(*OFFICERS)
    s = uow.session
    priority.priority_list_from_dict(data)
    for old in s.scalars(sa.select(PriorityListRow).where(PriorityListRow.current.is_(True)).with_for_update()):
        old.current = False
    s.add(PriorityListRow(data=data, current=True, updated_by=actor.id, updated_at=now))
    s.flush()
    record(uow, "configure_round", actor, now, "priority_list", "current",
           what={"counties": len(data.get("counties") or []), "version": data.get("version")},
           why="更新优先支持地区名单")
    return get_priority_list(s, actor)


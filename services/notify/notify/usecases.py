"""Notify use cases: learn facts from events, turn events into stored messages, deliver, and answer queries.

They take a ``UnitOfWork`` (or a read-only session), plain data and a ``Directory`` (who holds a role, who
belongs to a unit: the gateway's users, asked by RPC). Routing, rendering, retry and reminder rules are the
pure domain's (``notify.domain``); this module only stores and loads. No Nameko here.

The flow of an event: ``enrich`` (fill what a thin payload lacks from the facts notify learnt earlier, add
the unit's users to the people concerned) -> ``plan`` (the domain's ``route``: one ``MessageIntent`` per
person and channel, each with its dedup key) -> ``store`` (one ``Message`` row per intent, inserted only if
its dedup key is new; in-app messages are delivered by being stored) -> the delivery worker claims due
e-mail/SMS rows (``claim_due``), sends them and records the outcome (``record_outcome``).

A batch of events (``batch_event_handler``) costs a few statements, not a few per event: ``Facts`` reads the
facts all of them need in one SELECT per table, ``learn_many`` creates, locks and changes the fact rows of the
whole batch, ``store_many`` inserts all their messages in one statement.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa

from grassroots.context import Actor
from grassroots.db import insert_ignore_many, row_params, utcnow
from grassroots.errors import NotFound, ValidationFailed
from grassroots.logging import get_logger

from .domain import CHANNELS, DEFAULT_CHANNELS, EMAIL, INAPP, SMS, MessageIntent, Preferences, Recipient, route
from .domain import reminders as rem
from .domain.masking import mask_address, mask_text
from .domain.retry import FAILED, PENDING, RETRYING, SENT, AttemptOutcome
from .domain.routing import recipients_for
from .models import ApplicationFact, AssignmentFact, CallFact, Message, Preference, ReminderRun, RoundFact

log = get_logger("notify")

SENDING = "sending"      # leased to one delivery worker
SKIPPED = "skipped"      # the channel is not configured: recorded, visible, not sent
DUE_STATUSES = (PENDING, RETRYING, SENDING)
LOG_READERS = ("programme_officer", "intake_clerk", "admin", "auditor")

# What an event tells notify about the application's state (kept for reminders and the log).
APPLICATION_STATUS = {
    "application_submitted": "submitted", "application_withdrawn": "withdrawn",
    "application_forfeited": "forfeited", "application_received": "received",
    "application_selected": "selected", "application_not_selected": "not_selected",
    "application_recommended_to_ministry": "recommended",
}


def _utc(value) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# the directory (gateway users over RPC), cached per process for a short time ------------------------------
class DirectoryCache:
    """Answers of the gateway's directory kept for ``ttl`` seconds, shared by every worker of the process.

    Every event about an application asks who the officers are; without this cache each event costs the
    gateway two or three RPCs and database queries (measured: a third of the gateway's time under the
    submission benchmark). The price is that a user created or re-roled within the last ``ttl`` seconds
    may miss a role-wide message; people named in an event (unit contacts, user ids) are unaffected.
    ``ttl`` 0 turns caching off.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] | None = None):
        import time
        self.ttl = ttl
        self._clock = clock or time.monotonic
        self._entries: dict[tuple, tuple[float, object]] = {}

    def get(self, key: tuple, fetch: Callable[[], object]):
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = fetch()
        if self.ttl > 0:
            self._entries[key] = (now, value)
        return value


class Directory:
    """Who holds a role, who belongs to a unit, one user's addresses; asked once per worker and, with a
    ``DirectoryCache``, once per process per ``ttl``."""

    def __init__(self, users_with_role: Callable[[str], list], users_of_unit: Callable[[str], list],
                 user: Callable[[str], dict | None], cache: DirectoryCache | None = None):
        cache = cache or DirectoryCache(0)
        self._with_role = lambda role: cache.get(("role", role), lambda: list(users_with_role(role) or []))
        self._of_unit = lambda unit: cache.get(("unit", unit), lambda: list(users_of_unit(unit) or []))
        self._user = lambda uid: cache.get(("user", uid), lambda: user(uid))
        self._roles: dict[str, list] = {}
        self._units: dict[str, list] = {}
        self._users: dict[str, dict | None] = {}

    def users_with_role(self, role: str) -> list[dict]:
        if role not in self._roles:
            self._roles[role] = list(self._with_role(role))
            for u in self._roles[role]:
                self._users.setdefault(str(u["user_id"]), u)
        return self._roles[role]

    def users_of_unit(self, unit_id: str) -> list[dict]:
        if unit_id not in self._units:
            self._units[unit_id] = list(self._of_unit(unit_id))
            for u in self._units[unit_id]:
                self._users.setdefault(str(u["user_id"]), u)
        return self._units[unit_id]

    def user(self, user_id: str) -> dict | None:
        if user_id not in self._users:
            self._users[user_id] = self._user(user_id)
        return self._users[user_id]


# facts learnt from events ----------------------------------------------------------------------------------
def _application_id(payload: Mapping) -> str | None:
    app = payload.get("application") or {}
    budget = payload.get("budget") or {}
    return app.get("id") or budget.get("application_id") or payload.get("application_id")


def learn_many(session, envelopes: Iterable[Mapping]) -> None:
    """Keep what later reminders and thin payloads need, from a batch of events, in their order, inside their
    transaction, in a few statements whatever the batch size (``_learn``: per fact table, the rows the batch
    creates are inserted as the events leave them, the rows that were there are locked, changed and updated)."""
    touched = [(envelope, _touched(envelope), utcnow()) for envelope in envelopes]
    for model in _FACTS:   # always in this order, and each table's rows in key order: no deadlock
        _learn(session, model, [(envelope, keys[model], now) for envelope, keys, now in touched if model in keys])
    overdue: dict[str, dict] = {}
    for envelope, _keys, now in touched:
        app_id = _application_id(envelope.get("payload") or {})
        if envelope.get("type") == "report_overdue" and app_id:
            # Intake told people the report is overdue: notify's own overdue reminder would say it twice.
            rid = rem_overdue_id(str(app_id))
            overdue.setdefault(rid, row_params(ReminderRun.__table__, dict(
                reminder_id=rid, reminder_type="report_overdue_reminder", messages=0, created_at=now)))
    if overdue:
        insert_ignore_many(session, ReminderRun.__table__, [overdue[k] for k in sorted(overdue)])


def rem_overdue_id(application_id: str) -> str:
    return f"report_overdue_reminder:{application_id}"


# The fact tables in the order their rows are locked, always the same: no deadlock between replicas.
_FACTS = (CallFact, ApplicationFact, RoundFact, AssignmentFact)


def _touched(envelope: Mapping) -> dict[type, tuple[tuple, dict]]:
    """The fact rows an event changes: model -> (primary key, the values a new row starts with)."""
    etype = envelope.get("type")
    p = envelope.get("payload") or {}
    call = p.get("call") if isinstance(p.get("call"), Mapping) else None
    out: dict[type, tuple[tuple, dict]] = {}
    if etype == "call_opened" and call and call.get("id"):
        out[CallFact] = ((str(call["id"]),), {"summary": {}, "programmes": []})
    app_id = _application_id(p)
    if app_id:
        out[ApplicationFact] = ((str(app_id),), {"application": {}})
    rnd = p.get("round") if isinstance(p.get("round"), Mapping) else None
    if rnd and rnd.get("id") and etype in ("review_round_opened", "reviewer_assigned"):
        out[RoundFact] = ((str(rnd["id"]),), {})
    if etype in ("reviewer_assigned", "score_submitted") and rnd and app_id \
            and isinstance(p.get("reviewer"), Mapping):
        reviewer = dict(p["reviewer"])
        rid = str(reviewer.get("id") or reviewer.get("user_id"))
        # The score may arrive before the assignment (two queues): whichever comes first creates the row.
        out[AssignmentFact] = ((str(rnd["id"]), rid, str(app_id)), {"reviewer": reviewer})
    return out


def _learn(session, model, events: list[tuple[Mapping, tuple[tuple, dict], dt.datetime]]) -> None:
    """Apply ``events`` (each with the key of its ``model`` row and the values a new row starts with) to the rows
    of one fact table, safe when two workers (or two replicas) learn about the same thing at the same moment.

    Each row is first built as if new (its first event's starting values, then every event about it) and
    inserted with ``ON CONFLICT DO NOTHING``, in key order: most events are about something new (a submission,
    a new round), and those rows are written once. A key already there (or inserted meanwhile by another
    transaction, whose insert this one waits for) is then locked with ``SELECT ... FOR UPDATE``, in key order,
    and the batch's events are applied to it as it stands; the ORM writes the change at the flush."""
    if not events:
        return
    table = model.__table__
    cols = list(table.primary_key.columns)
    pk = tuple(c.name for c in cols)
    empty = dict.fromkeys(c.name for c in table.columns)
    fresh: dict[tuple, SimpleNamespace] = {}
    for envelope, (key, new), now in events:
        row = fresh.get(key)
        if row is None:   # the first event about a row is the one that would create it
            row = fresh[key] = SimpleNamespace(**{**empty, **new, **dict(zip(pk, key))})
        _apply(envelope, {model: row}, now)
    values = [row_params(table, {k: v for k, v in vars(fresh[key]).items() if v is not None})
              for key in sorted(fresh)]
    inserted = set(insert_ignore_many(session, table, values, conflict=pk, returning=pk))
    there = [key for key in sorted(fresh) if key not in inserted]
    if not there:
        return
    ident = cols[0] if len(cols) == 1 else sa.tuple_(*cols)
    q = (sa.select(model).where(ident.in_([k[0] if len(cols) == 1 else k for k in there]))
         .order_by(*cols).with_for_update().execution_options(populate_existing=True))
    rows = {tuple(getattr(r, c.key) for c in cols): r for r in session.scalars(q)}
    for envelope, (key, _new), now in events:
        if key in rows:
            _apply(envelope, {model: rows[key]}, now)


def _apply(envelope: Mapping, rows: dict[type, Any], now: dt.datetime) -> None:
    """Change the fact rows (``_touched``, locked) by what one event says."""
    etype = envelope.get("type")
    p = envelope.get("payload") or {}
    call = p.get("call") if isinstance(p.get("call"), Mapping) else None
    fact = rows.get(CallFact)
    if fact is not None:
        fact.summary, fact.deadline = dict(call), _utc(call.get("deadline"))
        fact.programmes, fact.updated_at = list(p.get("programmes") or []), now
    app_id = _application_id(p)
    fact = rows.get(ApplicationFact)
    if fact is not None:
        merged = dict(fact.application or {})
        budget = p.get("budget") or {}
        for key in ("title", "unit_id", "unit_name", "programme_code", "league_city_code"):
            if budget.get(key) and not merged.get(key):
                merged[key] = budget[key]
        merged.update({k: v for k, v in (p.get("application") or {}).items() if v is not None and k != "form"})
        merged["id"] = str(app_id)
        fact.application = merged
        if call:
            fact.call = dict(call)
        fact.call_id = str((call or {}).get("id") or budget.get("call_id") or fact.call_id or "") or None
        fact.unit_id = merged.get("unit_id") or fact.unit_id
        recipients = p.get("recipients") or {}
        if recipients.get("unit_contacts") or recipients.get("user_ids"):
            fact.recipients = dict(recipients)
        fact.status = APPLICATION_STATUS.get(etype, fact.status)
        due = _utc(p.get("report_due_at") or p.get("due_at") or merged.get("report_due_at"))
        if due:
            fact.report_due_at = due
        if etype == "report_filed":
            fact.report_filed_at = _utc(envelope.get("occurred_at")) or now
        fact.updated_at = now
    fact = rows.get(RoundFact)
    if fact is not None:
        rnd = p["round"]
        fact.call = dict(call) if call else fact.call
        fact.name = rnd.get("name") or fact.name
        fact.close_at = _utc(rnd.get("close_at")) or fact.close_at
        fact.updated_at = now
    row = rows.get(AssignmentFact)
    if row is not None and etype == "score_submitted":
        row.scored_at = row.scored_at or now


class Facts:
    """The application and call facts a batch of events needs to be enriched, read on first use with one
    SELECT per table for the whole batch (the ids its events name); an id outside the batch is read alone."""

    def __init__(self, session, envelopes: Iterable[Mapping] = ()):
        self._session = session
        self._payloads = [envelope.get("payload") or {} for envelope in envelopes]
        self._rows: dict[type, dict[str, Any]] = {ApplicationFact: {}, CallFact: {}}

    def application(self, application_id) -> ApplicationFact | None:
        return self._get(ApplicationFact, application_id,
                         lambda: [_application_id(p) for p in self._payloads if isinstance(p, Mapping)])

    def call(self, call_id) -> CallFact | None:
        return self._get(CallFact, call_id, self._call_ids)

    def _call_ids(self) -> list:
        ids = []
        for p in self._payloads:
            if not isinstance(p, Mapping):
                continue
            ids += [_field(p.get("call"), "id"), _field(p.get("budget"), "call_id")]
            app_id = _application_id(p)
            fact = self.application(app_id) if app_id else None
            if fact is not None:
                ids += [fact.call_id, _field(fact.call, "id")]
        return ids

    def _get(self, model, ident, batch_ids: Callable[[], list]):
        ident, rows = str(ident), self._rows[model]
        if ident not in rows:
            wanted = sorted(({str(i) for i in batch_ids() if i} | {ident}) - rows.keys())
            pk = model.__table__.primary_key.columns[0]
            found = {getattr(r, pk.key): r for r in self._session.scalars(sa.select(model).where(pk.in_(wanted)))}
            for key in wanted:
                rows[key] = found.get(key)
        return rows[ident]


def _field(value, key: str):
    return value.get(key) if isinstance(value, Mapping) else None


def enrich(session, envelope: Mapping, facts: Facts | None = None) -> dict:
    """A copy of the event whose payload is filled from the facts notify keeps (``facts``: a ``Facts`` shared
    by a batch of events, read once for all of them).

    Funding's disbursement events carry only the budget and disbursement; the call (with its contact),
    the application summary and the unit contacts come from earlier events about the same application.
    """
    facts = facts or Facts(session, [envelope])
    # A copy of what is changed here and in planning (the payload and its parts), not of the rest: a deep
    # copy of the whole envelope, the application's form included, was a tenth of notify's CPU.
    env = dict(envelope)
    p = dict(env.get("payload") or {})
    env["payload"] = p
    for key in ("application", "call", "recipients", "budget", "disbursement", "unit"):
        if isinstance(p.get(key), Mapping):
            p[key] = dict(p[key])
    app_id = _application_id(p)
    fact = facts.application(app_id) if app_id else None
    budget = p.get("budget") or {}
    disb = p.get("disbursement") or {}
    if app_id:
        app = dict((fact.application if fact else None) or {})
        for key in ("title", "unit_id", "unit_name", "programme_code", "league_city_code"):
            if budget.get(key) and not app.get(key):
                app[key] = budget[key]
        app.update({k: v for k, v in (p.get("application") or {}).items() if v is not None})
        app["id"] = str(app_id)
        p["application"] = app
    if not isinstance(p.get("call"), Mapping) or not p["call"].get("contacts"):
        call = (fact.call if fact else None)
        call_id = (p.get("call") or {}).get("id") or budget.get("call_id") or (fact.call_id if fact else None)
        if not call and call_id:
            cf = facts.call(call_id)
            call = cf.summary if cf else None
        if call:
            p["call"] = {**dict(call), **{k: v for k, v in (p.get("call") or {}).items() if v}}
    app = p.get("application")
    if isinstance(app, dict) and app.get("programme_code") and not app.get("programme_name"):
        app["programme_name"] = _programme_name(facts, p.get("call") or {}, app["programme_code"])
    if isinstance(app, dict):
        app.setdefault("unit_name", "")
        app.setdefault("title", "")
        app.setdefault("programme_name", "")
    if not (p.get("recipients") or {}).get("unit_contacts") and not (p.get("recipients") or {}).get("user_ids") \
            and fact is not None and fact.recipients:
        p["recipients"] = dict(fact.recipients)
    p.setdefault("recipients", {})
    if p.get("amount") in (None, ""):
        amount = disb.get("amount") or budget.get("amount")
        if amount is not None:
            p["amount"] = amount
    if not p.get("bank_ref") and disb.get("bank_ref"):
        p["bank_ref"] = disb["bank_ref"]
    return env


def _programme_name(facts: Facts, call: Mapping, code: str) -> str:
    cf = facts.call(call.get("id")) if call.get("id") else None
    for prog in (cf.programmes if cf else None) or []:
        if prog.get("code") == code:
            return prog.get("name") or ""
    return ""


def concerned_unit(payload: Mapping) -> str | None:
    """The applicant unit an event concerns: its users are among the people told."""
    unit = payload.get("unit") if isinstance(payload.get("unit"), Mapping) else {}
    app = payload.get("application") if isinstance(payload.get("application"), Mapping) else {}
    return (unit or {}).get("id") or (app or {}).get("unit_id")


def with_unit_users(envelope: dict, directory: Directory) -> dict:
    """Add every active user of the concerned unit to ``recipients.user_ids`` (unit contacts stay);
    for ``call_opened``, every active applicant-unit user."""
    p = envelope["payload"]
    unit_id = concerned_unit(p)
    if envelope.get("type") == "call_opened":
        # A new call concerns every applicant unit: each unit's users hear of it in their inbox.
        people = directory.users_with_role("applicant_unit")
    elif unit_id:
        people = directory.users_of_unit(str(unit_id))
    else:
        return envelope
    recipients = dict(p.get("recipients") or {})
    ids = [str(u) for u in recipients.get("user_ids") or []]
    for u in people:
        if str(u["user_id"]) not in ids:
            ids.append(str(u["user_id"]))
    recipients["user_ids"] = ids
    recipients.setdefault("unit_contacts", [])
    p["recipients"] = recipients
    return envelope


# preferences -----------------------------------------------------------------------------------------------
def preferences_of(session, user_id: str) -> Preferences:
    row = session.get(Preference, str(user_id))
    return Preferences.of(row.channels) if row else Preferences()


def preferences_memo(session) -> Callable[[str], Preferences]:
    """Preferences for one event's audience, read in one query on first use instead of one per person
    (only people who changed the default have a row, so the table stays small)."""
    rows: dict[str, list] | None = None

    def lookup(user_id: str) -> Preferences:
        nonlocal rows
        if rows is None:
            rows = dict(session.execute(sa.select(Preference.user_id, Preference.channels)).all())
        channels = rows.get(str(user_id))
        return Preferences.of(channels) if channels is not None else Preferences()
    return lookup


def get_preferences(session, actor: Actor) -> dict:
    prefs = preferences_of(session, actor.id)
    return {"user_id": actor.id, "channels": [c for c in CHANNELS if prefs.allows(c)],
            "default": session.get(Preference, actor.id) is None}


def set_preferences(uow, actor: Actor, data: Mapping) -> dict:
    channels = data.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise ValidationFailed("preferences_invalid", "请选择接收渠道（email、inapp、sms）",
                               [{"path": "channels", "code": "wrong_type", "message": "应为渠道名称的列表"}])
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise ValidationFailed("unknown_channel", f"不支持的接收渠道：{'、'.join(unknown)}",
                               [{"path": "channels", "code": "unknown_channel", "message": f"可选：{', '.join(CHANNELS)}"}])
    if INAPP not in channels:
        # The inbox is where officers' notices are kept; switching it off would lose them silently.
        raise ValidationFailed("inapp_required", "站内消息不能关闭，请至少保留站内消息渠道",
                               [{"path": "channels", "code": "inapp_required", "message": "须包含 inapp"}])
    row = uow.session.get(Preference, actor.id) or Preference(user_id=actor.id, channels=[])
    row.channels = [c for c in CHANNELS if c in channels]
    row.updated_at = utcnow()
    uow.session.add(row)
    return {"user_id": actor.id, "channels": row.channels, "default": False}


# from an event to messages --------------------------------------------------------------------------------
@dataclass
class Planned:
    intent: MessageIntent
    audience: str
    unit_id: str | None


def plan(session, envelope: dict, directory: Directory, preferences=None) -> list[Planned]:
    """The messages an (enriched) event causes: the domain's routing with the directory and preferences
    (``preferences``: a ``preferences_memo(session)`` shared by a batch of events)."""
    envelope = with_unit_users(envelope, directory)
    lookup = directory.user
    intents = route(envelope, users_of_role=directory.users_with_role, lookup_user=lookup,
                    preferences_for=preferences or preferences_memo(session))
    labels = {}
    for person, label, _channels in recipients_for(envelope, users_of_role=directory.users_with_role,
                                                   lookup_user=lookup):
        for channel in CHANNELS:
            if person.user_id or person.address(channel):
                try:
                    labels[(person.identity(channel), channel)] = label
                except ValueError:
                    pass
    unit_id = concerned_unit(envelope.get("payload") or {})
    out = []
    for intent in intents:
        label = labels.get((intent.recipient.identity(intent.channel), intent.channel), "")
        out.append(Planned(intent, label, unit_id if label == "concerned" else None))
    return out


def store(uow, planned: Iterable[Planned], *, source: str, now: dt.datetime, email_enabled: bool,
          sms_enabled: bool = True) -> list[SimpleNamespace]:
    """Insert one Message per intent whose dedup key is new; returns the rows inserted (their values)."""
    return _store(uow, [(None, source, planned)], now, email_enabled, sms_enabled)


def store_many(uow, planned: Iterable[tuple[Mapping, Iterable[Planned]]], *, now: dt.datetime,
               email_enabled: bool, sms_enabled: bool = True) -> list[SimpleNamespace]:
    """``store`` for a batch of (envelope, its planned messages): one insert for all of them; each event's
    ``message_*`` events are published acting for that event (its actor and correlation id)."""
    return _store(uow, [(envelope, str(envelope.get("source") or ""), items) for envelope, items in planned],
                  now, email_enabled, sms_enabled)


def _store(uow, groups: list[tuple[Mapping | None, str, Iterable[Planned]]], now: dt.datetime,
           email_enabled: bool, sms_enabled: bool) -> list[SimpleNamespace]:
    session = uow.session
    table = Message.__table__
    rows, by_group = [], []
    for envelope, source, planned in groups:
        mine = []
        for item in planned:
            intent = item.intent
            status, sent_at, error, next_at = PENDING, None, None, now
            if intent.channel == INAPP:
                status, sent_at, next_at = SENT, now, None
            elif (intent.channel == EMAIL and not email_enabled) or (intent.channel == SMS and not sms_enabled):
                status, next_at = SKIPPED, None
                error = ("SMTP_HOST is not set: e-mail not sent" if intent.channel == EMAIL
                         else "SMS sender is not configured")
            mine.append(row_params(table, dict(
                id=_new_id(), dedup_key=intent.dedup_key, event_id=intent.event_id, event_type=intent.event_type,
                event_source=source, audience=item.audience, recipient_user_id=intent.recipient.user_id,
                recipient_unit_id=item.unit_id, recipient_name=intent.recipient.name or None,
                address=intent.recipient.address(intent.channel), channel=intent.channel,
                subject=intent.subject[:300], body=intent.body, status=status,
                attempts=1 if status == SENT else 0, last_error=error, next_attempt_at=next_at, created_at=now,
                sent_at=sent_at)))
        rows += mine
        by_group.append((envelope, mine))
    # one statement for all; a dedup key stored by an earlier delivery of the event is skipped
    inserted = set(insert_ignore_many(session, table, rows, conflict=("dedup_key",), returning="id"))
    created = []
    for envelope, mine in by_group:
        if envelope is not None:
            uow.acting_for(envelope)
        for values in mine:
            if values["id"] not in inserted:
                continue
            # what was inserted, as plain attributes: nothing more is written through it, and an ORM instance
            # per message cost a tenth of the handling
            row = SimpleNamespace(**values)
            created.append(row)
            if row.status == SKIPPED:
                # the channel is not configured: said once at start-up (smtp_not_configured); per message at
                # debug level, and in the message row and its message_failed event
                log.debug("message_skipped", message_id=row.id, event_type=row.event_type,
                          channel=row.channel, to=mask_address(row.channel, row.address), reason=row.last_error)
                uow.publish("message_failed", message_event(row))
            elif row.status == SENT:
                uow.publish("message_delivered", message_event(row))
    return created


def _new_id() -> str:
    from grassroots.db import new_id
    return new_id()


def message_event(m: Message | SimpleNamespace) -> dict:
    """What message_delivered / message_failed carry: no address in clear."""
    return {"message": {"id": m.id, "event_id": m.event_id, "event_type": m.event_type, "channel": m.channel,
                        "recipient_user_id": m.recipient_user_id, "recipient_unit_id": m.recipient_unit_id,
                        "recipient_name": m.recipient_name, "address": mask_address(m.channel, m.address),
                        "status": m.status, "attempts": m.attempts, "last_error": m.last_error,
                        "sent_at": _iso(m.sent_at)}}


# delivery -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    id: str
    attempt: int
    intent: MessageIntent


def claim_due(session, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Claimed]:
    """Lease up to ``limit`` due e-mail/SMS messages to this worker (in the caller's transaction).

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``: a second replica claiming at the
    same moment skips them, and once this transaction commits they are ``sending`` with a lease in the
    future, so nobody else picks them until the lease runs out (a crashed worker's messages come back).
    """
    q = (sa.select(Message).where(Message.status.in_(DUE_STATUSES), Message.next_attempt_at <= now,
                                  Message.channel.in_((EMAIL, SMS)))
         .order_by(Message.next_attempt_at, Message.created_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    out = []
    for m in session.scalars(q):
        m.attempts += 1
        m.status, m.next_attempt_at = SENDING, now + lease
        out.append(Claimed(m.id, m.attempts, MessageIntent(
            dedup_key=m.dedup_key, event_id=m.event_id, event_type=m.event_type,
            recipient=Recipient(name=m.recipient_name or "", user_id=m.recipient_user_id,
                                email=m.address if m.channel == EMAIL else None,
                                mobile=m.address if m.channel == SMS else None),
            channel=m.channel, subject=m.subject, body=m.body)))
    return out


def still_mine(uow, claimed: Claimed, now: dt.datetime, lease: dt.timedelta) -> bool:
    """Renew the lease just before sending; False when the lease ran out and another worker re-claimed the
    message (its claim raised ``attempts``), so this worker must not send it too."""
    result = uow.session.execute(
        sa.update(Message.__table__)
        .where(Message.__table__.c.id == claimed.id, Message.__table__.c.status == SENDING,
               Message.__table__.c.attempts == claimed.attempt)
        .values(next_attempt_at=now + lease))
    return result.rowcount == 1


def record_outcome(uow, message_id: str, outcome: AttemptOutcome, now: dt.datetime) -> Message | None:
    m = uow.session.get(Message, message_id, with_for_update=True)
    if m is None or m.status != SENDING or m.attempts != outcome.attempts:
        return None   # re-claimed by another worker meanwhile: its outcome is the one that counts
    m.status, m.attempts = outcome.status, outcome.attempts
    m.last_error = mask_text(outcome.error) if outcome.error else None
    m.next_attempt_at = outcome.next_attempt_at
    if outcome.status == SENT:
        m.sent_at = now
        uow.publish("message_delivered", message_event(m))
    elif outcome.status == FAILED:
        log.error("message_failed", message_id=m.id, event_type=m.event_type, channel=m.channel,
                  to=mask_address(m.channel, m.address), attempts=m.attempts, error=m.last_error)
        uow.publish("message_failed", message_event(m))
    else:
        log.warning("message_retrying", message_id=m.id, channel=m.channel, attempts=m.attempts,
                    next_attempt_at=_iso(m.next_attempt_at), error=m.last_error)
    return m


# reminders ------------------------------------------------------------------------------------------------
def calls_near_deadline(session, now: dt.datetime) -> list[CallFact]:
    horizon = now + dt.timedelta(days=max(rem.DEADLINE_MARKS))
    return list(session.scalars(sa.select(CallFact).where(CallFact.deadline > now, CallFact.deadline <= horizon)))


def unit_standings(rows: list[dict]) -> list[rem.UnitStanding]:
    """Intake's ``unit_standing(call_id)`` answer (per unit: drafts, finite quota and its use) as domain facts.

    Intake counts quota by its own rules (eligible kinds, unlimited kinds left out), so notify does not
    recompute them from the call's quotas."""
    out = []
    for row in rows:
        unit = row.get("unit") or {}
        quota = row.get("quota")
        out.append(rem.UnitStanding(unit_id=str(unit["id"]), unit_name=unit.get("name") or "",
                                    drafts=int(row.get("drafts") or 0),
                                    quota=int(quota) if quota is not None else None,
                                    used=int(row.get("used") or 0), contacts=unit.get("contacts") or ()))
    return out


def report_dues(session) -> list[rem.ReportDue]:
    rows = session.scalars(sa.select(ApplicationFact).where(ApplicationFact.report_due_at.is_not(None),
                                                            ApplicationFact.report_filed_at.is_(None)))
    return [rem.ReportDue(call=r.call or {}, application=r.application, due_at=r.report_due_at,
                          contacts=(r.recipients or {}).get("unit_contacts") or ()) for r in rows if r.call]


def rounds_closing(session, now: dt.datetime) -> list[rem.RoundClosing]:
    horizon = now + dt.timedelta(days=rem.SCORING_DAYS)
    out = []
    for r in session.scalars(sa.select(RoundFact).where(RoundFact.close_at > now, RoundFact.close_at <= horizon)):
        loads: dict[str, list] = {}
        for a in session.scalars(sa.select(AssignmentFact).where(AssignmentFact.round_id == r.round_id,
                                                                 AssignmentFact.scored_at.is_(None))):
            loads.setdefault(a.reviewer_id, [a.reviewer, 0])[1] += 1
        out.append(rem.RoundClosing(call=r.call or {}, round={"id": r.round_id, "name": r.name or ""},
                                    close_at=r.close_at,
                                    reviewers=[rem.ReviewerLoad(reviewer=v[0], unscored=v[1]) for v in loads.values()]))
    return out


def reminder_done(session, reminder_id: str) -> bool:
    return session.get(ReminderRun, reminder_id) is not None


def claim_reminder(uow, envelope: Mapping, count: int) -> bool:
    """Record the reminder as made; False when another run (or replica) already made it."""
    table = ReminderRun.__table__
    return bool(insert_ignore_many(uow.session, table, [row_params(table, dict(
        reminder_id=envelope["id"], reminder_type=envelope["type"], messages=count, created_at=utcnow()))],
        returning="reminder_id"))


# queries --------------------------------------------------------------------------------------------------
def _msg(m: Message) -> dict:
    return {"id": m.id, "event_id": m.event_id, "event_type": m.event_type, "channel": m.channel,
            "subject": m.subject, "body": m.body, "status": m.status, "created_at": _iso(m.created_at),
            "read_at": _iso(m.read_at)}


def _inbox(actor: Actor):
    return sa.select(Message).where(Message.channel == INAPP, Message.recipient_user_id == actor.id)


def my_messages(session, actor: Actor, unread_only: bool = False, limit: int = 200) -> list[dict]:
    q = _inbox(actor).order_by(Message.created_at.desc()).limit(max(1, min(int(limit), 500)))
    if unread_only:
        q = q.where(Message.read_at.is_(None))
    return [_msg(m) for m in session.scalars(q)]


def unread_count(session, actor: Actor) -> dict:
    n = session.scalar(sa.select(sa.func.count()).select_from(
        _inbox(actor).where(Message.read_at.is_(None)).subquery()))
    return {"unread": int(n or 0)}


def mark_read(uow, actor: Actor, message_id: str) -> dict:
    m = uow.session.get(Message, message_id)
    if m is None or m.channel != INAPP or m.recipient_user_id != actor.id:
        raise NotFound("message_not_found", "消息不存在", {"id": message_id})
    m.read_at = m.read_at or utcnow()
    return _msg(m)


def delivery_log(session, actor: Actor, filters: Mapping[str, Any]) -> list[dict]:
    """What was sent to whom, when, by which channel, with status; addresses masked."""
    actor.require(*LOG_READERS)
    q = sa.select(Message).order_by(Message.created_at.desc())
    for key in ("event_type", "channel", "status", "event_id"):
        if filters.get(key):
            q = q.where(getattr(Message, key) == str(filters[key]))
    if filters.get("recipient"):
        who = str(filters["recipient"])
        q = q.where(sa.or_(Message.recipient_user_id == who, Message.recipient_unit_id == who,
                           Message.recipient_name.contains(who), Message.address == who))
    if filters.get("since"):
        since = _utc(filters["since"])
        if since:
            q = q.where(Message.created_at >= since)
    try:
        limit = max(1, min(int(filters.get("limit") or 200), 1000))
    except ValueError:
        limit = 200
    return [{**_msg(m), "event_source": m.event_source, "audience": m.audience,
             "recipient_user_id": m.recipient_user_id, "recipient_unit_id": m.recipient_unit_id,
             "recipient_name": m.recipient_name, "address": mask_address(m.channel, m.address),
             "attempts": m.attempts, "last_error": m.last_error, "next_attempt_at": _iso(m.next_attempt_at),
             "sent_at": _iso(m.sent_at)} for m in session.scalars(q.limit(limit))]


__all__ = ["Directory", "Facts", "learn_many", "enrich", "plan", "store", "store_many", "claim_due",
           "record_outcome", "my_messages", "unread_count", "mark_read", "delivery_log", "get_preferences",
           "set_preferences", "DEFAULT_CHANNELS"]

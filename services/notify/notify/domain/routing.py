"""Who is told what, by which channel: the routing rules as data, and ``route`` that applies them.

A rule lists audiences; each audience says where its people come from and which channels the event
may use for them. A person's own preferences then narrow the channels (default e-mail + in-app; SMS
is opt-in), and a channel is used only when the person has an address for it (the in-app inbox
needs an account). The same person reached through two audiences gets one message per channel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .dedup import dedup_key
from .model import CHANNELS, EMAIL, INAPP, SMS, MessageIntent, Preferences, Recipient
from .rendering import Renderer, build_context

# Where the people of an audience come from.
CONCERNED = "concerned"  # the publisher's hints: payload.recipients.unit_contacts and .user_ids
EXPERT = "expert"        # payload.expert
REVIEWER = "reviewer"    # payload.reviewer
ROLE = "role"            # every user holding a role, resolved by the service's ``users_of_role``

PROGRAMME_OFFICER = "programme_officer"
FINANCE_OFFICER = "finance_officer"
INTAKE_CLERK = "intake_clerk"


@dataclass(frozen=True)
class Audience:
    source: str
    channels: tuple[str, ...]
    role: str | None = None
    # Some audiences are told only for some outcomes (finance hears of a ministry decision only if approved).
    when: Callable[[Mapping[str, Any]], bool] | None = None

    def applies(self, payload: Mapping[str, Any]) -> bool:
        return self.when is None or bool(self.when(payload))

    @property
    def label(self) -> str:
        return self.role if self.source == ROLE else self.source


def concerned(*channels: str) -> Audience:
    return Audience(CONCERNED, channels or (EMAIL, INAPP))


def expert(*channels: str) -> Audience:
    return Audience(EXPERT, channels or (EMAIL, INAPP))


def reviewer(*channels: str) -> Audience:
    return Audience(REVIEWER, channels or (EMAIL, INAPP))


def role(name: str, *channels: str, when: Callable[[Mapping[str, Any]], bool] | None = None) -> Audience:
    return Audience(ROLE, channels or (EMAIL, INAPP), role=name, when=when)


ALL = (EMAIL, INAPP, SMS)
MAIL = (EMAIL, INAPP)


def _approved(payload: Mapping[str, Any]) -> bool:
    return payload.get("approved") is True


RULES: dict[str, tuple[Audience, ...]] = {
    # intake
    "call_opened": (concerned(*MAIL),),
    "application_submitted": (concerned(*MAIL), role(INTAKE_CLERK, *MAIL), role(PROGRAMME_OFFICER, INAPP)),
    "application_withdrawn": (concerned(*MAIL), role(INTAKE_CLERK, INAPP), role(PROGRAMME_OFFICER, INAPP)),
    "application_forfeited": (concerned(*ALL), role(PROGRAMME_OFFICER, INAPP)),
    "application_received": (concerned(*MAIL),),
    "document_stored": (concerned(INAPP), role(INTAKE_CLERK, INAPP)),
    "report_filed": (concerned(*MAIL), role(PROGRAMME_OFFICER, *MAIL)),
    "report_overdue": (concerned(*ALL), role(PROGRAMME_OFFICER, INAPP)),
    # review
    "review_round_opened": (concerned(*MAIL), role(PROGRAMME_OFFICER, INAPP)),
    "reviewer_assigned": (reviewer(*ALL),),
    "application_selected": (concerned(*ALL), role(FINANCE_OFFICER, *MAIL)),
    "application_recommended_to_ministry": (concerned(*MAIL),),
    "application_not_selected": (concerned(*MAIL),),
    "ministry_decided": (concerned(*ALL), role(PROGRAMME_OFFICER, INAPP),
                         role(FINANCE_OFFICER, *MAIL, when=_approved)),
    # experts
    "expert_admitted_to_pool": (expert(*MAIL),),
    "expert_matched": (expert(*ALL), concerned(*MAIL)),
    # funding
    "budget_created": (concerned(*MAIL), role(FINANCE_OFFICER, INAPP)),
    "disbursement_requested": (role(FINANCE_OFFICER, *MAIL),),
    "disbursement_approved": (concerned(*MAIL), role(FINANCE_OFFICER, INAPP)),
    "disbursement_paid": (concerned(*ALL),),
    "disbursement_failed": (role(FINANCE_OFFICER, *MAIL), concerned(*ALL)),
    "funds_returned": (role(FINANCE_OFFICER, *MAIL), role(PROGRAMME_OFFICER, INAPP)),
    "budget_withdrawn": (concerned(*MAIL), role(FINANCE_OFFICER, *MAIL)),
    "budget_withdrawal_blocked": (concerned(*MAIL), role(FINANCE_OFFICER, *MAIL)),
    # reminders the notify service computes itself (see reminders.py)
    "deadline_reminder": (concerned(*ALL),),
    "report_due_reminder": (concerned(*ALL),),
    "report_overdue_reminder": (concerned(*ALL), role(PROGRAMME_OFFICER, INAPP)),
    "scoring_reminder": (reviewer(*ALL),),
}

EVENT_TYPES = frozenset(RULES)

UsersOfRole = Callable[[str], Iterable["Recipient | Mapping[str, Any]"]]
PreferencesFor = Callable[[str], "Preferences | Iterable[str] | None"]
LookupUser = Callable[[str], "Recipient | Mapping[str, Any] | None"]


def channels_of(event_type: str) -> tuple[str, ...]:
    """Every channel some audience of this event may be reached by (the templates that must exist)."""
    found = {c for audience in RULES.get(event_type, ()) for c in audience.channels}
    return tuple(c for c in CHANNELS if c in found)


def _people(audience: Audience, envelope: Mapping[str, Any], users_of_role: UsersOfRole,
            lookup_user: LookupUser | None) -> list[Recipient]:
    payload = envelope.get("payload") or {}
    if audience.source == CONCERNED:
        hints = payload.get("recipients") or {}
        people = [Recipient.from_any(c) for c in hints.get("unit_contacts") or ()]
        for user_id in hints.get("user_ids") or ():
            found = lookup_user(str(user_id)) if lookup_user else None
            person = Recipient.from_any(found) if found else Recipient()
            people.append(Recipient(name=person.name, user_id=str(user_id), email=person.email,
                                    mobile=person.mobile))
        return people
    if audience.source in (EXPERT, REVIEWER):
        person = payload.get(audience.source)
        return [Recipient.from_any(person)] if isinstance(person, Mapping) else []
    if audience.source == ROLE:
        actor_id = str((envelope.get("actor") or {}).get("id") or "")
        # The officer who did the thing does not need to be told that they did it.
        return [p for p in (Recipient.from_any(u) for u in users_of_role(audience.role or ""))
                if not (actor_id and p.user_id == actor_id)]
    raise ValueError(f"unknown audience source {audience.source!r}")


def _same_person(a: Recipient, b: Recipient) -> bool:
    if a.user_id and b.user_id:
        return a.user_id == b.user_id
    if a.email and b.email and a.email.lower() == b.email.lower():
        return True
    return bool(a.mobile and b.mobile and a.mobile == b.mobile)


def _preferences(value: "Preferences | Iterable[str] | None") -> Preferences:
    if value is None:
        return Preferences()
    if isinstance(value, Preferences):
        return value
    return Preferences.of(value)


def recipients_for(envelope: Mapping[str, Any], *, users_of_role: UsersOfRole,
                   lookup_user: LookupUser | None = None) -> list[tuple[Recipient, str, tuple[str, ...]]]:
    """(person, audience label, channels the rule allows) for an event, each person once."""
    rule = RULES.get(str(envelope.get("type")), ())
    payload = envelope.get("payload") or {}
    found: list[list] = []
    for audience in rule:
        if not audience.applies(payload):
            continue
        for person in _people(audience, envelope, users_of_role, lookup_user):
            if not (person.user_id or person.email or person.mobile):
                continue
            for entry in found:
                if _same_person(entry[0], person):
                    entry[0] = entry[0].merged_with(person)
                    entry[2] = entry[2] + tuple(c for c in audience.channels if c not in entry[2])
                    break
            else:
                found.append([person, audience.label, tuple(audience.channels)])
    return [(p, label, chans) for p, label, chans in found]


def route(envelope: Mapping[str, Any], *, users_of_role: UsersOfRole,
          preferences_for: PreferencesFor | None = None, lookup_user: LookupUser | None = None,
          renderer: Renderer | None = None) -> list[MessageIntent]:
    """The messages an event causes, rendered, each with its dedup key. Unknown event types give [].

    ``users_of_role(role)`` returns the users holding ``programme_officer``, ``finance_officer`` or
    ``intake_clerk`` (Recipient or mappings with user_id, name, email, mobile).
    ``preferences_for(user_id)`` returns a Preferences, an iterable of channel names, or None (defaults);
    people without an account always get the defaults.
    ``lookup_user(user_id)`` fills in name and addresses of users named only by id in the hints.
    """
    event_type = str(envelope.get("type"))
    if event_type not in RULES:
        return []
    renderer = renderer or default_renderer()
    event_id = str(envelope["id"])
    intents: list[MessageIntent] = []
    for person, audience, allowed in recipients_for(envelope, users_of_role=users_of_role,
                                                    lookup_user=lookup_user):
        prefs = _preferences(preferences_for(person.user_id)) if (person.user_id and preferences_for) \
            else Preferences()
        for channel in CHANNELS:
            if channel not in allowed or not prefs.allows(channel) or not person.address(channel):
                continue
            context = build_context(envelope, person)
            context["audience"] = audience
            rendered = renderer.render(event_type, channel, context)
            intents.append(MessageIntent(
                dedup_key=dedup_key(event_id, person.identity(channel), channel),
                event_id=event_id, event_type=event_type, recipient=person, channel=channel,
                subject=rendered.subject, body=rendered.body,
            ))
    return intents


_default_renderer: Renderer | None = None


def default_renderer() -> Renderer:
    global _default_renderer
    if _default_renderer is None:
        _default_renderer = Renderer()
    return _default_renderer

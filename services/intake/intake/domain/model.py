"""Typed model of a yearly call (申报通知) and its programmes, as loaded from a call file.

Everything programme-specific lives in these objects (read from YAML by ``intake.domain.calls``), so the
rules in ``forms``, ``quota``, ``reports`` and ``export`` never test a programme's code.

Usage:
    call = load_bundled_call(2025)
    prog = call.programme("service_team")
    prog.quota_for("league_city")            # Range(min=None, max=2)
    prog.form.field("service_period").type    # 'date_range'
    call.deadline                             # 2025-01-24 23:59:59+08:00
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from grassroots.errors import NotFound

#: Kinds of applicant unit and how the notices name them.
UNIT_KINDS: dict[str, str] = {
    "league_city": "盟市人社局",  # the 12 leagues/cities plus 满洲里市 and 二连浩特市
    "national_base": "国家级专家服务基地",
    "regional_base": "自治区级专家服务基地",
    "postdoc_station": "博士后科研流动站（工作站）",
    "returnee_park": "留学人员创业园",
    "other": "其他有关单位",
}

FIELD_TYPES = (
    "text", "textarea", "integer", "money", "date", "date_range", "select", "multiselect",
    "phone", "mobile", "email", "interbank_code", "bank_account", "uscc", "id_number",
    "boolean", "declaration", "region", "group",
)

FILE_TYPES = ("pdf", "jpeg", "png")

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Range:
    """An inclusive count range; either end may be absent (``max=None`` means unlimited)."""

    min: int | None = None
    max: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.max is None

    def describe(self, unit: str = "个") -> str:
        """Chinese wording as the notices put it: 2个, 1—2个, 不少于10个, 不超过3个, 不限."""
        if self.min is None and self.max is None:
            return "不限"
        if self.min is not None and self.max is not None:
            return f"{self.max}{unit}" if self.min == self.max else f"{self.min}—{self.max}{unit}"
        if self.max is not None:
            return f"{self.max}{unit}" if self.min is None else f"不超过{self.max}{unit}"
        return f"不少于{self.min}{unit}"

    def __contains__(self, n: int) -> bool:
        return (self.min is None or n >= self.min) and (self.max is None or n <= self.max)


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    #: choosing this option (其他) requires a text in the sibling key ``<field>_other``.
    requires_text: bool = False


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    max_chars: int | None = None       # text, textarea, and the 其他 text of select/multiselect
    min_chars: int | None = None
    min: Any = None                    # integer/money bounds (money as Decimal)
    max: Any = None
    options: tuple[Option, ...] = ()   # select, multiselect
    other_max_chars: int = 50          # limit of the 其他 text
    min_items: int | None = None       # group, multiselect
    max_items: int | None = None
    fields: tuple["Field", ...] = ()   # group sub-fields

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    # Derived once per field (a call's form is parsed once per process and its fields never change), not on
    # every read: a submission's validation reads them a few dozen times.
    @cached_property
    def other_key(self) -> str:
        return f"{self.key}_other"

    @cached_property
    def has_other(self) -> bool:
        return any(o.requires_text for o in self.options)

    @cached_property
    def item_keys(self) -> frozenset[str]:
        """The keys an item of this group may have (``known_keys`` of its sub-fields)."""
        return known_keys(self.fields)


def known_keys(fields: tuple[Field, ...]) -> frozenset[str]:
    """The keys form data may have for these fields: each field's, and the 其他 text's where it has one."""
    return frozenset([f.key for f in fields] + [f.other_key for f in fields if f.has_other])


@dataclass(frozen=True)
class Form:
    fields: tuple[Field, ...]

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def has(self, key: str) -> bool:
        return any(f.key == key for f in self.fields)

    @cached_property
    def keys(self) -> frozenset[str]:
        """The keys its data may have (``known_keys``)."""
        return known_keys(self.fields)


@dataclass(frozen=True)
class Attachment:
    kind: str
    label: str
    types: tuple[str, ...]
    max_bytes: int
    required: bool = True
    max_count: int = 1
    help: str = ""


@dataclass(frozen=True)
class Timing:
    """Date rules on the programme's activity period (a date_range field), checked at submission."""

    period_field: str | None = None
    within_call_year: bool = False
    #: (month, day) bounds inside the call's year, e.g. ((5, 1), (9, 30)) for 2023's May-September.
    window: tuple[tuple[int, int], tuple[int, int]] | None = None
    min_working_days: int | None = None
    calendar_days: Range | None = None
    #: integer field that must equal the period's calendar days (活动天数).
    days_field: str | None = None


@dataclass(frozen=True)
class SelectionCap:
    """How many the department selects or recommends at review (used by the review service)."""

    key: str
    label: str
    count: Range


@dataclass(frozen=True)
class ReportRule:
    """The post-activity report: whether one is due, when, and what it contains."""

    required: bool = False
    name: str = ""
    #: due this many calendar days after the activity's last day (inclusive of the due day).
    due_days_after_end: int | None = None
    #: the date_range (or date) field of the application whose end is the activity's end.
    activity_end_field: str | None = None
    note: str = ""
    attachments: tuple[Attachment, ...] = ()
    form: Form | None = None


@dataclass(frozen=True)
class Summary:
    """Which form fields stand for the title, period and budget in lists and the 申报汇总表."""

    title: str | None = None
    period: str | None = None
    budget: str | None = None


@dataclass(frozen=True)
class Programme:
    code: str
    name: str
    action: str
    form_name: str
    form_number: str
    eligible_unit_kinds: tuple[str, ...]
    quotas: dict[str, Range]
    form: Form
    attachments: tuple[Attachment, ...] = ()
    eligibility_notes: tuple[str, ...] = ()
    timing: Timing = field(default_factory=Timing)
    selection: tuple[SelectionCap, ...] = ()
    report: ReportRule = field(default_factory=ReportRule)
    summary: Summary = field(default_factory=Summary)
    paper_copies: int = 0
    rolling: bool = False

    def may_apply(self, unit_kind: str) -> bool:
        return unit_kind in self.eligible_unit_kinds

    def quota_for(self, unit_kind: str) -> Range:
        """The quota of one applicant unit of this kind (unlimited if the call gives none)."""
        return self.quotas.get(unit_kind, Range())

    def selection_cap(self, key: str) -> SelectionCap:
        for s in self.selection:
            if s.key == key:
                return s
        raise KeyError(key)


@dataclass(frozen=True)
class Contact:
    name: str
    department: str
    phones: tuple[str, ...]
    email: str
    #: programme codes this officer answers for; empty means the whole call.
    programmes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailingAddress:
    recipient: str
    address: str


@dataclass(frozen=True)
class Call:
    year: int
    title: str
    doc_no: str
    issued_on: dt.date
    #: aware datetime in Asia/Shanghai; submissions are accepted up to and including this second.
    deadline: dt.datetime
    contacts: tuple[Contact, ...]
    mailing_address: MailingAddress
    programmes: tuple[Programme, ...]
    deadline_note: str = ""
    #: the validated definition as a JSON-able dict (what the service stores); parse it back with parse_call.
    definition: dict = field(default_factory=dict, compare=False, repr=False)

    def programme(self, code: str) -> Programme:
        for p in self.programmes:
            if p.code == code:
                return p
        raise NotFound("programme_not_found", f"本年度申报通知中没有该项目类别：{code}", {"programme": code})

    @property
    def deadline_utc(self) -> dt.datetime:
        return self.deadline.astimezone(dt.timezone.utc)

    def contacts_for(self, programme_code: str) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if not c.programmes or programme_code in c.programmes)

"""Rendering messages from the Jinja2 templates in ``notify/templates``.

One template per event type and channel: ``templates/<event_type>/<channel>.j2``. For ``email`` and
``inapp`` the first non-blank line of the output is the subject (title) and the rest is the body; an ``sms``
template renders the whole short text. Templates are plain text (autoescape off) and use
``StrictUndefined``: a field the payload lacks raises ``RenderError`` instead of printing nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

import jinja2

from .model import SMS, Recipient

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

try:
    from zoneinfo import ZoneInfo

    SHANGHAI: dt.tzinfo = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - no tz database; China has had no DST since 1991
    SHANGHAI = dt.timezone(dt.timedelta(hours=8), "CST")


class RenderError(ValueError):
    """A template could not be rendered (missing template or missing payload field)."""

    def __init__(self, event_type: str, channel: str, reason: str):
        self.event_type = event_type
        self.channel = channel
        self.reason = reason
        super().__init__(f"cannot render {event_type}/{channel}: {reason}")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def to_datetime(value: Any) -> dt.datetime | dt.date:
    """An ISO string, datetime or date; naive datetimes are taken as UTC (the suite stores UTC)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    else:
        raise TypeError(f"not a date: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(SHANGHAI)


def cn_date(value: Any) -> str:
    """A date as a person in Inner Mongolia reads it: ``2025年1月24日`` (Asia/Shanghai)."""
    moment = to_datetime(value)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def cn_datetime(value: Any) -> str:
    """``2025年1月24日 17:30`` (Asia/Shanghai)."""
    moment = to_datetime(value)
    if not isinstance(moment, dt.datetime):
        return cn_date(moment)
    return f"{cn_date(moment)} {moment.hour:02d}:{moment.minute:02d}"


def yuan(value: Any) -> str:
    """An amount in yuan with thousands separators and two decimals: ``1,234,567.50元``.

    Amounts travel as strings (Decimal, never float); a float is converted through ``str`` so that
    0.1 stays 0.1.
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not an amount: {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as exc:
        raise TypeError(f"not an amount: {value!r}") from exc
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}元"


def shorten(value: Any, length: int = 12) -> str:
    """Cut a title for SMS: at most ``length`` characters, the last one an ellipsis when cut."""
    text = str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def make_environment(template_dir: Path | str = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,   # templates ship with the code: no stat() of the file on every render
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, yuan=yuan, shorten=shorten)
    return env


def first_contact(call: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The officer a message names: the first of the call's contacts that has a phone number."""
    for contact in call.get("contacts") or ():
        if contact.get("name") and contact.get("phone"):
            return contact
    return None


def build_context(envelope: Mapping[str, Any], recipient: Recipient) -> dict:
    """Template variables: every payload field at top level, plus ``event``, ``recipient``, ``contact``.

    ``application`` is always defined (None when the event concerns none) so templates can test it.
    ``contact`` is left undefined when the call names nobody with a phone, so rendering fails loudly.
    """
    payload = dict(envelope.get("payload") or {})
    context: dict[str, Any] = {"application": None}
    context.update(payload)
    context["payload"] = payload
    context["event"] = {
        "id": envelope.get("id"),
        "type": envelope.get("type"),
        "occurred_at": envelope.get("occurred_at"),
    }
    context["occurred_at"] = envelope.get("occurred_at")
    context["recipient"] = recipient
    call = payload.get("call")
    if isinstance(call, Mapping):
        contact = first_contact(call)
        if contact is not None:
            context["contact"] = contact
    return context


class Renderer:
    """Renders (event type, channel) for one recipient. Cheap to keep one per process."""

    def __init__(self, template_dir: Path | str = TEMPLATE_DIR):
        self.env = make_environment(template_dir)

    @staticmethod
    def template_name(event_type: str, channel: str) -> str:
        return f"{event_type}/{channel}.j2"

    def has_template(self, event_type: str, channel: str) -> bool:
        try:
            self.env.get_template(self.template_name(event_type, channel))
        except jinja2.TemplateNotFound:
            return False
        return True

    def render(self, event_type: str, channel: str, context: Mapping[str, Any]) -> Rendered:
        try:
            template = self.env.get_template(self.template_name(event_type, channel))
            text = template.render(**context)
        except jinja2.TemplateNotFound as exc:
            raise RenderError(event_type, channel, "no template") from exc
        except (jinja2.UndefinedError, TypeError, ValueError) as exc:
            raise RenderError(event_type, channel, str(exc)) from exc
        return split_rendered(text, channel)

    def render_event(self, envelope: Mapping[str, Any], recipient: Recipient, channel: str) -> Rendered:
        return self.render(str(envelope.get("type")), channel, build_context(envelope, recipient))


def split_rendered(text: str, channel: str) -> Rendered:
    if channel == SMS:
        # An SMS is one paragraph: line breaks in the template are only for the author's eyes.
        return Rendered(subject="", body="".join(line.strip() for line in text.splitlines()))
    lines = text.strip().splitlines()
    if not lines:
        return Rendered(subject="", body="")
    return Rendered(subject=lines[0].strip(), body="\n".join(lines[1:]).strip("\n").rstrip() + "\n")

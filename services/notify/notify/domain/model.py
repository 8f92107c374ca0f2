"""Value objects shared by routing, rendering, reminders and the channels."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

EMAIL = "email"
INAPP = "inapp"
SMS = "sms"
CHANNELS = (EMAIL, INAPP, SMS)

# What a person gets when they never chose: e-mail and the in-app inbox; SMS costs money and is opt-in.
DEFAULT_CHANNELS = frozenset({EMAIL, INAPP})


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class Recipient:
    """A person to tell. ``user_id`` is set for people with an account (needed for the in-app inbox)."""

    name: str = ""
    user_id: str | None = None
    email: str | None = None
    mobile: str | None = None

    @classmethod
    def from_any(cls, value: "Recipient | Mapping[str, Any]") -> "Recipient":
        if isinstance(value, Recipient):
            return value
        return cls(
            name=_clean(value.get("name")) or "",
            user_id=_clean(value.get("user_id")),
            email=_clean(value.get("email")),
            mobile=_clean(value.get("mobile")),
        )

    def address(self, channel: str) -> str | None:
        """Where this channel reaches the person, or None when it cannot."""
        if channel == EMAIL:
            return self.email
        if channel == SMS:
            return self.mobile
        if channel == INAPP:
            return self.user_id
        raise ValueError(f"unknown channel {channel!r}")

    def identity(self, channel: str) -> str:
        """The stable part of the dedup key: the account when there is one, else the channel's address."""
        if self.user_id:
            return f"user:{self.user_id}"
        address = self.address(channel)
        if not address:
            raise ValueError("recipient has neither a user id nor an address for this channel")
        return f"{channel}:{address.lower() if channel == EMAIL else address}"

    def merged_with(self, other: "Recipient") -> "Recipient":
        """The same person seen twice (hint and directory): keep every known field, first one wins."""
        return Recipient(
            name=self.name or other.name,
            user_id=self.user_id or other.user_id,
            email=self.email or other.email,
            mobile=self.mobile or other.mobile,
        )

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "") or k == "name"}


@dataclass(frozen=True)
class Preferences:
    """The channels a person accepts. ``Preferences()`` is the default: e-mail and in-app."""

    channels: frozenset[str] = field(default_factory=lambda: DEFAULT_CHANNELS)

    def __post_init__(self):
        unknown = set(self.channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}")
        object.__setattr__(self, "channels", frozenset(self.channels))

    @classmethod
    def of(cls, channels: Iterable[str]) -> "Preferences":
        return cls(frozenset(channels))

    def allows(self, channel: str) -> bool:
        return channel in self.channels


@dataclass(frozen=True)
class MessageIntent:
    """One message to one person by one channel, rendered and ready to store and send.

    The service inserts it with a unique constraint on ``dedup_key``: a redelivered event produces the
    same keys, so the insert conflicts and nothing is sent twice.
    """

    dedup_key: str
    event_id: str
    event_type: str
    recipient: Recipient
    channel: str
    subject: str
    body: str

    def to_dict(self) -> dict:
        return {
            "dedup_key": self.dedup_key,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "recipient": self.recipient.to_dict(),
            "channel": self.channel,
            "subject": self.subject,
            "body": self.body,
        }

"""Notify's channels: e-mail over SMTP, SMS behind a pluggable sender, the in-app inbox.

Each channel has ``deliver(intent)`` that returns when the message went out and raises
``DeliveryError`` (``retryable`` or permanent, with a masked English ``reason``) when it did not. The
service records the attempt and asks ``notify.domain.retry.after_failure`` what happens next.
No Nameko and no SQLAlchemy here: the inbox's storage is the service's, behind ``InboxStore``.

Usage:
    from notify.channels import ChannelSet, EmailSender, SmtpConfig, InAppChannel, SmsChannel, make_sms_sender
    channels = ChannelSet(email=EmailSender(SmtpConfig.from_config(config)),
                          sms=SmsChannel(make_sms_sender(config)),   # SMS_SENDER=pkg.module:Class
                          inapp=InAppChannel(inbox_store))
    try:
        channels.deliver(intent)
    except DeliveryError as exc:
        outcome = after_failure(attempts, now, exc.to_error_class())
"""
from __future__ import annotations

from ..domain.model import MessageIntent
from ..domain.retry import PERMANENT
from .base import Channel, DeliveryError
from .mail import EmailSender, SmtpConfig, build_message
from .inapp import InAppChannel, InboxStore
from .sms import LogSmsSender, SmsChannel, SmsSender, make_sms_sender


class ChannelSet:
    """Dispatches an intent to the channel it names."""

    def __init__(self, *, email: Channel | None = None, sms: Channel | None = None,
                 inapp: Channel | None = None):
        self.by_name = {name: ch for name, ch in (("email", email), ("sms", sms), ("inapp", inapp)) if ch}

    def deliver(self, intent: MessageIntent) -> None:
        channel = self.by_name.get(intent.channel)
        if channel is None:
            raise DeliveryError(PERMANENT, f"channel {intent.channel!r} is not configured")
        channel.deliver(intent)


__all__ = ["Channel", "ChannelSet", "DeliveryError", "EmailSender", "SmtpConfig", "build_message", "InAppChannel",
           "InboxStore", "LogSmsSender", "SmsChannel", "SmsSender", "make_sms_sender"]

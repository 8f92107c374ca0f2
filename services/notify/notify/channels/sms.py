"""SMS behind an interface; the default only writes to the log. A provider is plugged in by configuration.

``SMS_SENDER`` names the implementation as a dotted path (``package.module:Class`` or
``package.module.Class``); it is called with the configuration mapping and must have ``send(mobile, text,
*, key=None)``. Until the department contracts a provider, ``LogSmsSender`` records what would be sent.
"""
from __future__ import annotations

import importlib
import logging
from typing import Any, Mapping, Protocol, runtime_checkable

from ..domain.masking import mask_mobile, mask_text
from ..domain.model import SMS, MessageIntent
from ..domain.retry import PERMANENT
from .base import DeliveryError

DEFAULT_SMS_SENDER = "notify.channels.sms:LogSmsSender"


@runtime_checkable
class SmsSender(Protocol):
    def send(self, mobile: str, text: str, *, key: str | None = None) -> None:
        """Send ``text`` to ``mobile``; raise DeliveryError when it could not be sent."""


class LogSmsSender:
    """Writes the message to the log instead of sending it; the mobile number is masked (138****1234)."""

    def __init__(self, config: Mapping[str, Any] | None = None, logger: logging.Logger | None = None):
        self.log = logger or logging.getLogger(__name__)

    def send(self, mobile: str, text: str, *, key: str | None = None) -> None:
        self.log.info("sms_logged_not_sent to=%s key=%s chars=%d text=%s", mask_mobile(mobile),
                      (key or "")[:12], len(text), mask_text(text))


class SmsChannel:
    name = SMS

    def __init__(self, sender: SmsSender):
        self.sender = sender

    def deliver(self, intent: MessageIntent) -> None:
        if not intent.recipient.mobile:
            raise DeliveryError(PERMANENT, "no mobile number")
        self.sender.send(intent.recipient.mobile, intent.body, key=intent.dedup_key)


def load_object(path: str) -> Any:
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"not a dotted path: {path!r}")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def make_sms_sender(config: Mapping[str, Any] | None = None) -> SmsSender:
    """The SmsSender named by ``config['SMS_SENDER']`` (default: LogSmsSender), built with ``config``."""
    config = dict(config or {})
    factory = load_object(str(config.get("SMS_SENDER") or DEFAULT_SMS_SENDER))
    sender = factory(config)
    if not isinstance(sender, SmsSender):
        raise TypeError(f"{config.get('SMS_SENDER')!r} does not provide send(mobile, text, *, key=None)")
    return sender

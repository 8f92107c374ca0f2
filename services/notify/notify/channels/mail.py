"""E-mail over SMTP (smtplib): plain, STARTTLS or implicit TLS, optional login, UTF-8 throughout."""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Callable, Mapping

from ..domain.masking import mask_email
from ..domain.model import EMAIL, MessageIntent
from ..domain.retry import PERMANENT, classify_smtp_error
from .base import DeliveryError

log = logging.getLogger(__name__)

NONE, STARTTLS, SSL = "none", "starttls", "ssl"
SECURITIES = (NONE, STARTTLS, SSL)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. ``security``: ``none``, ``starttls`` or ``ssl`` (implicit TLS, port 465)."""

    host: str = "127.0.0.1"
    port: int = 25
    security: str = NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender_address: str = "noreply@localhost"
    sender_name: str = "内蒙古自治区人力资源和社会保障厅"
    timeout: float = 30.0
    local_hostname: str | None = None
    verify_tls: bool = True
    ca_file: str | None = None

    def __post_init__(self):
        if self.security not in SECURITIES:
            raise ValueError(f"security must be one of {SECURITIES}, not {self.security!r}")
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SmtpConfig":
        """From environment-style keys: SMTP_HOST, SMTP_PORT, SMTP_SECURITY (none|starttls|ssl),
        SMTP_USERNAME, SMTP_PASSWORD, SMTP_SENDER, SMTP_SENDER_NAME, SMTP_TIMEOUT, SMTP_VERIFY_TLS, SMTP_CA_FILE.
        """
        security = str(config.get("SMTP_SECURITY") or NONE).lower()
        default_port = {NONE: 25, STARTTLS: 587, SSL: 465}.get(security, 25)
        defaults = cls.__dataclass_fields__
        return cls(
            host=str(config.get("SMTP_HOST") or defaults["host"].default),
            port=int(config.get("SMTP_PORT") or default_port),
            security=security,
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            sender_address=str(config.get("SMTP_SENDER") or defaults["sender_address"].default),
            sender_name=str(config.get("SMTP_SENDER_NAME") or defaults["sender_name"].default),
            timeout=float(config.get("SMTP_TIMEOUT") or defaults["timeout"].default),
            verify_tls=_flag(config.get("SMTP_VERIFY_TLS", "1")),
            ca_file=config.get("SMTP_CA_FILE") or None,
        )

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify_tls:
            # For a relay on a private network with a self-signed certificate; never the default.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def build_message(config: SmtpConfig, to_address: str, subject: str, body: str, *, to_name: str = "",
                  message_key: str | None = None, now: dt.datetime | None = None) -> EmailMessage:
    """A MIME message with UTF-8 subject, display names and body (RFC 2047 / base64 as needed)."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = Address(display_name=config.sender_name, addr_spec=config.sender_address)
    msg["To"] = Address(display_name=to_name or "", addr_spec=to_address)
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.timezone.utc))
    domain = config.sender_address.rpartition("@")[2] or "localhost"
    # A Message-ID derived from the dedup key lets a receiving server spot a resend of the same message.
    msg["Message-ID"] = (f"<{message_key}@{domain}>" if message_key else make_msgid(domain=domain))
    msg["Auto-Submitted"] = "auto-generated"
    # base64 for Chinese: 8bit would need the relay to offer 8BITMIME, which not every one does.
    msg.set_content(body, charset="utf-8", cte="7bit" if body.isascii() else "base64")
    return msg


class EmailSender:
    """Sends one message per SMTP connection (the volume is a few hundred a day; simplicity wins)."""

    name = EMAIL

    def __init__(self, config: SmtpConfig, smtp_factory: Callable[..., smtplib.SMTP] | None = None):
        self.config = config
        self._smtp_factory = smtp_factory

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if self._smtp_factory is not None:
            return self._smtp_factory(c)
        if c.security == SSL:
            return smtplib.SMTP_SSL(c.host, c.port, local_hostname=c.local_hostname, timeout=c.timeout,
                                    context=c.ssl_context())
        return smtplib.SMTP(c.host, c.port, local_hostname=c.local_hostname, timeout=c.timeout)

    def send(self, to_address: str, subject: str, body: str, *, to_name: str = "",
             message_key: str | None = None) -> None:
        """Send or raise DeliveryError (retryable or permanent, see ``domain.retry.classify_smtp_error``)."""
        if not to_address or "@" not in to_address:
            raise DeliveryError(PERMANENT, "no valid e-mail address")
        msg = build_message(self.config, to_address, subject, body, to_name=to_name, message_key=message_key)
        try:
            smtp = self._connect()
            try:
                if self.config.security == STARTTLS:
                    smtp.starttls(context=self.config.ssl_context())
                if self.config.username:
                    smtp.login(self.config.username, self.config.password or "")
                smtp.send_message(msg)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except DeliveryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a classified DeliveryError
            error = classify_smtp_error(exc)
            log.warning("email_send_failed to=%s kind=%s code=%s reason=%s", mask_email(to_address),
                        error.kind, error.code, error.reason)
            raise DeliveryError.from_class(error) from exc
        log.info("email_sent to=%s key=%s", mask_email(to_address), (message_key or "")[:12])

    def deliver(self, intent: MessageIntent) -> None:
        self.send(intent.recipient.email or "", intent.subject, intent.body, to_name=intent.recipient.name,
                  message_key=intent.dedup_key)

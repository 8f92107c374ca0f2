"""Masking of personal addresses for logs: a mobile or e-mail address is never logged in clear."""
from __future__ import annotations

import re

_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+)")


def mask_mobile(mobile: str | None) -> str:
    """``13812341234`` -> ``138****1234``; anything too short to mask keeps only its last two digits."""
    if not mobile:
        return ""
    digits = re.sub(r"\D", "", mobile)
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_email(email: str | None) -> str:
    """``shenting@126.com`` -> ``s***@126.com``."""
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_address(channel: str, address: str | None) -> str:
    if channel == "email":
        return mask_email(address)
    if channel == "sms":
        return mask_mobile(address)
    return address or ""


def mask_text(text: str) -> str:
    """Mask every mobile number and e-mail address inside free text (log lines, error replies)."""
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _EMAIL_RE.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)

"""Adapter between the use cases and the pure domain (``intake.domain``): a stored call definition becomes
the domain's ``Call`` (parsed once per definition, cached), and the checks raise the domain's errors."""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

from grassroots.errors import BadRequest, ValidationFailed

from .domain import calls as dcalls
from .domain import documents as ddocs
from .domain import forms as dforms
from .domain import lifecycle as dlife
from .domain import quota as dquota
from .domain import units as dunits
from .domain.model import Call as DomainCall
from .domain.model import Programme

STATUS_NAMES = dlife.STATUS_LABELS if hasattr(dlife, "STATUS_LABELS") else {}


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> DomainCall:
    return dcalls.parse_call(json.loads(text))


_OPEN_CALLS: dict[str, DomainCall] = {}


def domain_call(call_or_definition) -> DomainCall:
    """The domain ``Call`` of a stored call row (or of a plain definition dict).

    An open call's definition never changes (officers edit calls only while they are drafts), so it is parsed
    once per process and kept by id; the row's ``definition`` column is deferred and not even loaded then.
    """
    if isinstance(call_or_definition, dict):
        return _parse_cached(json.dumps(call_or_definition, sort_keys=True, ensure_ascii=False, default=str))
    row = call_or_definition
    if row.status != "draft":
        hit = _OPEN_CALLS.get(row.id)
        if hit is None:
            if len(_OPEN_CALLS) > 256:
                _OPEN_CALLS.clear()
            hit = _OPEN_CALLS[row.id] = dcalls.parse_call(row.definition)
        return hit
    return domain_call(row.definition)


def load_call_definition(definition: dict) -> dict:
    """Validate a posted call definition (the shape of the bundled YAML files); or ``{"template": 2025}``."""
    if not isinstance(definition, dict):
        raise BadRequest("call_invalid", "申报通知定义必须是对象")
    if "template" in definition:
        try:
            call = dcalls.load_bundled_call(int(definition["template"]))
        except (FileNotFoundError, ValueError):
            raise BadRequest("call_template_unknown", "没有该年度的申报通知模板",
                             {"available": dcalls.bundled_call_years()}) from None
        overrides = {k: v for k, v in definition.items() if k != "template"}
        if overrides:
            call = dcalls.parse_call({**call.definition, **overrides})
    else:
        call = dcalls.parse_call(definition)
    return {"year": call.year, "title": call.title, "doc_no": call.doc_no, "deadline_utc": call.deadline_utc,
            "definition": call.definition}


def programme(definition: dict, code: str | None) -> Programme:
    if not code:
        raise BadRequest("programme_required", "请选择申报项目类别")
    return domain_call(definition).programme(code)


def call_contacts(definition: dict, programme_code: str | None = None) -> list[dict]:
    call = domain_call(definition)
    contacts = call.contacts_for(programme_code) if programme_code else call.contacts
    return [{"name": c.name, "department": c.department, "phone": c.phones[0] if c.phones else "",
             "phones": list(c.phones), "email": c.email} for c in contacts]


def check_unit_may_apply(prog: Programme, unit_kind: str) -> None:
    dquota.check_eligible(prog, unit_kind)


def validate_form(prog: Programme, form: dict, strict: bool, definition: dict | None = None) -> None:
    if strict:
        dforms.validate_submission(prog, domain_call(definition), form)
    else:
        dforms.validate_draft(prog, form)


def check_deadline(definition: dict, now_utc: dt.datetime) -> None:
    dlife.check_deadline(now_utc, domain_call(definition))


def deadline_passed(definition: dict, now_utc: dt.datetime) -> bool:
    return dlife.deadline_passed(now_utc, domain_call(definition))


def validate_report(prog: Programme, form: dict) -> None:
    dforms.validate_report(prog, form, submit=True)


def transition(status: str, name: str, role: str) -> str:
    return dlife.transition(status, name, "intake_clerk" if role == "admin" and name == "receive" else role)


def check_required_documents(prog: Programme, present: set[str], attachments=None) -> None:
    ddocs.check_required_documents(prog, present, attachments)


def check_quota(prog: Programme, unit_kind: str, used: int) -> None:
    dquota.check_quota(prog, unit_kind, used)


def quota_usage(prog: Programme, unit_kind: str, used: int) -> dict:
    return dquota.quota_usage(prog, unit_kind, used)


def attachment_spec(prog: Programme, kind: str | None, attachments=None):
    return ddocs.attachment_for(prog, kind or "", attachments)


def check_upload_request(spec, data: dict) -> list[dict]:
    """What can be checked before the bytes exist: declared size, checksum format, file name."""
    problems = []
    sha = str(data.get("sha256") or "")
    if len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha):
        problems.append({"path": "sha256", "code": "invalid", "message": "请提供文件的 SHA-256 校验值（64位十六进制）"})
    size = data.get("size")
    if not isinstance(size, int) or size <= 0:
        problems.append({"path": "size", "code": "invalid", "message": "请提供文件大小（字节）"})
    elif size > spec.max_bytes:
        problems.append({"path": "size", "code": "file_too_large",
                         "message": f"「{spec.label}」单个文件不能超过 {spec.max_bytes // (1024 * 1024)} MB"})
    if not data.get("filename"):
        problems.append({"path": "filename", "code": "required", "message": "请提供文件名"})
    return problems


def validate_unit(data: dict) -> None:
    dunits.validate_unit(data)


def summary_title(prog: Programme, form: dict, fallback: str) -> str:
    key = prog.summary.title
    return str(form.get(key) or fallback) if key else fallback


__all__ = ["ValidationFailed"]

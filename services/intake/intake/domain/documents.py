"""Which documents a programme asks for, and whether an application has them (pure rules).

The object-store checks (magic bytes, SHA-256) are done by the service with grassroots.storage; this
module decides from the call file what is allowed and what is still missing.

Usage:
    att = attachment_for(prog, "stamped_form_scan")                 # or raises BadRequest unknown_document_kind
    check_document(prog, "stamped_form_scan", file_type="pdf", size=1_048_576, already_stored=0)
    check_required_documents(prog, ["stamped_form_scan"])           # raises ValidationFailed documents_missing
    # for a post-activity report: pass prog.report.attachments as ``attachments``
"""
from __future__ import annotations

from typing import Iterable

from grassroots.errors import BadRequest, ValidationFailed

from .model import Attachment, Programme

FILE_TYPE_LABELS = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG"}


def _mb(n: int) -> str:
    return f"{n / 1048576:.0f}MB" if n % 1048576 == 0 else f"{n / 1048576:.1f}MB"


def attachment_for(programme: Programme, kind: str, attachments: tuple[Attachment, ...] | None = None) -> Attachment:
    """The definition of document ``kind`` (raises BadRequest ``unknown_document_kind``)."""
    for a in programme.attachments if attachments is None else attachments:
        if a.kind == kind:
            return a
    raise BadRequest("unknown_document_kind", f"{programme.name}不需要该类材料：{kind}",
                     {"programme": programme.code, "kind": kind})


def check_document(programme: Programme, kind: str, *, file_type: str, size: int, already_stored: int = 0,
                   attachments: tuple[Attachment, ...] | None = None) -> Attachment:
    """Raise ValidationFailed ``document_invalid`` if a file of this type and size may not be stored as ``kind``.

    ``file_type`` is what the magic bytes say (pdf, jpeg, png, or anything else); ``already_stored`` is how
    many distinct documents of this kind the application has (new versions of one document do not count).
    """
    a = attachment_for(programme, kind, attachments)
    problems = []
    if file_type not in a.types:
        allowed = "、".join(FILE_TYPE_LABELS[t] for t in a.types)
        problems.append({"path": kind, "code": "file_type_not_allowed",
                         "message": f"「{a.label}」只接受 {allowed} 文件"})
    if size > a.max_bytes:
        problems.append({"path": kind, "code": "file_too_large",
                         "message": f"「{a.label}」单个文件不能超过{_mb(a.max_bytes)}"})
    if already_stored >= a.max_count:
        problems.append({"path": kind, "code": "too_many_files",
                         "message": f"「{a.label}」最多上传{a.max_count}个文件"})
    if problems:
        raise ValidationFailed("document_invalid", problems[0]["message"], problems)
    return a


def missing_documents(programme: Programme, present_kinds: Iterable[str],
                      attachments: tuple[Attachment, ...] | None = None) -> list[Attachment]:
    """The required documents not yet among ``present_kinds`` (kinds of stored, verified documents)."""
    present = set(present_kinds)
    return [a for a in (programme.attachments if attachments is None else attachments)
            if a.required and a.kind not in present]


def check_required_documents(programme: Programme, present_kinds: Iterable[str],
                             attachments: tuple[Attachment, ...] | None = None) -> None:
    """Raise ValidationFailed ``documents_missing`` naming every required document still missing."""
    missing = missing_documents(programme, present_kinds, attachments)
    if missing:
        raise ValidationFailed(
            "documents_missing", f"尚缺以下材料，请上传后再提交：{'、'.join(a.label for a in missing)}",
            [{"path": a.kind, "code": "document_missing", "message": f"请上传「{a.label}」"} for a in missing])

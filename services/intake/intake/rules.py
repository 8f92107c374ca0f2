"""Adapter between the use cases and the pure domain (``intake.domain``): call definitions, form rules,
deadline, quota and attachment checks, in the shapes the use cases need."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from grassroots.errors import BadRequest, Conflict, ValidationFailed

TZ = ZoneInfo("Asia/Shanghai")
STATUS_NAMES = {"draft": "草稿", "submitted": "已提交", "received": "已受理", "withdrawn": "已撤回",
                "forfeited": "视为放弃"}
UNIT_KINDS = {"league_city": "盟市人社局", "national_base": "国家级专家服务基地",
              "regional_base": "自治区级专家服务基地", "postdoc_station": "博士后科研流动站/工作站",
              "returnee_park": "留学人员创业园", "other": "其他有关单位"}
DEFAULT_ATTACHMENT = {"types": ["pdf", "jpeg", "png"], "max_size": 20 * 1024 * 1024}


def load_call_definition(definition: dict) -> dict:
    if not isinstance(definition, dict):
        raise BadRequest("call_invalid", "申报通知定义必须是对象")
    problems = []
    for key in ("year", "title", "deadline", "programmes"):
        if not definition.get(key):
            problems.append({"path": key, "code": "required", "message": f"缺少必填项 {key}"})
    deadline_utc = None
    if definition.get("deadline"):
        try:
            local = dt.datetime.fromisoformat(str(definition["deadline"]))
            if local.tzinfo is None:
                local = local.replace(tzinfo=TZ)
            deadline_utc = local.astimezone(dt.timezone.utc)
        except ValueError:
            problems.append({"path": "deadline", "code": "invalid_datetime",
                             "message": "截止时间格式应为 2025-01-24T23:59:59（北京时间）"})
    codes = set()
    for i, p in enumerate(definition.get("programmes") or []):
        if not p.get("code"):
            problems.append({"path": f"programmes[{i}].code", "code": "required", "message": "缺少项目代码"})
        elif p["code"] in codes:
            problems.append({"path": f"programmes[{i}].code", "code": "duplicate", "message": "项目代码重复"})
        codes.add(p.get("code"))
    if problems:
        raise ValidationFailed("call_invalid", "申报通知定义有误，请按提示修改", problems)
    return {"year": int(definition["year"]), "title": definition["title"], "doc_no": definition.get("doc_no"),
            "deadline_utc": deadline_utc, "definition": definition}


def programme(definition: dict, code: str | None) -> dict:
    for p in definition.get("programmes", []):
        if p.get("code") == code:
            return p
    raise BadRequest("programme_not_found", "该申报通知中没有此项目类别", {"programme_code": code})


def check_unit_may_apply(prog: dict, unit_kind: str) -> None:
    kinds = prog.get("unit_kinds")
    if kinds and unit_kind not in kinds:
        allowed = "、".join(UNIT_KINDS.get(k, k) for k in kinds)
        raise Conflict("unit_kind_not_eligible", f"本单位类型不能申报「{prog.get('name', prog['code'])}」，可申报单位：{allowed}")


def validate_form(prog: dict, form: dict, strict: bool) -> None:
    if not isinstance(form, dict):
        raise ValidationFailed("form_invalid", "申报表内容必须是对象", [])
    problems = []
    if strict:
        for field in prog.get("fields", []):
            if field.get("required") and form.get(field["key"]) in (None, "", []):
                problems.append({"path": field["key"], "code": "required",
                                 "message": f"「{field.get('label', field['key'])}」为必填项"})
    if problems:
        raise ValidationFailed("form_invalid", f"申报表有 {len(problems)} 处需要修改", problems)


def check_deadline(call, now_utc: dt.datetime) -> None:
    if now_utc > call.deadline:
        local = call.deadline.astimezone(TZ)
        raise Conflict("deadline_passed",
                       f"已超过申报截止时间（{local:%Y年%m月%d日 %H:%M}），逾期不报视为放弃",
                       {"deadline": call.deadline.isoformat()})


def check_required_documents(prog: dict, present: set[str]) -> None:
    missing = [a for a in prog.get("attachments", []) if a.get("required") and a["kind"] not in present]
    if missing:
        raise ValidationFailed("documents_missing", "缺少必需的附件，请先上传", [
            {"path": f"documents.{a['kind']}", "code": "required", "message": f"请上传「{a.get('label', a['kind'])}」"}
            for a in missing])


def quota_max(prog: dict, unit_kind: str):
    q = (prog.get("quota") or {}).get(unit_kind)
    if q is None:
        q = (prog.get("quota") or {}).get("default")
    if isinstance(q, dict):
        return q.get("max")
    return q


def check_quota(prog: dict, unit_kind: str, used: int) -> None:
    limit = quota_max(prog, unit_kind)
    if limit is not None and limit != "unlimited" and used >= int(limit):
        raise Conflict("quota_exceeded",
                       f"本单位「{prog.get('name', prog['code'])}」的申报名额为 {limit} 个，已用完",
                       {"quota": limit, "used": used})


def attachment_spec(prog: dict, kind: str | None) -> dict:
    for a in prog.get("attachments", []):
        if a["kind"] == kind:
            return {**DEFAULT_ATTACHMENT, **a}
    raise BadRequest("attachment_kind_unknown", "该项目没有此类附件", {"kind": kind})


def check_upload_request(spec: dict, data: dict) -> list[dict]:
    problems = []
    sha = str(data.get("sha256") or "")
    if len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha):
        problems.append({"path": "sha256", "code": "invalid", "message": "请提供文件的 SHA-256 校验值（64位十六进制）"})
    try:
        size = int(data.get("size"))
        if size <= 0 or size > spec["max_size"]:
            problems.append({"path": "size", "code": "too_large" if size > 0 else "invalid",
                             "message": f"文件大小须在 1 字节到 {spec['max_size'] // (1024 * 1024)} MB 之间"})
    except (TypeError, ValueError):
        problems.append({"path": "size", "code": "invalid", "message": "请提供文件大小（字节）"})
    if not data.get("filename"):
        problems.append({"path": "filename", "code": "required", "message": "请提供文件名"})
    return problems


def validate_unit(data: dict) -> list[dict]:
    problems = []
    if not (data.get("name") or "").strip():
        problems.append({"path": "name", "code": "required", "message": "请填写单位名称"})
    if data.get("kind") not in UNIT_KINDS:
        problems.append({"path": "kind", "code": "invalid_choice", "message": "单位类型不正确"})
    if not data.get("league_city_code"):
        problems.append({"path": "league_city_code", "code": "required", "message": "请选择所属盟市"})
    return problems

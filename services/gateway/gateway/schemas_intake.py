"""JSON schemas of the intake routes (validated at the edge and published in OpenAPI).

Form contents (``form``) are checked by the intake service against the call's form definition, which reports
every problem with its path; here only the envelope of each request is checked.
"""

STR = {"type": "string"}
ID = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_STR = {"type": ["string", "null"]}
UNIT_KINDS = ["league_city", "national_base", "regional_base", "postdoc_station", "returnee_park", "other"]
STATUSES = ["draft", "submitted", "received", "withdrawn", "forfeited"]

CONTACT = {"type": "object", "additionalProperties": False,
           "properties": {"name": STR, "department": STR, "phone": STR, "mobile": STR, "email": STR,
                          "position": STR, "user_id": STR}}
UNIT_FIELDS = {"name": {"type": "string", "minLength": 1, "maxLength": 200},
               "kind": {"enum": UNIT_KINDS, "description": "单位类型"},
               "league_city_code": {"type": "string", "pattern": "^[0-9]{6}$",
                                    "description": "所属盟市行政区划代码（12个盟市及满洲里市、二连浩特市）"},
               "uscc": {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$",
                        "description": "统一社会信用代码（按GB 32100校验码校验）"},
               "contacts": {"type": "array", "maxItems": 10, "items": CONTACT}}
INTAKE_UNIT = {"type": "object", "required": ["name", "kind", "league_city_code", "uscc"],
               "additionalProperties": False, "properties": UNIT_FIELDS}
INTAKE_UNIT_PATCH = {"type": "object", "additionalProperties": False, "minProperties": 1,
                     "properties": UNIT_FIELDS,
                     "description": "项目处可修改任意字段；申报单位只能修改本单位联系人（contacts）"}
UNIT_OUT = {"type": "object", "properties": {"id": STR, "name": STR, "kind": STR, "league_city_code": STR,
                                             "uscc": NULLABLE_STR, "contacts": {"type": "array"}}}

INTAKE_CALL = {
    "type": "object",
    "description": "年度申报通知定义：完整定义（格式同 services/intake/intake/calls/ 中的数据文件），"
                   "或 {\"template\": 2025, ...覆盖项}（以内置年度通知为模板，顶层键逐项覆盖）",
    "anyOf": [{"required": ["template"]},
              {"required": ["year", "title", "doc_no", "issued_on", "deadline", "contacts", "programmes"]}],
    "properties": {"template": {"type": "integer", "description": "内置通知年度，如 2023、2025"},
                   "year": {"type": "integer"}, "title": STR, "doc_no": STR, "issued_on": STR,
                   "deadline": {"type": "string", "description": "北京时间，如 2025-01-24T23:59:59"},
                   "deadline_note": STR, "contacts": {"type": "array", "items": {"type": "object"}},
                   "mailing_address": {"type": "object"},
                   "programmes": {"type": "array", "minItems": 1, "items": {"type": "object"}}}}
CALL_OUT = {"type": "object", "properties": {"id": STR, "year": {"type": "integer"}, "title": STR, "doc_no": STR,
                                             "deadline": STR, "status": {"enum": ["draft", "open"]},
                                             "opened_at": NULLABLE_STR, "definition": {"type": "object"}}}

INTAKE_NEW_APPLICATION = {"type": "object", "required": ["call_id", "programme_code"], "additionalProperties": False,
                          "properties": {"call_id": ID, "programme_code": STR, "title": STR,
                                         "form": {"type": "object", "description": "按项目表单定义填写，可只填一部分（草稿）"}}}
INTAKE_APPLICATION_PATCH = {"type": "object", "additionalProperties": False,
                            "properties": {"title": STR, "form": {"type": "object"}}}
DOCUMENT_OUT = {"type": "object", "properties": {
    "id": STR, "application_id": STR, "purpose": {"enum": ["application", "report"]}, "kind": STR, "filename": STR,
    "replaces_id": NULLABLE_STR, "status": {"enum": ["pending", "stored", "superseded", "rejected"]},
    "sha256": STR, "size": {"type": "integer"}, "content_type": NULLABLE_STR, "version_id": NULLABLE_STR,
    "problems": {"type": ["array", "null"]}, "created_at": STR, "stored_at": NULLABLE_STR}}
APPLICATION_OUT = {"type": "object", "properties": {
    "id": STR, "call_id": STR, "programme_code": STR, "unit_id": STR, "title": STR, "status": {"enum": STATUSES},
    "form": {"type": "object"}, "created_at": STR, "updated_at": STR, "submitted_at": NULLABLE_STR,
    "received_at": NULLABLE_STR, "ended_at": NULLABLE_STR, "end_reason": NULLABLE_STR,
    "report_due_on": NULLABLE_STR, "documents": {"type": "array", "items": DOCUMENT_OUT}}}
APPLICATION_PAGE = {"type": "object", "properties": {
    "items": {"type": "array", "items": APPLICATION_OUT}, "total": {"type": "integer"},
    "limit": {"type": "integer"}, "offset": {"type": "integer"}}}
APPLICATION_QUERY = {**{k: {"type": "string"} for k in ("call_id", "programme_code", "unit_id", "league_city_code")},
                     "status": {"type": "string", "description": "状态，可用逗号分隔多个：" + ",".join(STATUSES)},
                     "limit": {"type": "string", "description": "每页条数（1-500，默认50）"},
                     "offset": {"type": "string", "description": "跳过条数"}}

INTAKE_UPLOAD_REQUEST = {
    "type": "object", "required": ["kind", "filename", "size", "sha256"], "additionalProperties": False,
    "properties": {"kind": {"type": "string", "description": "材料类别，见申报通知中项目的 attachments"},
                   "filename": {"type": "string", "minLength": 1, "maxLength": 200},
                   "size": {"type": "integer", "minimum": 1},
                   "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                   "replaces": {"type": "string", "description": "上传新版本时，被替换的附件 id"}}}
UPLOAD_OUT = {"type": "object", "properties": {"document": DOCUMENT_OUT, "upload_url": STR, "method": STR,
                                               "expires_in": {"type": "integer"}}}
DOWNLOAD_OUT = {"type": "object", "properties": {"url": STR, "expires_in": {"type": "integer"},
                                                 "document": DOCUMENT_OUT}}
INTAKE_REASON = {"type": "object", "additionalProperties": False, "properties": {"reason": STR}}
INTAKE_NOTE = {"type": "object", "additionalProperties": False, "properties": {"note": STR}}

INTAKE_REPORT = {"type": "object", "required": ["form"], "additionalProperties": False,
                 "properties": {"form": {"type": "object",
                                         "description": "按项目 report.form 填写；照片说明中的 document_id 为已上传的活动照片"}}}
REPORT_OUT = {"type": "object", "properties": {
    "id": STR, "application_id": STR, "form": {"type": "object"}, "document_ids": {"type": "array", "items": STR},
    "activity_end": NULLABLE_STR, "due_on": NULLABLE_STR, "late": {"type": "boolean"}, "filed_by": STR,
    "filed_at": STR}}
REPORT_VIEW = {"type": "object", "properties": {
    "application_id": STR, "required": {"type": "boolean"}, "name": STR,
    "status": {"type": "object", "properties": {
        "state": {"enum": ["not_required", "due", "filed", "overdue"]}, "label": STR, "due_on": NULLABLE_STR,
        "due_at": NULLABLE_STR, "days_left": {"type": ["integer", "null"]}, "late": {"type": "boolean"}}},
    "report": {"oneOf": [REPORT_OUT, {"type": "null"}]}, "documents": {"type": "array", "items": DOCUMENT_OUT}}}

QUOTA_ROW = {"type": "object", "properties": {
    "programme": STR, "programme_name": STR, "unit_kind": STR, "min": {"type": ["integer", "null"]},
    "max": {"type": ["integer", "null"]}, "quota_label": STR, "used": {"type": "integer"},
    "remaining": {"type": ["integer", "null"]}, "below_minimum": {"type": "boolean"}}}
QUOTA_USAGE = {"type": "array", "items": {"type": "object", "properties": {
    "unit": UNIT_OUT, "programmes": {"type": "array", "items": QUOTA_ROW}}}}
UNIT_STANDING = {"type": "array", "items": {"type": "object", "properties": {
    "unit": UNIT_OUT, "drafts": {"type": "integer"}, "drafts_by_programme": {"type": "object"},
    "quota": {"type": "integer"}, "used": {"type": "integer"}, "quota_left": {"type": "integer"},
    "programmes": {"type": "array", "items": QUOTA_ROW}}}}

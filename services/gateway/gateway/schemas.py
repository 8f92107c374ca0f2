"""JSON schemas of request and response bodies (validated at the edge and published in OpenAPI)."""

STR = {"type": "string"}
ID = {"type": "string", "minLength": 1, "maxLength": 64}

TOKEN_REQUEST = {"type": "object", "required": ["username", "password"], "additionalProperties": False,
                 "properties": {"username": STR, "password": STR}}
TOKEN_RESPONSE = {"type": "object", "properties": {"access_token": STR, "token_type": STR,
                                                   "expires_in": {"type": "integer"}}}
USER = {"type": "object", "properties": {"id": STR, "username": STR, "role": STR, "unit_id": {"type": ["string", "null"]},
                                         "name": {"type": ["string", "null"]}}}
NEW_USER = {"type": "object", "required": ["username", "password", "role"], "additionalProperties": False,
            "properties": {"username": STR, "password": STR, "role": STR, "unit_id": STR, "name": STR,
                           "email": STR, "mobile": STR}}
CONTACT = {"type": "object", "properties": {"name": STR, "phone": STR, "mobile": STR, "email": STR,
                                            "position": STR, "user_id": STR}}
UNIT = {"type": "object", "required": ["name", "kind", "league_city_code"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "kind": {"enum": ["league_city", "national_base", "regional_base", "postdoc_station",
                                         "returnee_park", "other"]},
                       "league_city_code": {"type": "string", "pattern": "^[0-9]{6}$"},
                       "uscc": {"type": "string"}, "contacts": {"type": "array", "items": CONTACT}}}
CALL = {"type": "object",
        "description": "年度申报通知定义：完整定义（格式同 services/intake/intake/calls/ 中的数据文件），"
                       "或 {\"template\": 2025, ...覆盖项}（以内置年度通知为模板）",
        "anyOf": [{"required": ["template"]}, {"required": ["year", "title", "deadline", "programmes"]}],
        "properties": {"template": {"type": "integer"}, "year": {"type": "integer"}, "title": STR, "doc_no": STR,
                       "deadline": {"type": "string", "description": "北京时间，如 2025-01-24T23:59:59"},
                       "programmes": {"type": "array", "minItems": 1, "items": {"type": "object"}}}}
NEW_APPLICATION = {"type": "object", "required": ["call_id", "programme_code"], "additionalProperties": False,
                   "properties": {"call_id": ID, "programme_code": STR, "title": STR, "form": {"type": "object"}}}
APPLICATION_PATCH = {"type": "object", "additionalProperties": False,
                     "properties": {"title": STR, "form": {"type": "object"}}}
UPLOAD_REQUEST = {"type": "object", "required": ["kind", "filename", "size", "sha256"], "additionalProperties": False,
                  "properties": {"kind": STR, "filename": STR, "size": {"type": "integer", "minimum": 1},
                                 "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}}
REASON = {"type": "object", "additionalProperties": False, "properties": {"reason": STR}}
NOTE = {"type": "object", "additionalProperties": False, "properties": {"note": STR}}
EXPERT = {"type": "object", "required": ["name", "title_level", "league_city_code"],
          "properties": {"name": STR, "title_level": STR, "league_city_code": STR, "unit_id": STR, "unit_name": STR,
                         "title": STR, "specialty": STR, "tags": {"type": "array", "items": STR}}}
DISBURSEMENT = {"type": "object", "required": ["amount"], "additionalProperties": False,
                "properties": {"amount": {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$",
                                          "description": "金额（元），字符串形式的精确小数"},
                               "purpose": STR, "idempotency_key": STR}}
PAID = {"type": "object", "required": ["bank_ref"], "additionalProperties": False, "properties": {"bank_ref": STR}}

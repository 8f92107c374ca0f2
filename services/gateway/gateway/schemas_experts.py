"""JSON schemas of the experts routes (validated at the edge and published in OpenAPI).

The experts service checks every field again and reports each problem with its path; here only the shape
of each request is checked. Resident ID numbers appear in full only in ``EXPERT_OUT.id_number`` for admins.
"""

STR = {"type": "string"}
ID = {"type": "string", "minLength": 1, "maxLength": 64}
NSTR = {"type": ["string", "null"]}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "日期，如 2025-06-01"}
REGION = {"type": "string", "pattern": "^[0-9]{6}$", "description": "盟市行政区划代码（12个盟市及满洲里市、二连浩特市）"}
TITLE_LEVEL = {"type": "string", "description": "职称级别：正高级、副高级、中级、初级、无（或 senior、associate_senior ...）"}
POOL_STATUSES = ["registered", "recommended", "admitted", "recommended_national", "rejected"]
WINDOW = {"type": "object", "required": ["start", "end"], "additionalProperties": False,
          "properties": {"start": DATE, "end": DATE, "reason": STR}}

SELF_FIELDS = {
    "mobile": STR, "office_phone": STR, "email": STR, "specialty": STR, "research_areas": STR,
    "tags": {"type": "array", "items": STR, "description": "专业领域标签（目录中的标签或其同义词）"},
    "healthy": {"type": "boolean"}, "willing": {"type": "boolean"},
    "unavailable": {"type": "array", "items": WINDOW, "description": "不能参加服务的时段"},
    "talent_programmes": STR, "major_projects": STR, "service_record": STR,
}
PROFILE_FIELDS = {
    **SELF_FIELDS, "name": STR, "gender": {"enum": ["male", "female", "男", "女"]},
    "birth_year": {"type": "integer"}, "ethnicity": STR,
    "id_number": {"type": "string", "description": "居民身份证号码（18位，校验位校验）；只加密保存，不回显"},
    "league_city_code": REGION, "unit_id": STR, "unit_name": STR, "position": STR, "title": STR,
    "title_level": TITLE_LEVEL, "capacity": {"type": "integer", "minimum": 0, "maximum": 20,
                                             "description": "同时承担服务任务上限"},
    "review_capacity": {"type": "integer", "minimum": 0, "maximum": 50}, "user_id": STR,
}
RECOMMENDATION_IN = {"type": "object", "required": ["call_id"], "additionalProperties": False,
                     "properties": {"call_id": ID, "unit_id": STR, "unit_name": STR,
                                    "unit_kind": {"enum": ["league_city", "national_base", "regional_base", "other"]},
                                    "league_city_code": REGION, "opinion": STR}}
NEW_EXPERT = {"type": "object", "additionalProperties": False,
              "required": ["name", "gender", "id_number", "league_city_code", "unit_name", "title", "title_level",
                           "specialty"],
              "properties": {**PROFILE_FIELDS, "recommendation": RECOMMENDATION_IN}}
EXPERT_PATCH = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": PROFILE_FIELDS,
                "description": "业务处室可修改任意字段；专家本人只能修改联系方式、专业领域、声明和不能参加服务的时段"}
SELF_PATCH = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": SELF_FIELDS}
RECOMMENDATION_OUT = {"type": "object", "properties": {
    "id": STR, "call_id": STR, "unit_id": NSTR, "unit_name": STR, "league_city_code": STR, "source": STR,
    "application_id": NSTR, "status": STR, "created_at": STR}}
EXPERT_OUT = {"type": "object", "properties": {
    "id": STR, "user_id": NSTR, "name": STR, "gender": STR, "birth_year": {"type": "integer"}, "ethnicity": STR,
    "id_number_masked": {"type": "string", "description": "遮蔽后的身份证号码，如 150102********1234"},
    "id_number": {"type": "string", "description": "完整身份证号码：仅系统管理员可见"},
    "unit_id": NSTR, "unit_name": STR, "league_city_code": STR, "position": STR, "title": STR, "title_level": STR,
    "specialty": STR, "research_areas": STR, "tags": {"type": "array", "items": STR}, "talent_programmes": STR,
    "major_projects": STR, "service_record": STR, "healthy": {"type": "boolean"}, "willing": {"type": "boolean"},
    "mobile": STR, "office_phone": STR, "email": STR, "capacity": {"type": "integer"},
    "review_capacity": {"type": "integer"}, "unavailable": {"type": "array", "items": WINDOW},
    "pool_status": {"enum": POOL_STATUSES}, "pool_status_label": STR, "pool_exception_reason": NSTR,
    "pool_decided_at": NSTR, "score": {"type": "number"}, "created_at": STR, "updated_at": STR,
    "recommendations": {"type": "array", "items": RECOMMENDATION_OUT}}}
EXPERT_PAGE = {"type": "object", "properties": {"items": {"type": "array", "items": EXPERT_OUT},
                                                "total": {"type": "integer"}, "limit": {"type": "integer"},
                                                "offset": {"type": "integer"}}}
PAGE_QUERY = {"limit": {"type": "string", "description": "每页条数（1-500，默认50）"},
              "offset": {"type": "string", "description": "跳过条数"}}
EXPERT_QUERY = {"pool_status": {"type": "string", "description": "入库状态，可逗号分隔：" + ",".join(POOL_STATUSES)},
                "league_city_code": STR, "unit_id": STR, "title_level": STR, "name": STR, **PAGE_QUERY}
SEARCH_QUERY = {"q": {"type": "string", "description": "专业领域关键词（中文分词 + BM25 排序）"},
                "tag": {"type": "string", "description": "专业领域标签"},
                "league_city_code": {"type": "string", "description": "所在盟市，可逗号分隔"},
                "title_level_min": {"type": "string", "description": "最低职称级别，如 副高级"},
                "available_from": DATE, "available_to": DATE,
                "pool_status": {"type": "string", "description": "入库状态，可逗号分隔"}, **PAGE_QUERY}

ADMIT = {"type": "object", "additionalProperties": False,
         "properties": {"exception_reason": {"type": "string", "minLength": 1,
                                             "description": "职称低于副高级时的破格理由"}}}
REASON = {"type": "object", "additionalProperties": False, "properties": {"reason": STR}}
REASON_REQUIRED = {"type": "object", "required": ["reason"], "additionalProperties": False,
                   "properties": {"reason": {"type": "string", "minLength": 1}}}
IMPORT = {"type": "object", "required": ["call_id", "content_base64"], "additionalProperties": False,
          "properties": {"call_id": ID, "content_base64": {"type": "string", "description": "专家推荐表 .xlsx 的 base64"},
                         "filename": STR, "unit_id": {"type": "string", "description": "推荐单位（不填则按各行所在盟市计名额）"},
                         "unit_name": STR,
                         "unit_kind": {"enum": ["league_city", "national_base", "regional_base", "other"]}}}
IMPORT_OUT = {"type": "object", "properties": {
    "imported": {"type": "integer"}, "created": {"type": "integer"}, "existing": {"type": "integer"},
    "experts": {"type": "array", "items": {"type": "object"}}}}

HISTORY_IN = {"type": "object", "required": ["project"], "additionalProperties": False,
              "properties": {"project": STR, "role": STR, "place": STR, "start": DATE, "end": DATE, "feedback": STR,
                             "rating": {"type": "integer", "minimum": 1, "maximum": 5}, "demand_id": STR,
                             "application_id": STR}}
FEEDBACK_IN = {"type": "object", "required": ["feedback"], "additionalProperties": False,
               "properties": {"feedback": {"type": "string", "minLength": 1},
                              "rating": {"type": "integer", "minimum": 1, "maximum": 5}}}
HISTORY_OUT = {"type": "object", "properties": {
    "id": STR, "expert_id": STR, "demand_id": NSTR, "application_id": NSTR, "assignment_id": NSTR, "project": STR,
    "role": STR, "place": STR, "start": NSTR, "end": NSTR, "feedback": STR, "rating": {"type": ["integer", "null"]},
    "source": {"enum": ["match", "officer"]}, "created_at": STR, "feedback_at": NSTR}}
CONFLICT_IN = {"type": "object", "required": ["reason"], "additionalProperties": False,
               "properties": {"unit_id": STR, "subject_id": {"type": "string", "description": "具体需求或申报的 id"},
                              "reason": {"type": "string", "minLength": 1}}}
CONFLICT_OUT = {"type": "object", "properties": {"id": STR, "expert_id": STR, "unit_id": NSTR, "subject_id": NSTR,
                                                 "reason": STR, "declared_by": STR, "created_at": STR}}

DEMAND_FIELDS = {"title": STR, "description": STR, "field": STR, "demand_unit": STR, "league_city_code": REGION,
                 "place": STR, "start": DATE, "end": DATE, "experts_wanted": {"type": "integer", "minimum": 1,
                                                                              "maximum": 20},
                 "tags": {"type": "array", "items": STR}}
NEW_DEMAND = {"type": "object", "additionalProperties": False,
              "required": ["title", "description", "league_city_code", "start", "end"],
              "properties": {**DEMAND_FIELDS, "unit_id": STR, "call_id": STR}}
DEMAND_PATCH = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": DEMAND_FIELDS}
DEMAND_OUT = {"type": "object", "properties": {
    **{k: STR for k in ("id", "title", "description", "field", "demand_unit", "league_city_code", "place",
                        "unit_name", "created_at")},
    "call_id": NSTR, "source_application_id": NSTR, "unit_id": NSTR, "start": STR, "end": STR,
    "experts_wanted": {"type": "integer"}, "experts_confirmed": {"type": "integer"},
    "tags": {"type": "array", "items": STR}, "status": {"enum": ["open", "cancelled"]}, "cancel_reason": NSTR}}
DEMAND_PAGE = {"type": "object", "properties": {"items": {"type": "array", "items": DEMAND_OUT},
                                                "total": {"type": "integer"}, "limit": {"type": "integer"},
                                                "offset": {"type": "integer"}}}
DEMAND_QUERY = {"status": STR, "league_city_code": STR, "source_application_id": STR, "unit_id": STR,
                "call_id": STR, **PAGE_QUERY}

PROPOSE = {"type": "object", "required": ["demand_ids"], "additionalProperties": False,
           "properties": {"demand_ids": {"type": "array", "minItems": 1, "maxItems": 2000, "items": ID}}}
CONFIRM = {"type": "object", "additionalProperties": False,
           "properties": {"item_ids": {"type": "array", "items": ID, "description": "不填则确认方案中全部待定项"}}}
SWAP = {"type": "object", "required": ["expert_id"], "additionalProperties": False,
        "properties": {"expert_id": ID, "reason": STR,
                       "confirm": {"type": "boolean", "description": "替换后立即确认"}}}
EXPLANATION = {"type": "object", "description": "匹配理由：matched_terms（共同专业词）、region_relation、title_level、"
                                                "load_after/capacity、breakdown、summary（中文说明）"}
ASSIGNMENT_OUT = {"type": "object", "properties": {
    "id": STR, "proposal_id": STR, "demand_id": STR, "expert_id": STR, "fit": {"type": "number"},
    "explanation": EXPLANATION,
    "status": {"enum": ["proposed", "confirmed", "rejected", "replaced", "cancelled"]},
    "replaces_id": NSTR, "decided_at": NSTR, "note": NSTR, "expert": {"type": "object"}}}
UNMET_OUT = {"type": "object", "properties": {
    "demand_id": STR, "wanted": {"type": "integer"}, "filled": {"type": "integer"},
    "reason": {"enum": ["no_specialty_match", "all_candidates_conflicted", "all_candidates_unavailable",
                        "too_few_candidates", "candidates_at_load_cap"]},
    "message": STR, "counts": {"type": "object"}}}
PROPOSAL_OUT = {"type": "object", "properties": {
    "id": STR, "demand_ids": {"type": "array", "items": STR}, "total_fit": {"type": "number"},
    "slots_wanted": {"type": "integer"}, "slots_filled": {"type": "integer"},
    "unmet": {"type": "array", "items": UNMET_OUT}, "stats": {"type": "object"}, "created_at": STR,
    "items": {"type": "array", "items": ASSIGNMENT_OUT}}}
MATCH_QUERY = {"demand_id": STR, "expert_id": STR, "status": STR, "proposal_id": STR}

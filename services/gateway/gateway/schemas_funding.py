"""JSON schemas of the funding routes and the auditors' API (validated at the edge, published in OpenAPI).

Amounts are strings of yuan with at most two decimals ("150000.00"), never JSON numbers: a float would
round. The funding service checks everything again (budget, four eyes, state, bank account).
"""

STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
AMOUNT = {"type": "string", "pattern": r"^\d{1,16}(\.\d{1,2})?$", "description": "金额（元），字符串形式的精确小数"}
NULLABLE_AMOUNT = {"type": ["string", "null"]}
CATEGORY_AMOUNTS = {"type": "object", "minProperties": 1, "additionalProperties": AMOUNT,
                    "propertyNames": {"enum": ["expert_fees", "travel", "meetings", "printing", "training", "venue",
                                               "other"]},
                    "description": "支出科目：expert_fees 专家劳务费、travel 差旅费、meetings 会议费、printing 资料印刷费、"
                                   "training 培训费、venue 场地租赁费、other 其他"}
BANK_ACCOUNT = {"type": "object", "additionalProperties": False,
                "required": ["interbank_code", "account_number", "account_name", "bank_name"],
                "properties": {"interbank_code": {"type": "string", "description": "开户行联行号（12位数字）"},
                               "account_number": {"type": "string", "description": "银行账号"},
                               "account_name": {"type": "string", "description": "户名，须与单位登记名称一致"},
                               "bank_name": {"type": "string", "description": "开户银行"}}}

BUDGET_AMOUNT = {"type": "object", "required": ["amount"], "additionalProperties": False,
                 "properties": {"amount": AMOUNT, "reason": {"type": "string", "maxLength": 500,
                                                             "description": "修改已下达金额时必填"}}}
BUDGET_PLAN = {"type": "object", "required": ["plan"], "additionalProperties": False,
               "properties": {"plan": CATEGORY_AMOUNTS, "reason": {"type": "string", "maxLength": 500}}}
BANK_CHANGE = {"type": "object", "required": ["bank_account"], "additionalProperties": False,
               "properties": {"bank_account": BANK_ACCOUNT,
                              "reason": {"type": "string", "maxLength": 500,
                                         "description": "账户已冻结（已有审批通过的拨付）时必填，变更须另一名财务人员审批"}}}
REASON = {"type": "object", "additionalProperties": False, "properties": {"reason": {"type": "string", "maxLength": 500}}}
REQUIRED_REASON = {"type": "object", "required": ["reason"], "additionalProperties": False,
                   "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}}
DISBURSEMENT_REQUEST = {
    "type": "object", "required": ["amount"], "additionalProperties": False,
    "description": "幂等键用请求头 Idempotency-Key 或字段 idempotency_key 传入：同一键、同一内容返回首次结果；"
                   "同一键、不同内容返回 409 idempotency_key_reused",
    "properties": {"amount": AMOUNT, "purpose": {"type": "string", "maxLength": 500},
                   "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200}}}
PAID = {"type": "object", "additionalProperties": False,
        "anyOf": [{"required": ["bank_reference"]}, {"required": ["bank_ref"]}],
        "properties": {"bank_reference": {"type": "string", "minLength": 1, "maxLength": 100,
                                          "description": "银行交易流水号（回单号）"},
                       "bank_ref": {"type": "string", "minLength": 1, "maxLength": 100,
                                    "description": "bank_reference 的旧名称，仍然接受"}}}
RETURN = {"type": "object", "required": ["amount", "bank_reference"], "additionalProperties": False,
          "properties": {"amount": AMOUNT, "bank_reference": {"type": "string", "minLength": 1, "maxLength": 100},
                         "reason": {"type": "string", "maxLength": 500}}}
FINAL_ACCOUNTS = {"type": "object", "required": ["spending"], "additionalProperties": False,
                  "properties": {"spending": {**CATEGORY_AMOUNTS, "description": "按支出科目填写的实际支出"},
                                 "note": {"type": "string", "maxLength": 1000}}}

BUDGET_OUT = {"type": "object", "properties": {
    "id": STR, "call_id": STR, "programme": STR, "programme_name": NULLABLE_STR, "unit_id": STR, "unit_name": STR,
    "league_city": NULLABLE_STR, "project_id": NULLABLE_STR, "title": STR, "source": {"enum": ["ministry", "department"]},
    "amount": NULLABLE_AMOUNT, "status": {"enum": ["awaiting_amount", "active", "withdrawal_blocked", "withdrawn"]},
    "status_label": NULLABLE_STR, "withdrawal": {"type": ["object", "null"], "description": "撤销预算的原因与依据"},
    "plan": {"type": ["object", "null"]},
    "bank_account": {"type": ["object", "null"]}, "bank_problems": {"type": ["array", "null"]},
    "bank_frozen": {"type": "boolean"}, "bank_version": {"type": "integer"}, "bank_pending": {"type": ["object", "null"]},
    "committed": NULLABLE_AMOUNT, "disbursed": NULLABLE_AMOUNT, "available": NULLABLE_AMOUNT, "created_at": STR}}
DISBURSEMENT_OUT = {"type": "object", "properties": {
    "id": STR, "budget_id": STR, "tranche": {"type": "integer"}, "amount": STR, "returned_amount": STR,
    "net_amount": STR, "status": {"enum": ["requested", "approved", "paid", "failed", "returned", "rejected",
                                           "cancelled"]},
    "status_label": STR, "purpose": STR, "requested_by": STR, "requested_at": STR, "approved_by": NULLABLE_STR,
    "approved_at": NULLABLE_STR, "paid_at": NULLABLE_STR, "bank_reference": NULLABLE_STR,
    "failed_reason": NULLABLE_STR, "bank_account": {"type": ["object", "null"]},
    "replayed": {"type": "boolean", "description": "幂等重放：返回的是首次请求的结果"}}}
FINAL_ACCOUNTS_OUT = {"type": "object", "properties": {
    "id": STR, "budget_id": STR, "version": {"type": "integer"}, "spending": {"type": "object"},
    "flags": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"enum": ["category_over_budget", "total_over_budget", "outside_earmark", "spent_more_than_received",
                          "unspent_balance"]},
        "severity": {"enum": ["error", "warning", "info"]}, "category": NULLABLE_STR, "message": STR}}},
    "flagged": {"type": "boolean"}, "reported_by": STR, "reported_at": STR, "budget": {"type": "object"}}}

FILTER_QUERY = {
    "call_id": {"type": "string", "description": "申报通知"},
    "programme": {"type": "string", "description": "项目类别代码（也接受 programme_code）"},
    "unit_id": {"type": "string", "description": "单位"},
    "league_city": {"type": "string", "description": "盟市代码（也接受 league_city_code）"},
    "project_id": {"type": "string", "description": "申报项目（也接受 application_id）"},
    "budget_id": {"type": "string"},
    "date_from": {"type": "string", "description": "起始日期（北京时间，含当日），如 2025-03-01"},
    "date_to": {"type": "string", "description": "截止日期（北京时间，含当日）"},
    "amount_min": {"type": "string", "description": "金额下限（元）"},
    "amount_max": {"type": "string", "description": "金额上限（元）"},
    "status": {"type": "string", "description": "拨付：状态；账簿：业务类型；审计记录：操作。可用逗号分隔多个"},
    "limit": {"type": "string", "description": "每页条数（1-500，默认50）"},
    "offset": {"type": "string", "description": "跳过条数"},
    "reason": {"type": "string", "description": "查询目的（记入审计记录）"},
}
LEDGER_QUERY = {**FILTER_QUERY, "account": {"type": "string", "description": "科目，如 budget:<id>:disbursed"}}
AUDIT_QUERY = {**FILTER_QUERY, "entity": STR, "entity_id": {"type": "string", "description": "对象编号，如拨付编号"},
               "actor_id": STR}
EXPORT_QUERY = {k: v for k, v in FILTER_QUERY.items() if k not in ("limit", "offset")}
PAGE = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                         "total": {"type": "integer"}, "totals": {"type": "object"},
                                         "limit": {"type": "integer"}, "offset": {"type": "integer"}}}
VERIFY_OUT = {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "checked": {"type": "integer"}, "head_seq": {"type": ["integer", "null"]},
    "head_hash": NULLABLE_STR, "broken_seq": {"type": ["integer", "null"], "description": "第一条损坏记录的序号"},
    "kind": NULLABLE_STR, "message": NULLABLE_STR, "checkpoints": {"type": "object"}}}
CHECKPOINTS_OUT = {"type": "object", "properties": {
    "algorithm": STR, "message_format": STR,
    "keys": {"type": "array", "items": {"type": "object", "properties": {
        "key_id": STR, "public_key_pem": STR, "current": {"type": "boolean"}}}},
    "checkpoints": {"type": "array", "items": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "head_hash": STR, "at": STR, "key_id": STR, "signature": STR}}}}}

"""Routes of the funding service (budgets, disbursements, bank account, final accounts) and the auditors'
API under /api/v1/audit. The funding service decides who may do what (four eyes included); the role
lists here only turn away requests that could never succeed."""
from __future__ import annotations

import base64
from urllib.parse import quote

from werkzeug.wrappers import Response

from .. import schemas_funding as S
from ..api import route

T = ("funding",)
A = ("audit",)
FINANCE = ("finance_officer",)
SETTERS = ("finance_officer", "programme_officer")
READERS = ("finance_officer", "programme_officer", "auditor", "admin")
UNIT = ("applicant_unit",)


def _file(out: dict) -> Response:
    return Response(base64.b64decode(out["content_base64"]), status=200, mimetype=out["mimetype"],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(out['filename'])}",
                             "X-Row-Count": str(out["rows"])})


class FundingRoutes:
    # budgets ----------------------------------------------------------------------------------------
    @route("GET", "/api/v1/funding/budgets", summary="预算列表（申报单位只看到本单位）", tags=T, roles=READERS + UNIT,
           query={k: {"type": "string"} for k in ("call_id", "programme", "unit_id", "league_city", "project_id",
                                                  "source", "status")},
           response={"type": "array", "items": S.BUDGET_OUT})
    def list_budgets(self, req):
        return req.rpc("funding", "list_budgets", req.query)

    @route("GET", "/api/v1/funding/budgets/{budget_id}", summary="预算详情（含已占用、已拨付、可用余额）", tags=T,
           roles=READERS + UNIT, response=S.BUDGET_OUT)
    def get_budget(self, req):
        return req.rpc("funding", "get_budget", req.params["budget_id"])

    @route("PUT", "/api/v1/funding/budgets/{budget_id}/amount", summary="核定或调整预算金额（调整须说明原因，以冲销分录更正）",
           tags=T, roles=SETTERS, body=S.BUDGET_AMOUNT, response=S.BUDGET_OUT)
    def set_budget_amount(self, req):
        return req.rpc("funding", "set_budget_amount", req.params["budget_id"], req.body)

    @route("PUT", "/api/v1/funding/budgets/{budget_id}/plan", summary="按支出科目编制预算（决算的专款专用依据）",
           tags=T, roles=SETTERS, body=S.BUDGET_PLAN, response=S.BUDGET_OUT)
    def set_budget_plan(self, req):
        return req.rpc("funding", "set_budget_plan", req.params["budget_id"], req.body)

    @route("PUT", "/api/v1/funding/budgets/{budget_id}/bank-account",
           summary="更换收款账户（首笔拨付审批后须另一名财务人员审批）", tags=T, roles=FINANCE, body=S.BANK_CHANGE,
           response=S.BUDGET_OUT)
    def change_bank_account(self, req):
        return req.rpc("funding", "change_bank_account", req.params["budget_id"], req.body)

    @route("POST", "/api/v1/funding/budgets/{budget_id}/bank-account/approve", summary="审批收款账户变更（另一名财务人员）",
           tags=T, roles=FINANCE, body=S.REASON, response=S.BUDGET_OUT)
    def approve_bank_account_change(self, req):
        return req.rpc("funding", "approve_bank_account_change", req.params["budget_id"], req.body.get("reason", ""))

    @route("POST", "/api/v1/funding/budgets/{budget_id}/bank-account/withdraw", summary="撤回或驳回收款账户变更",
           tags=T, roles=FINANCE, body=S.REASON, response=S.BUDGET_OUT)
    def withdraw_bank_account_change(self, req):
        return req.rpc("funding", "withdraw_bank_account_change", req.params["budget_id"], req.body.get("reason", ""))

    # disbursements ----------------------------------------------------------------------------------
    @route("POST", "/api/v1/funding/budgets/{budget_id}/disbursements", summary="申请拨付（分批；须带幂等键）",
           tags=T, roles=FINANCE, body=S.DISBURSEMENT_REQUEST, response=S.DISBURSEMENT_OUT, status=201)
    def request_disbursement(self, req):
        body = dict(req.body)
        if not body.get("idempotency_key"):
            body["idempotency_key"] = req.http.headers.get("Idempotency-Key", "")
        return req.rpc("funding", "request_disbursement", req.params["budget_id"], body)

    @route("GET", "/api/v1/funding/disbursements/{disbursement_id}", summary="拨付详情", tags=T, roles=READERS,
           response=S.DISBURSEMENT_OUT)
    def get_disbursement(self, req):
        return req.rpc("funding", "get_disbursement", req.params["disbursement_id"])

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/approve",
           summary="审批拨付（须另一名财务人员；同时冻结收款账户）", tags=T, roles=FINANCE, body=S.REASON,
           response=S.DISBURSEMENT_OUT)
    def approve_disbursement(self, req):
        return req.rpc("funding", "approve_disbursement", req.params["disbursement_id"], req.body.get("reason", ""))

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/reject", summary="驳回拨付申请", tags=T,
           roles=FINANCE, body=S.REQUIRED_REASON, response=S.DISBURSEMENT_OUT)
    def reject_disbursement(self, req):
        return req.rpc("funding", "reject_disbursement", req.params["disbursement_id"], req.body["reason"])

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/cancel", summary="撤销拨付申请", tags=T,
           roles=FINANCE, body=S.REQUIRED_REASON, response=S.DISBURSEMENT_OUT)
    def cancel_disbursement(self, req):
        return req.rpc("funding", "cancel_disbursement", req.params["disbursement_id"], req.body["reason"])

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/paid", summary="登记已支付（银行交易流水号）",
           tags=T, roles=FINANCE, body=S.PAID, response=S.DISBURSEMENT_OUT)
    def mark_paid(self, req):
        body = req.body
        return req.rpc("funding", "mark_paid", req.params["disbursement_id"],
                       body.get("bank_reference") or body.get("bank_ref"))

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/failed", summary="登记支付失败（说明原因）",
           tags=T, roles=FINANCE, body=S.REQUIRED_REASON, response=S.DISBURSEMENT_OUT)
    def mark_failed(self, req):
        return req.rpc("funding", "mark_failed", req.params["disbursement_id"], req.body["reason"])

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/returned", summary="登记资金退回（可部分退回）",
           tags=T, roles=FINANCE, body=S.RETURN, response=S.DISBURSEMENT_OUT)
    def record_return(self, req):
        return req.rpc("funding", "record_return", req.params["disbursement_id"], req.body)

    # final accounts ---------------------------------------------------------------------------------
    @route("POST", "/api/v1/funding/budgets/{budget_id}/final-accounts", summary="报送决算（按支出科目）", tags=T,
           roles=UNIT, body=S.FINAL_ACCOUNTS, response=S.FINAL_ACCOUNTS_OUT, status=201)
    def submit_final_accounts(self, req):
        return req.rpc("funding", "submit_final_accounts", req.params["budget_id"], req.body)

    @route("GET", "/api/v1/funding/final-accounts", summary="决算列表（超支、超范围支出标记在前）", tags=T,
           roles=READERS, query={**{k: {"type": "string"} for k in ("call_id", "programme", "unit_id", "league_city",
                                                                     "project_id", "reason")},
                                 "flagged": {"type": "string", "description": "1：只看有问题的决算"}})
    def list_final_accounts(self, req):
        return req.rpc("funding", "final_accounts", req.query)

    # the auditors' API ------------------------------------------------------------------------------
    @route("GET", "/api/v1/audit/disbursements", summary="拨付记录查询（分页、合计；查询本身记入审计）", tags=A,
           roles=READERS, query=S.FILTER_QUERY, response=S.PAGE)
    def audit_disbursements(self, req):
        return req.rpc("funding", "search", "disbursements", req.query)

    @route("GET", "/api/v1/audit/ledger", summary="账簿分录查询（分页、借贷合计）", tags=A, roles=READERS,
           query=S.LEDGER_QUERY, response=S.PAGE)
    def audit_ledger(self, req):
        return req.rpc("funding", "search", "ledger", req.query)

    @route("GET", "/api/v1/audit/records", summary="审计记录查询（哈希链）", tags=A, roles=READERS,
           query=S.AUDIT_QUERY, response=S.PAGE)
    def audit_records(self, req):
        return req.rpc("funding", "search", "audit", req.query)

    @route("GET", "/api/v1/audit/{kind}/export.{fmt}", summary="导出（kind: disbursements|ledger|records；fmt: csv|xlsx）",
           tags=A, roles=READERS, query=S.EXPORT_QUERY)
    def audit_export(self, req):
        kind = {"records": "audit"}.get(req.params["kind"], req.params["kind"])
        return _file(req.rpc("funding", "export", kind, req.params["fmt"], req.query))

    @route("GET", "/api/v1/audit/verify", summary="校验审计链（指出第一条损坏的记录，并与已签名检查点比对）", tags=A,
           roles=READERS, query={"reason": {"type": "string"}}, response=S.VERIFY_OUT)
    def verify_audit_chain(self, req):
        return req.rpc("funding", "verify_audit_chain", req.query.get("reason", ""))

    @route("GET", "/api/v1/audit/checkpoints", summary="审计链签名检查点及验签公钥（供审计方离线保存）", tags=A,
           roles=READERS, query={"reason": {"type": "string"}}, response=S.CHECKPOINTS_OUT)
    def audit_checkpoints(self, req):
        return req.rpc("funding", "audit_checkpoints", req.query.get("reason", ""))

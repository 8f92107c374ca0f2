"""Routes of the funding service and the auditors' API."""
from __future__ import annotations

from .. import schemas as S
from ..api import route


class FundingRoutes:
    @route("GET", "/api/v1/funding/budgets", summary="预算列表", tags=("funding",),
           roles=("finance_officer", "auditor", "programme_officer", "admin"),
           query={k: {"type": "string"} for k in ("call_id", "programme_code", "unit_id", "league_city_code",
                                                  "application_id")})
    def list_budgets(self, req):
        return req.rpc("funding", "list_budgets", req.query)

    @route("POST", "/api/v1/funding/budgets/{budget_id}/disbursements", summary="申请拨款（带幂等键）",
           tags=("funding",), roles=("finance_officer",), body=S.DISBURSEMENT, status=201)
    def request_disbursement(self, req):
        body = dict(req.body)
        body.setdefault("idempotency_key", req.http.headers.get("Idempotency-Key", ""))
        return req.rpc("funding", "request_disbursement", req.params["budget_id"], body)

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/approve", summary="审批拨款（须另一名财务人员）",
           tags=("funding",), roles=("finance_officer",), body=S.REASON)
    def approve_disbursement(self, req):
        return req.rpc("funding", "approve_disbursement", req.params["disbursement_id"], req.body.get("reason", ""))

    @route("POST", "/api/v1/funding/disbursements/{disbursement_id}/paid", summary="登记已支付（银行回单号）",
           tags=("funding",), roles=("finance_officer",), body=S.PAID)
    def mark_paid(self, req):
        return req.rpc("funding", "mark_paid", req.params["disbursement_id"], req.body["bank_ref"])

    @route("GET", "/api/v1/funding/disbursements", summary="拨款列表", tags=("funding",),
           roles=("finance_officer", "auditor", "programme_officer", "admin"),
           query={"budget_id": {"type": "string"}, "status": {"type": "string"}})
    def list_disbursements(self, req):
        return req.rpc("funding", "list_disbursements", req.query)

    @route("GET", "/api/v1/audit/records", summary="审计记录（哈希链）", tags=("audit",),
           roles=("auditor", "finance_officer", "admin"), query={"entity_id": {"type": "string"}})
    def audit_records(self, req):
        return req.rpc("funding", "audit_records", req.query)

    @route("GET", "/api/v1/audit/verify", summary="校验审计链", tags=("audit",), roles=("auditor", "admin"))
    def verify_audit_chain(self, req):
        return req.rpc("funding", "verify_audit_chain")

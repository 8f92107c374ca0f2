"""The gateway: the HTTP API under /api/v1 that web clients use; every call goes to a service over RPC."""
from __future__ import annotations

import json

import sqlalchemy as sa
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from grassroots.db import Database
from grassroots.errors import Conflict, Unauthenticated, ValidationFailed
from grassroots.metrics import MetricsServer, Observability

from . import schemas as S
from .api import openapi_document, route
from .auth import DUMMY_HASH, check_new_user, hash_password, issue_token, verify_password
from .models import Base, User

OFFICERS = ("programme_officer", "admin")
STAFF = ("programme_officer", "intake_clerk", "admin", "auditor")
VERSION = "0.1.0"


class RequestContext(DependencyProvider):
    """Gives a route the worker context, so it can set the acting user for the RPCs it makes."""

    class _Ctx:
        def __init__(self, worker_ctx):
            self.worker_ctx = worker_ctx

    def get_dependency(self, worker_ctx):
        return self._Ctx(worker_ctx)


class Config(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return self.container.config


def user_dict(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "unit_id": u.unit_id, "name": u.name,
            "email": u.email, "mobile": u.mobile, "active": u.active}


class GatewayService:
    name = "gateway"
    db = Database(Base)
    obs = Observability()
    metrics = MetricsServer()
    request_context = RequestContext()
    config = Config()
    intake_rpc = RpcProxy("intake")
    review_rpc = RpcProxy("review")
    experts_rpc = RpcProxy("experts")
    funding_rpc = RpcProxy("funding")
    notify_rpc = RpcProxy("notify")

    # health and docs ------------------------------------------------------------------------------------
    @http("GET", "/healthz")
    def healthz(self, request):
        return Response('{"ok": true}', mimetype="application/json")

    @http("GET", "/readyz")
    def readyz(self, request):
        """Ready only when the broker and every service answer."""
        import eventlet
        checks = {}
        try:
            with Connection(self.config["AMQP_URI"], connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"down: {type(exc).__name__}"
        for svc in ("intake", "review", "experts", "funding", "notify"):
            try:
                with eventlet.Timeout(2):
                    getattr(self, f"{svc}_rpc").health.call_async().result()
                checks[svc] = "ok"
            except BaseException as exc:  # noqa: BLE001 - eventlet.Timeout is a BaseException
                checks[svc] = f"down: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return Response(json.dumps({"ready": ok, "checks": checks}), status=200 if ok else 503,
                        mimetype="application/json")

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return Response(json.dumps(openapi_document("专家服务基层管理系统 API", VERSION), ensure_ascii=False),
                        mimetype="application/json")

    # authentication and users -----------------------------------------------------------------------------
    @route("POST", "/api/v1/auth/token", summary="登录，换取访问令牌", tags=("auth",), auth=False,
           body=S.TOKEN_REQUEST, response=S.TOKEN_RESPONSE)
    def token(self, req):
        with self.db.session() as s:
            user = s.scalar(sa.select(User).where(User.username == req.body["username"]))
        if user is None:
            verify_password(DUMMY_HASH, req.body["password"])
            raise Unauthenticated("bad_credentials", "用户名或密码错误")
        if not verify_password(user.password_hash, req.body["password"]) or not user.active:
            raise Unauthenticated("bad_credentials", "用户名或密码错误")
        return issue_token(user, self.config["JWT_SECRET"], int(self.config.get("JWT_TTL_SECONDS", 3600)))

    @route("GET", "/api/v1/me", summary="当前登录用户", tags=("auth",), response=S.USER)
    def me(self, req):
        return req.actor

    @route("POST", "/api/v1/users", summary="创建用户（管理员）", tags=("auth",), roles=("admin",),
           body=S.NEW_USER, response=S.USER, status=201)
    def create_user(self, req):
        return create_user(self.db, req.body)

    # units and calls --------------------------------------------------------------------------------------
    @route("POST", "/api/v1/units", summary="登记申报单位", tags=("intake",), roles=OFFICERS, body=S.UNIT, status=201)
    def create_unit(self, req):
        return req.rpc("intake", "create_unit", req.body)

    @route("GET", "/api/v1/units", summary="申报单位列表", tags=("intake",), roles=STAFF,
           query={"kind": {"type": "string"}, "league_city_code": {"type": "string"}})
    def list_units(self, req):
        return req.rpc("intake", "list_units", req.query)

    @route("POST", "/api/v1/calls", summary="创建年度申报通知（草稿）", tags=("intake",), roles=OFFICERS,
           body=S.CALL, status=201)
    def create_call(self, req):
        return req.rpc("intake", "create_call", req.body)

    @route("GET", "/api/v1/calls", summary="申报通知列表", tags=("intake",))
    def list_calls(self, req):
        return req.rpc("intake", "list_calls")

    @route("GET", "/api/v1/calls/{call_id}", summary="申报通知详情（含项目与表单定义）", tags=("intake",))
    def get_call(self, req):
        return req.rpc("intake", "get_call", req.params["call_id"])

    @route("POST", "/api/v1/calls/{call_id}/open", summary="发布申报通知", tags=("intake",), roles=OFFICERS)
    def open_call(self, req):
        return req.rpc("intake", "open_call", req.params["call_id"])

    # applications -----------------------------------------------------------------------------------------
    @route("POST", "/api/v1/applications", summary="新建申报（草稿）", tags=("intake",), roles=("applicant_unit",),
           body=S.NEW_APPLICATION, status=201)
    def create_application(self, req):
        return req.rpc("intake", "create_application", req.body)

    @route("GET", "/api/v1/applications", summary="申报列表（申报单位只看到本单位）", tags=("intake",),
           query={k: {"type": "string"} for k in ("call_id", "programme_code", "status", "unit_id",
                                                  "league_city_code")})
    def list_applications(self, req):
        return req.rpc("intake", "list_applications", req.query)

    @route("GET", "/api/v1/applications/{application_id}", summary="申报详情", tags=("intake",))
    def get_application(self, req):
        return req.rpc("intake", "get_application", req.params["application_id"])

    @route("PATCH", "/api/v1/applications/{application_id}", summary="修改草稿", tags=("intake",),
           roles=("applicant_unit",), body=S.APPLICATION_PATCH)
    def update_application(self, req):
        return req.rpc("intake", "update_application", req.params["application_id"], req.body)

    @route("POST", "/api/v1/applications/{application_id}/documents", summary="申请上传附件（返回预签名 PUT 地址）",
           tags=("intake",), roles=("applicant_unit",), body=S.UPLOAD_REQUEST, status=201)
    def request_upload(self, req):
        return req.rpc("intake", "request_upload", req.params["application_id"], req.body)

    @route("POST", "/api/v1/documents/{document_id}/confirm", summary="确认附件（服务端校验类型、大小、SHA-256）",
           tags=("intake",), roles=("applicant_unit",))
    def confirm_document(self, req):
        return req.rpc("intake", "confirm_document", req.params["document_id"])

    @route("GET", "/api/v1/documents/{document_id}/download", summary="附件下载地址（预签名 GET）", tags=("intake",))
    def document_download(self, req):
        return req.rpc("intake", "document_download", req.params["document_id"])

    @route("POST", "/api/v1/applications/{application_id}/submit", summary="提交申报", tags=("intake",),
           roles=("applicant_unit",))
    def submit_application(self, req):
        return req.rpc("intake", "submit_application", req.params["application_id"])

    @route("POST", "/api/v1/applications/{application_id}/withdraw", summary="撤回申报", tags=("intake",),
           roles=("applicant_unit",), body=S.REASON)
    def withdraw_application(self, req):
        return req.rpc("intake", "withdraw_application", req.params["application_id"], req.body.get("reason", ""))

    @route("POST", "/api/v1/applications/{application_id}/receive", summary="登记纸质材料受理", tags=("intake",),
           roles=("intake_clerk", "admin"), body=S.NOTE)
    def receive_application(self, req):
        return req.rpc("intake", "receive_application", req.params["application_id"], req.body.get("note", ""))

    # review -----------------------------------------------------------------------------------------------
    @route("GET", "/api/v1/review/candidates", summary="评审中的申报", tags=("review",),
           roles=("programme_officer", "admin", "auditor"),
           query={k: {"type": "string"} for k in ("call_id", "programme_code", "status")})
    def list_candidates(self, req):
        return req.rpc("review", "list_candidates", req.query)

    @route("POST", "/api/v1/review/candidates/{application_id}/select", summary="确定入选", tags=("review",),
           roles=OFFICERS, body=S.SELECT)
    def select_application(self, req):
        return req.rpc("review", "select_application", req.params["application_id"], req.body)

    @route("GET", "/api/v1/review/decisions", summary="评审决定记录", tags=("review",),
           roles=("programme_officer", "admin", "auditor"), query={"application_id": {"type": "string"}})
    def decisions(self, req):
        return req.rpc("review", "decisions", req.query.get("application_id"))

    # experts ----------------------------------------------------------------------------------------------
    @route("POST", "/api/v1/experts", summary="登记专家", tags=("experts",), roles=OFFICERS, body=S.EXPERT,
           status=201)
    def register_expert(self, req):
        return req.rpc("experts", "register_expert", req.body)

    @route("GET", "/api/v1/experts", summary="专家列表", tags=("experts",), roles=("programme_officer", "admin", "auditor"))
    def list_experts(self, req):
        return req.rpc("experts", "list_experts", req.query)

    @route("GET", "/api/v1/demands", summary="基层需求清单", tags=("experts",), roles=OFFICERS,
           query={"source_application_id": {"type": "string"}})
    def list_demands(self, req):
        return req.rpc("experts", "list_demands", req.query)

    # funding ----------------------------------------------------------------------------------------------
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

    # notify -----------------------------------------------------------------------------------------------
    @route("GET", "/api/v1/messages", summary="我的站内消息", tags=("notify",), query={"unread": {"type": "string"}})
    def my_messages(self, req):
        return req.rpc("notify", "my_messages", req.query.get("unread") in ("1", "true"))

    @route("POST", "/api/v1/messages/{message_id}/read", summary="标记已读", tags=("notify",))
    def mark_read(self, req):
        return req.rpc("notify", "mark_read", req.params["message_id"])

    @route("GET", "/api/v1/messages/log", summary="发送记录（工作人员）", tags=("notify",),
           roles=("programme_officer", "intake_clerk", "admin"))
    def delivery_log(self, req):
        return req.rpc("notify", "delivery_log", req.query)


def create_user(db, data: dict) -> dict:
    """Used by the admin route and by ``python -m gateway.admin``; ``db`` has ``transaction()``."""
    problems = check_new_user(data)
    if problems:
        raise ValidationFailed("user_invalid", "用户信息有误，请按提示修改", problems)
    with db.transaction() as uow:
        if uow.session.scalar(sa.select(User.id).where(User.username == data["username"])):
            raise Conflict("username_taken", "用户名已被占用")
        user = User(username=data["username"], password_hash=hash_password(data["password"]), role=data["role"],
                    unit_id=data.get("unit_id"), name=data.get("name") or data["username"],
                    email=data.get("email"), mobile=data.get("mobile"))
        uow.session.add(user)
        uow.session.flush()
        return user_dict(user)


SERVICE = GatewayService

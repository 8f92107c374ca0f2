"""Routes of the intake service: units, calls, applications, documents."""
from __future__ import annotations

from .. import schemas as S
from ..api import route
from .common import OFFICERS, STAFF


class IntakeRoutes:
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

"""Routes of the intake service: units, calls, applications, documents, reports, officer views.

Who sees what is decided by the intake service from the acting user (a unit only its own applications);
the role lists here only turn away requests that could never succeed.
"""
from __future__ import annotations

import base64
from urllib.parse import quote

from werkzeug.wrappers import Response

from .. import schemas_intake as S
from ..api import route
from .common import OFFICERS, STAFF

UNIT = ("applicant_unit",)
T = ("intake",)


class IntakeRoutes:
    # units ------------------------------------------------------------------------------------------
    @route("POST", "/api/v1/units", summary="登记申报单位", tags=T, roles=OFFICERS, body=S.INTAKE_UNIT,
           response=S.UNIT_OUT, status=201)
    def create_unit(self, req):
        return req.rpc("intake", "create_unit", req.body)

    @route("GET", "/api/v1/units", summary="申报单位列表", tags=T, roles=STAFF,
           query={"kind": {"type": "string"}, "league_city_code": {"type": "string"}},
           response={"type": "array", "items": S.UNIT_OUT})
    def list_units(self, req):
        return req.rpc("intake", "list_units", req.query)

    @route("GET", "/api/v1/units/{unit_id}", summary="申报单位详情（申报单位只能看本单位）", tags=T,
           roles=STAFF + UNIT, response=S.UNIT_OUT)
    def get_unit(self, req):
        return req.rpc("intake", "get_unit", req.params["unit_id"])

    @route("PATCH", "/api/v1/units/{unit_id}", summary="修改申报单位（申报单位只能改本单位联系人）", tags=T,
           roles=OFFICERS + UNIT, body=S.INTAKE_UNIT_PATCH, response=S.UNIT_OUT)
    def update_unit(self, req):
        return req.rpc("intake", "update_unit", req.params["unit_id"], req.body)

    # calls ------------------------------------------------------------------------------------------
    @route("POST", "/api/v1/calls", summary="创建年度申报通知（草稿）", tags=T, roles=OFFICERS,
           body=S.INTAKE_CALL, response=S.CALL_OUT, status=201)
    def create_call(self, req):
        return req.rpc("intake", "create_call", req.body)

    @route("GET", "/api/v1/calls", summary="申报通知列表", tags=T, response={"type": "array", "items": S.CALL_OUT})
    def list_calls(self, req):
        return req.rpc("intake", "list_calls")

    @route("GET", "/api/v1/calls/{call_id}", summary="申报通知详情（含项目与表单定义）", tags=T, response=S.CALL_OUT)
    def get_call(self, req):
        return req.rpc("intake", "get_call", req.params["call_id"])

    @route("PUT", "/api/v1/calls/{call_id}", summary="修改申报通知（发布前）", tags=T, roles=OFFICERS,
           body=S.INTAKE_CALL, response=S.CALL_OUT)
    def update_call(self, req):
        return req.rpc("intake", "update_call", req.params["call_id"], req.body)

    @route("POST", "/api/v1/calls/{call_id}/open", summary="发布申报通知", tags=T, roles=OFFICERS,
           response=S.CALL_OUT)
    def open_call(self, req):
        return req.rpc("intake", "open_call", req.params["call_id"])

    @route("GET", "/api/v1/calls/{call_id}/quota-usage", summary="各申报单位名额使用情况", tags=T,
           roles=STAFF + UNIT, query={"unit_id": {"type": "string"}, "league_city_code": {"type": "string"}},
           response=S.QUOTA_USAGE)
    def quota_usage(self, req):
        return req.rpc("intake", "quota_usage", req.params["call_id"], req.query)

    @route("GET", "/api/v1/calls/{call_id}/unit-standing", summary="各申报单位草稿数与名额（用于截止提醒）",
           tags=T, roles=OFFICERS, response=S.UNIT_STANDING)
    def unit_standing(self, req):
        return req.rpc("intake", "unit_standing", req.params["call_id"])

    @route("GET", "/api/v1/calls/{call_id}/export.xlsx", summary="导出申报汇总表（.xlsx）", tags=T, roles=STAFF,
           query={k: {"type": "string"} for k in ("programme_code", "league_city_code", "unit_id", "status")},
           description="默认导出已提交、已接收的申报；返回 Excel 文件。")
    def export_call(self, req):
        out = req.rpc("intake", "export_call", req.params["call_id"], req.query)
        return Response(base64.b64decode(out["content_base64"]), status=200, mimetype=out["mimetype"],
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(out['filename'])}",
                                 "X-Row-Count": str(out["rows"])})

    # applications -----------------------------------------------------------------------------------
    @route("POST", "/api/v1/applications", summary="新建申报（草稿）", tags=T, roles=UNIT,
           body=S.INTAKE_NEW_APPLICATION, response=S.APPLICATION_OUT, status=201)
    def create_application(self, req):
        return req.rpc("intake", "create_application", req.body)

    @route("GET", "/api/v1/applications", summary="申报列表（分页；申报单位只看到本单位）", tags=T,
           query=S.APPLICATION_QUERY, response=S.APPLICATION_PAGE)
    def list_applications(self, req):
        return req.rpc("intake", "application_page", req.query)

    @route("GET", "/api/v1/applications/{application_id}", summary="申报详情", tags=T, response=S.APPLICATION_OUT)
    def get_application(self, req):
        return req.rpc("intake", "get_application", req.params["application_id"])

    @route("PATCH", "/api/v1/applications/{application_id}", summary="修改草稿", tags=T, roles=UNIT,
           body=S.INTAKE_APPLICATION_PATCH, response=S.APPLICATION_OUT)
    def update_application(self, req):
        return req.rpc("intake", "update_application", req.params["application_id"], req.body)

    @route("POST", "/api/v1/applications/{application_id}/submit", summary="提交申报", tags=T, roles=UNIT,
           response=S.APPLICATION_OUT)
    def submit_application(self, req):
        return req.rpc("intake", "submit_application", req.params["application_id"])

    @route("POST", "/api/v1/applications/{application_id}/withdraw", summary="撤回申报", tags=T, roles=UNIT,
           body=S.INTAKE_REASON, response=S.APPLICATION_OUT)
    def withdraw_application(self, req):
        return req.rpc("intake", "withdraw_application", req.params["application_id"], req.body.get("reason", ""))

    @route("POST", "/api/v1/applications/{application_id}/receive", summary="登记纸质材料受理", tags=T,
           roles=("intake_clerk", "admin"), body=S.INTAKE_NOTE, response=S.APPLICATION_OUT)
    def receive_application(self, req):
        return req.rpc("intake", "receive_application", req.params["application_id"], req.body.get("note", ""))

    # documents --------------------------------------------------------------------------------------
    @route("POST", "/api/v1/applications/{application_id}/documents", summary="申请上传附件（返回预签名 PUT 地址）",
           tags=T, roles=UNIT, body=S.INTAKE_UPLOAD_REQUEST, response=S.UPLOAD_OUT, status=201)
    def request_upload(self, req):
        return req.rpc("intake", "request_upload", req.params["application_id"], req.body)

    @route("POST", "/api/v1/documents/{document_id}/confirm", summary="确认附件（服务端校验类型、大小、SHA-256）",
           tags=T, roles=UNIT, response=S.DOCUMENT_OUT)
    def confirm_document(self, req):
        return req.rpc("intake", "confirm_document", req.params["document_id"])

    @route("GET", "/api/v1/documents/{document_id}/download", summary="附件下载地址（预签名 GET；历史版本仅工作人员）",
           tags=T, response=S.DOWNLOAD_OUT)
    def document_download(self, req):
        return req.rpc("intake", "document_download", req.params["document_id"])

    # post-activity reports --------------------------------------------------------------------------
    @route("GET", "/api/v1/applications/{application_id}/report", summary="活动总结（应报日期、状态、内容）",
           tags=T, response=S.REPORT_VIEW)
    def get_report(self, req):
        return req.rpc("intake", "get_report", req.params["application_id"])

    @route("POST", "/api/v1/applications/{application_id}/report/documents",
           summary="申请上传活动总结材料（工作总结、活动照片；返回预签名 PUT 地址）", tags=T, roles=UNIT,
           body=S.INTAKE_UPLOAD_REQUEST, response=S.UPLOAD_OUT, status=201)
    def request_report_upload(self, req):
        return req.rpc("intake", "request_upload", req.params["application_id"], {**req.body, "purpose": "report"})

    @route("POST", "/api/v1/applications/{application_id}/report", summary="报送活动总结", tags=T, roles=UNIT,
           body=S.INTAKE_REPORT, response=S.REPORT_OUT, status=201)
    def file_report(self, req):
        return req.rpc("intake", "file_report", req.params["application_id"], req.body)

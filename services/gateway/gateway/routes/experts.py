"""Routes of the experts service: the registry, the key-contact pool, import/export, service history,
conflicts, demands and matching.

Who sees what is decided by the experts service from the acting user (an expert only their own profile,
a unit only its own demands); the role lists here only turn away requests that could never succeed.
"""
from __future__ import annotations

import base64
from urllib.parse import quote

from werkzeug.wrappers import Response

from .. import schemas_experts as S
from ..api import route
from .common import OFFICERS

T = ("experts",)
READERS = OFFICERS + ("auditor",)
EXPERT = ("expert",)
UNIT = ("applicant_unit",)


def _xlsx(out: dict) -> Response:
    return Response(base64.b64decode(out["content_base64"]), status=200, mimetype=out["mimetype"],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(out['filename'])}",
                             "X-Row-Count": str(out["rows"])})


class ExpertsRoutes:
    # registry ---------------------------------------------------------------------------------------
    @route("POST", "/api/v1/experts", summary="登记专家（可同时登记推荐单位与年度通知）", tags=T, roles=OFFICERS,
           body=S.NEW_EXPERT, response=S.EXPERT_OUT, status=201)
    def register_expert(self, req):
        return req.rpc("experts", "register_expert", req.body)

    @route("GET", "/api/v1/experts", summary="专家列表（分页，身份证号码遮蔽）", tags=T, roles=READERS,
           query=S.EXPERT_QUERY, response=S.EXPERT_PAGE)
    def list_experts(self, req):
        return req.rpc("experts", "list_experts", req.query)

    @route("GET", "/api/v1/experts/search", summary="按专业领域、标签、盟市、职称、可服务时段检索专家", tags=T,
           roles=READERS, query=S.SEARCH_QUERY, response=S.EXPERT_PAGE)
    def search_experts(self, req):
        return req.rpc("experts", "search_experts", req.query)

    @route("GET", "/api/v1/experts/me", summary="本人专家信息", tags=T, roles=EXPERT, response=S.EXPERT_OUT)
    def my_profile(self, req):
        return req.rpc("experts", "my_profile")

    @route("PATCH", "/api/v1/experts/me", summary="修改本人信息（联系方式、专业领域、声明、不能服务的时段）", tags=T,
           roles=EXPERT, body=S.SELF_PATCH, response=S.EXPERT_OUT)
    def update_my_profile(self, req):
        me = req.rpc("experts", "my_profile")
        return req.rpc("experts", "update_expert", me["id"], req.body)

    @route("GET", "/api/v1/experts/import-template.xlsx", summary="下载专家推荐表导入模板（.xlsx）", tags=T,
           roles=OFFICERS)
    def import_template(self, req):
        return _xlsx(req.rpc("experts", "import_template"))

    @route("POST", "/api/v1/experts/import", summary="批量导入推荐专家（.xlsx，全部成功或全部不导入）", tags=T,
           roles=OFFICERS, body=S.IMPORT, response=S.IMPORT_OUT, status=201,
           description="请求体中 content_base64 为专家推荐表 .xlsx 文件的 base64；有任何一行有误时返回 422，"
                       "details 列出每处问题 {row, column, code, message}，且不导入任何专家。")
    def import_experts(self, req):
        return req.rpc("experts", "import_experts", req.body)

    @route("GET", "/api/v1/experts/pool/export.xlsx", summary="导出重点联系专家库（.xlsx，身份证号码遮蔽）", tags=T,
           roles=READERS, query={"pool_status": S.STR, "league_city_code": S.STR})
    def export_pool(self, req):
        return _xlsx(req.rpc("experts", "export_pool", req.query))

    @route("GET", "/api/v1/experts/{expert_id}", summary="专家详情（专家本人或工作人员；完整身份证号码仅管理员可见）",
           tags=T, roles=READERS + EXPERT, response=S.EXPERT_OUT)
    def get_expert(self, req):
        return req.rpc("experts", "get_expert", req.params["expert_id"])

    @route("PATCH", "/api/v1/experts/{expert_id}", summary="修改专家信息（专家本人只能改部分字段）", tags=T,
           roles=OFFICERS + EXPERT, body=S.EXPERT_PATCH, response=S.EXPERT_OUT)
    def update_expert(self, req):
        return req.rpc("experts", "update_expert", req.params["expert_id"], req.body)

    # pool -------------------------------------------------------------------------------------------
    @route("POST", "/api/v1/experts/{expert_id}/recommendations", summary="登记推荐（推荐单位、年度通知，受名额限制）",
           tags=T, roles=OFFICERS, body=S.RECOMMENDATION_IN, response=S.EXPERT_OUT, status=201)
    def recommend_expert(self, req):
        return req.rpc("experts", "recommend_expert", req.params["expert_id"], req.body)

    @route("POST", "/api/v1/experts/{expert_id}/admit", summary="纳入重点联系专家库（副高级以下须填写破格理由）",
           tags=T, roles=OFFICERS, body=S.ADMIT, response=S.EXPERT_OUT)
    def admit_expert(self, req):
        return req.rpc("experts", "admit_expert", req.params["expert_id"], req.body.get("exception_reason"))

    @route("POST", "/api/v1/experts/{expert_id}/recommend-national", summary="推荐至人社部重点联系专家库", tags=T,
           roles=OFFICERS, response=S.EXPERT_OUT)
    def recommend_national(self, req):
        return req.rpc("experts", "recommend_national", req.params["expert_id"])

    @route("POST", "/api/v1/experts/{expert_id}/reject", summary="不予入库", tags=T, roles=OFFICERS,
           body=S.REASON_REQUIRED, response=S.EXPERT_OUT)
    def reject_expert(self, req):
        return req.rpc("experts", "reject_expert", req.params["expert_id"], req.body["reason"])

    # history and conflicts --------------------------------------------------------------------------
    @route("GET", "/api/v1/experts/{expert_id}/history", summary="服务经历", tags=T, roles=READERS + EXPERT,
           response={"type": "array", "items": S.HISTORY_OUT})
    def service_history(self, req):
        return req.rpc("experts", "service_history", req.params["expert_id"])

    @route("POST", "/api/v1/experts/{expert_id}/history", summary="补录服务经历", tags=T, roles=OFFICERS,
           body=S.HISTORY_IN, response=S.HISTORY_OUT, status=201)
    def add_history(self, req):
        return req.rpc("experts", "add_history", req.params["expert_id"], req.body)

    @route("POST", "/api/v1/history/{entry_id}/feedback", summary="记录服务评价", tags=T, roles=OFFICERS,
           body=S.FEEDBACK_IN, response=S.HISTORY_OUT)
    def record_feedback(self, req):
        return req.rpc("experts", "record_feedback", req.params["entry_id"], req.body)

    @route("GET", "/api/v1/experts/{expert_id}/conflicts", summary="回避事项", tags=T, roles=READERS + EXPERT,
           response={"type": "array", "items": S.CONFLICT_OUT})
    def list_expert_conflicts(self, req):
        return req.rpc("experts", "list_conflicts", req.params["expert_id"])

    @route("POST", "/api/v1/experts/{expert_id}/conflicts", summary="申报回避（单位或具体需求）", tags=T,
           roles=OFFICERS + EXPERT, body=S.CONFLICT_IN, response=S.CONFLICT_OUT, status=201)
    def declare_expert_conflict(self, req):
        b = req.body
        return req.rpc("experts", "declare_conflict", req.params["expert_id"], b.get("unit_id"), b["reason"],
                       b.get("subject_id"))

    # demands ----------------------------------------------------------------------------------------
    @route("POST", "/api/v1/demands", summary="发布基层需求（申报单位为本单位发布）", tags=T, roles=OFFICERS + UNIT,
           body=S.NEW_DEMAND, response=S.DEMAND_OUT, status=201)
    def post_demand(self, req):
        return req.rpc("experts", "post_demand", req.body)

    @route("GET", "/api/v1/demands", summary="基层需求清单（申报单位只看到本单位）", tags=T, roles=READERS + UNIT,
           query=S.DEMAND_QUERY, response=S.DEMAND_PAGE)
    def list_demands(self, req):
        return req.rpc("experts", "list_demands", req.query)

    @route("GET", "/api/v1/demands/{demand_id}", summary="需求详情", tags=T, roles=READERS + UNIT,
           response=S.DEMAND_OUT)
    def get_demand(self, req):
        return req.rpc("experts", "get_demand", req.params["demand_id"])

    @route("PATCH", "/api/v1/demands/{demand_id}", summary="修改需求", tags=T, roles=OFFICERS + UNIT,
           body=S.DEMAND_PATCH, response=S.DEMAND_OUT)
    def update_demand(self, req):
        return req.rpc("experts", "update_demand", req.params["demand_id"], req.body)

    @route("POST", "/api/v1/demands/{demand_id}/cancel", summary="取消需求（已确认的匹配一并取消）", tags=T,
           roles=OFFICERS + UNIT, body=S.REASON, response=S.DEMAND_OUT)
    def cancel_demand(self, req):
        return req.rpc("experts", "cancel_demand", req.params["demand_id"], req.body.get("reason", ""))

    # matching ---------------------------------------------------------------------------------------
    @route("POST", "/api/v1/match-proposals", summary="为一组需求生成最优匹配方案（含匹配理由与未满足原因）", tags=T,
           roles=OFFICERS, body=S.PROPOSE, response=S.PROPOSAL_OUT, status=201)
    def propose_matches(self, req):
        return req.rpc("experts", "propose_matches", req.body)

    @route("GET", "/api/v1/match-proposals/{proposal_id}", summary="匹配方案详情", tags=T, roles=READERS,
           response=S.PROPOSAL_OUT)
    def get_proposal(self, req):
        return req.rpc("experts", "get_proposal", req.params["proposal_id"])

    @route("POST", "/api/v1/match-proposals/{proposal_id}/confirm", summary="确认匹配（全部成功或全部不确认）",
           tags=T, roles=OFFICERS, body=S.CONFIRM, response=S.PROPOSAL_OUT)
    def confirm_matches(self, req):
        return req.rpc("experts", "confirm_matches", req.params["proposal_id"], req.body.get("item_ids"))

    @route("POST", "/api/v1/match-proposals/{proposal_id}/items/{item_id}/reject", summary="否决匹配项", tags=T,
           roles=OFFICERS, body=S.REASON, response=S.PROPOSAL_OUT)
    def reject_match(self, req):
        return req.rpc("experts", "reject_match", req.params["proposal_id"], req.params["item_id"],
                       req.body.get("reason", ""))

    @route("POST", "/api/v1/match-proposals/{proposal_id}/items/{item_id}/swap",
           summary="替换匹配专家（重新检查回避、任务上限和可服务时段）", tags=T, roles=OFFICERS, body=S.SWAP,
           response=S.PROPOSAL_OUT)
    def swap_match(self, req):
        b = req.body
        return req.rpc("experts", "swap_match", req.params["proposal_id"], req.params["item_id"], b["expert_id"],
                       b.get("reason", ""), bool(b.get("confirm", False)))

    @route("GET", "/api/v1/matches", summary="匹配记录（专家本人只看到自己的）", tags=T, roles=READERS + EXPERT,
           query=S.MATCH_QUERY, response={"type": "array", "items": S.ASSIGNMENT_OUT})
    def list_matches(self, req):
        return req.rpc("experts", "list_matches", req.query)

"""Routes of the review service: rounds, assignments and scoring, ranking, selection, ministry outcomes,
post-evaluation. Reviewers reach only their own assignments; units only their own published outcome (the
review service decides both from the acting user)."""
from __future__ import annotations

from .. import schemas_review as S
from ..api import route
from .common import OFFICERS

T = ("review",)
READERS = ("programme_officer", "admin", "auditor")
REVIEWERS = ("reviewer", "expert")
PROGRAMME_OFFICER = ("programme_officer",)


class ReviewRoutes:
    # candidates and rounds ----------------------------------------------------------------------
    @route("GET", "/api/v1/review/candidates", summary="评审中的申报（含申报单位以往后评估情况）", tags=T, roles=READERS,
           query={k: {"type": "string"} for k in ("call_id", "programme_code", "status", "unit_id")})
    def list_candidates(self, req):
        return req.rpc("review", "list_candidates", req.query)

    @route("POST", "/api/v1/review/rounds", summary="建立评审轮次（每个申报通知的每个项目类别一个）", tags=T,
           roles=OFFICERS, body=S.ROUND_CREATE, response=S.ROUND_OUT, status=201)
    def create_round(self, req):
        return req.rpc("review", "create_round", req.body)

    @route("GET", "/api/v1/review/rounds", summary="评审轮次列表", tags=T, roles=READERS,
           query={k: {"type": "string"} for k in ("call_id", "programme_code", "state")},
           response={"type": "array", "items": S.ROUND_OUT})
    def list_rounds(self, req):
        return req.rpc("review", "list_rounds", req.query)

    @route("GET", "/api/v1/review/rounds/{round_id}", summary="评审轮次详情", tags=T, roles=READERS,
           response=S.ROUND_OUT)
    def get_round(self, req):
        return req.rpc("review", "get_round", req.params["round_id"])

    @route("PATCH", "/api/v1/review/rounds/{round_id}", summary="修改评审设置（开始评审前）", tags=T, roles=OFFICERS,
           body=S.ROUND_PATCH, response=S.ROUND_OUT)
    def configure_round(self, req):
        return req.rpc("review", "configure_round", req.params["round_id"], req.body)

    @route("POST", "/api/v1/review/rounds/{round_id}/open", summary="开始评审（申报截止后；滚动申报项目可提前）",
           tags=T, roles=OFFICERS, response=S.ROUND_OUT)
    def open_round(self, req):
        return req.rpc("review", "open_round", req.params["round_id"])

    @route("POST", "/api/v1/review/rounds/{round_id}/assign", summary="从专家库分配评审专家（回避本单位、本盟市及声明冲突）",
           tags=T, roles=OFFICERS)
    def assign_reviewers(self, req):
        return req.rpc("review", "assign_reviewers", req.params["round_id"])

    @route("GET", "/api/v1/review/rounds/{round_id}/progress", summary="评审进度（按专家、按项目）", tags=T,
           roles=READERS)
    def progress(self, req):
        return req.rpc("review", "progress", req.params["round_id"])

    @route("POST", "/api/v1/review/rounds/{round_id}/close", summary="结束评审", tags=T, roles=OFFICERS,
           response=S.ROUND_OUT)
    def close_round(self, req):
        return req.rpc("review", "close_round", req.params["round_id"])

    @route("GET", "/api/v1/review/rounds/{round_id}/ranking", summary="排名及每个分数的计算过程", tags=T,
           roles=READERS)
    def ranking(self, req):
        return req.rpc("review", "ranking", req.params["round_id"])

    # assignments and scores ---------------------------------------------------------------------
    @route("GET", "/api/v1/review/assignments", summary="评审任务（评审专家只能看到分配给本人的任务）", tags=T,
           roles=READERS + REVIEWERS,
           query={k: {"type": "string"} for k in ("round_id", "application_id", "reviewer_id", "status")})
    def list_assignments(self, req):
        return req.rpc("review", "list_assignments", req.query)

    @route("POST", "/api/v1/review/assignments/{assignment_id}/conflict", summary="声明回避（自动补派评审专家）",
           tags=T, roles=REVIEWERS + OFFICERS, body=S.CONFLICT)
    def declare_conflict(self, req):
        return req.rpc("review", "declare_conflict", req.params["assignment_id"], req.body["reason"])

    @route("PUT", "/api/v1/review/assignments/{assignment_id}/score", summary="提交或修改评分（评审结束前）", tags=T,
           roles=REVIEWERS, body=S.SCORE)
    def submit_score(self, req):
        return req.rpc("review", "submit_score", req.params["assignment_id"], req.body)

    # selection ----------------------------------------------------------------------------------
    @route("POST", "/api/v1/review/rounds/{round_id}/proposals", summary="提出遴选方案（在名额内）", tags=T,
           roles=PROGRAMME_OFFICER, body=S.SELECTION, status=201)
    def propose_selection(self, req):
        return req.rpc("review", "propose_selection", req.params["round_id"], req.body)

    @route("GET", "/api/v1/review/rounds/{round_id}/proposals", summary="遴选方案及审批记录", tags=T, roles=READERS)
    def list_proposals(self, req):
        return req.rpc("review", "list_proposals", req.params["round_id"])

    @route("POST", "/api/v1/review/proposals/{proposal_id}/approve", summary="审批遴选方案（须提出人以外的处室人员）",
           tags=T, roles=PROGRAMME_OFFICER, body=S.APPROVE)
    def approve_selection(self, req):
        return req.rpc("review", "approve_selection", req.params["proposal_id"], req.body.get("reason"),
                       bool(req.body.get("publish")))

    @route("POST", "/api/v1/review/proposals/{proposal_id}/reject", summary="退回遴选方案", tags=T,
           roles=PROGRAMME_OFFICER, body=S.REASON)
    def reject_selection(self, req):
        return req.rpc("review", "reject_selection", req.params["proposal_id"], req.body["reason"])

    @route("POST", "/api/v1/review/rounds/{round_id}/publish", summary="公布评审结果（通知申报单位、资金与专家服务）",
           tags=T, roles=PROGRAMME_OFFICER, response=S.ROUND_OUT)
    def publish_selection(self, req):
        return req.rpc("review", "publish_selection", req.params["round_id"])

    # ministry, outcomes, post-evaluation --------------------------------------------------------
    @route("PUT", "/api/v1/review/applications/{application_id}/ministry-decision",
           summary="登记人力资源社会保障部的决定（已登记的须说明理由更正）", tags=T, roles=OFFICERS, body=S.MINISTRY)
    def ministry_decision(self, req):
        app_id = req.params["application_id"]
        if req.body.get("reason"):
            return req.rpc("review", "correct_ministry_decision", app_id, req.body)
        return req.rpc("review", "record_ministry_decision", app_id, req.body)

    @route("GET", "/api/v1/review/applications/{application_id}/outcome", summary="评审结果（公布后；申报单位只看本单位）",
           tags=T, roles=READERS + ("applicant_unit",), response=S.OUTCOME)
    def outcome(self, req):
        return req.rpc("review", "outcome", req.params["application_id"])

    @route("GET", "/api/v1/review/reports", summary="已报送的工作总结及后评估结果", tags=T, roles=READERS,
           query={"unit_id": {"type": "string"}})
    def list_reports(self, req):
        return req.rpc("review", "list_reports", req.query)

    @route("POST", "/api/v1/review/applications/{application_id}/post-evaluation", summary="后评估评分", tags=T,
           roles=OFFICERS, body=S.EVALUATION, status=201)
    def evaluate(self, req):
        return req.rpc("review", "evaluate", req.params["application_id"], req.body)

    @route("GET", "/api/v1/review/units/{unit_id}/post-evaluations", summary="申报单位以往后评估情况", tags=T,
           roles=READERS + ("applicant_unit",))
    def unit_history(self, req):
        return req.rpc("review", "unit_history", req.params["unit_id"])

    @route("GET", "/api/v1/review/decisions", summary="评审决定记录（谁、何时、做了什么、为什么）", tags=T, roles=READERS,
           query={k: {"type": "string"} for k in ("round_id", "application_id", "kind", "actor_id")})
    def decisions(self, req):
        return req.rpc("review", "decisions", req.query)

    @route("GET", "/api/v1/review/priority-regions", summary="优先支持地区名单", tags=T, roles=READERS)
    def get_priority_list(self, req):
        return req.rpc("review", "get_priority_list")

    @route("PUT", "/api/v1/review/priority-regions", summary="更新优先支持地区名单", tags=T, roles=OFFICERS,
           body=S.PRIORITY_LIST)
    def put_priority_list(self, req):
        return req.rpc("review", "put_priority_list", req.body)

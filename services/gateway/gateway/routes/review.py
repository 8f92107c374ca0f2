"""Routes of the review service."""
from __future__ import annotations

from .. import schemas as S
from ..api import route
from .common import OFFICERS


class ReviewRoutes:
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

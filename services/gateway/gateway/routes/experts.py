"""Routes of the experts service."""
from __future__ import annotations

from .. import schemas as S
from ..api import route
from .common import OFFICERS


class ExpertsRoutes:
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

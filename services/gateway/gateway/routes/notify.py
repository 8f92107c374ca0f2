"""Routes of the notify service: my inbox, delivery log."""
from __future__ import annotations

from ..api import route


class NotifyRoutes:
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

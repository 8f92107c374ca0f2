"""Routes of the notify service: my inbox, unread count, mark as read, my channels, the delivery log."""
from __future__ import annotations

from .. import schemas_notify as S
from ..api import route

LOG_READERS = ("programme_officer", "intake_clerk", "admin", "auditor")


class NotifyRoutes:
    @route("GET", "/api/v1/messages", summary="我的站内消息", tags=("notify",),
           query={"unread": {"type": "string"}, "limit": {"type": "string"}})
    def my_messages(self, req):
        return req.rpc("notify", "my_messages", req.query.get("unread") in ("1", "true"),
                       int(req.query.get("limit") or 200) if str(req.query.get("limit") or "200").isdigit() else 200)

    @route("GET", "/api/v1/messages/unread-count", summary="未读消息数", tags=("notify",))
    def unread_count(self, req):
        return req.rpc("notify", "unread_count")

    @route("POST", "/api/v1/messages/{message_id}/read", summary="标记已读", tags=("notify",))
    def mark_read(self, req):
        return req.rpc("notify", "mark_read", req.params["message_id"])

    @route("GET", "/api/v1/messages/preferences", summary="我的消息接收渠道", tags=("notify",))
    def get_message_preferences(self, req):
        return req.rpc("notify", "get_preferences")

    @route("PUT", "/api/v1/messages/preferences", summary="设置消息接收渠道", tags=("notify",),
           body=S.PREFERENCES)
    def set_message_preferences(self, req):
        return req.rpc("notify", "set_preferences", req.body)

    @route("GET", "/api/v1/messages/log", summary="发送记录（工作人员：按事件、渠道、状态、收件人筛选）",
           tags=("notify",), roles=LOG_READERS, query=S.MESSAGE_LOG_QUERY)
    def delivery_log(self, req):
        return req.rpc("notify", "delivery_log", req.query)

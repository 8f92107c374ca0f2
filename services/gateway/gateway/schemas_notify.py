"""Request bodies of the notify routes (JSON Schema, validated at the edge)."""

PREFERENCES = {
    "type": "object", "additionalProperties": False, "required": ["channels"],
    "properties": {"channels": {"type": "array", "uniqueItems": True,
                                "items": {"type": "string", "enum": ["email", "inapp", "sms"]},
                                "description": "接收渠道：email（电子邮件）、inapp（站内消息，不可关闭）、sms（短信）"}},
}

MESSAGE_LOG_QUERY = {k: {"type": "string"} for k in
                     ("event_type", "channel", "status", "recipient", "event_id", "since", "limit")}

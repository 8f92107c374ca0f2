"""Log lines of a worker carry service, entrypoint, call id and correlation id, and mask PII."""
import io
import json

import structlog
from nameko.testing.services import entrypoint_hook

from grassroots.db import Database, make_base
from grassroots.logging import configure
from grassroots.service import ServiceBase, rpc


class Talker(ServiceBase):
    name = "talker"
    db = Database(make_base())

    @rpc
    def talk(self, mobile):
        structlog.get_logger("talker").info("calling_back", mobile=mobile, note=f"请回电 {mobile}")
        return "ok"


def test_a_worker_log_line_is_json_with_its_ids_and_no_phone_number(container_factory, service_config, monkeypatch):
    buf = io.StringIO()
    configure("talker", fmt="json")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buf), cache_logger_on_first_use=False)
    c = container_factory(Talker, service_config("talker"))
    c.start()
    with entrypoint_hook(c, "talk", context_data={"correlation_id": "corr-9"}) as talk:
        talk("13912345678")
    line = next(json.loads(x) for x in buf.getvalue().splitlines() if "calling_back" in x)
    assert line["service"] == "talker" and line["entrypoint"] == "talk"
    assert line["call_id"].startswith("talker.talk.") and line["correlation_id"] == "corr-9"
    assert "13912345678" not in buf.getvalue()
    assert line["mobile"] == "139****5678" and line["note"] == "请回电 139****5678"

"""Constants and helpers shared by the funding integration tests (imported by conftest.py and the tests;
conftest puts this directory on sys.path)."""
from __future__ import annotations

import uuid

from nameko.exceptions import RemoteError

from funding.domain import audit as chain  # noqa: F401 - re-exported for the tests
from grassroots.errors import from_wire

FO_A = {"id": "fo-a", "role": "finance_officer", "username": "fo_a", "name": "财务甲"}
FO_B = {"id": "fo-b", "role": "finance_officer", "username": "fo_b", "name": "财务乙"}
OFFICER = {"id": "po-1", "role": "programme_officer", "username": "officer", "name": "塞夫"}
AUDITOR = {"id": "aud-1", "role": "auditor", "username": "auditor", "name": "审计甲"}
ADMIN = {"id": "admin-1", "role": "admin", "username": "admin"}
UNIT_NAME = "呼和浩特市人力资源和社会保障局"
BANK = {"account_name": UNIT_NAME, "account_no": "6222 0212 3456 7890 123", "bank_name": "中国工商银行呼和浩特新城支行",
        "interbank_code": "102191000011"}
CALL = {"id": "c" * 32, "year": 2025, "title": "关于做好2025年各类专家人才服务基层有关工作的通知",
        "doc_no": "内人社办发〔2025〕5号",
        "contacts": [{"name": "塞夫", "department": "专业技术人员管理处", "phone": "(0471) 6268105"}]}


def rpc_call(proxy, method, *args):
    try:
        return getattr(proxy, method)(*args)
    except RemoteError as exc:
        err = from_wire(exc.exc_type, exc.value)
        if err is not None:
            raise err from None
        raise


def selection_payload(application_id=None, amount="150000.00", unit_name=UNIT_NAME, form=None, unit_id="u-1",
                      league="150100", programme="service_team", source="department"):
    application_id = application_id or uuid.uuid4().hex
    return {"call": CALL,
            "application": {"id": application_id, "title": f"专家服务团项目{application_id[:6]}",
                            "programme_code": programme, "programme_name": "专家服务团项目", "unit_id": unit_id,
                            "unit_name": unit_name, "league_city_code": league,
                            "form": BANK if form is None else form},
            "recipients": {"unit_contacts": [{"name": "王敏", "email": "wm@example.cn", "user_id": "unit-user"}],
                           "user_ids": []},
            "selection": {"key": "regional", "label": "自治区级"}, "rank": 1, "score": "91.50",
            "decision": {"id": uuid.uuid4().hex, "proposed_by": "po-1", "approved_by": "po-2",
                         "approved_at": "2025-04-01T02:00:00+00:00"},
            "funding": None if amount is False else {"amount": amount, "source": source}}


def envelope(event_type, payload, event_id=None):
    return {"id": event_id or uuid.uuid4().hex, "type": event_type, "source": "review",
            "occurred_at": "2025-04-01T02:00:00+00:00", "correlation_id": uuid.uuid4().hex,
            "actor": {"id": "po-2", "role": "programme_officer"}, "schema_version": 1, "payload": payload}

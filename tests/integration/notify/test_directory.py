"""The gateway's directory RPCs that notify uses to find people: active users only, in one shape."""
from __future__ import annotations

import sqlalchemy as sa
from nameko.testing.services import entrypoint_hook

from gateway.models import User
from grassroots.events import wait_for


def call(suite, method, *args):
    with entrypoint_hook(suite.gateway, method) as hook:
        return hook(*args)


def test_the_directory_answers_by_role_by_unit_and_by_id_leaving_out_inactive_users(suite):
    active = suite.add_user("finance", "finance_officer", email="f@example.cn", mobile="13912345678", name="刘会计")
    gone = suite.add_user("finance_gone", "finance_officer")
    unit_user = suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id, name="李强")
    with suite.users_db.transaction() as uow:
        uow.session.execute(sa.update(User).where(User.id == gone["id"]).values(active=False))

    assert call(suite, "users_with_role", "finance_officer") == [
        {"user_id": active["id"], "name": "刘会计", "email": "f@example.cn", "mobile": "13912345678",
         "role": "finance_officer", "unit_id": None}]
    assert [u["user_id"] for u in call(suite, "users_of_unit", suite.unit_id)] == [unit_user["id"]]
    assert call(suite, "users_of_unit", "no-such-unit") == []
    assert call(suite, "user", unit_user["id"])["name"] == "李强"
    assert call(suite, "user", gone["id"]) is None


def test_a_new_call_reaches_the_inbox_of_every_applicant_unit_user_and_no_officer(suite):
    a = suite.add_user("unit_a", "applicant_unit", unit_id="a" * 32)
    b = suite.add_user("unit_b", "applicant_unit", unit_id="b" * 32)
    suite.add_user("officer", "programme_officer")
    suite.start_notify()
    suite.publish("intake", "call_opened", {"call": {**suite.call, "deadline": "2025-01-24T09:00:00+00:00"},
                                            "programmes": []})
    assert wait_for(lambda: len(suite.messages(event_type="call_opened")) == 2, timeout=20)
    assert {m["recipient_user_id"] for m in suite.messages(event_type="call_opened")} == {a["id"], b["id"]}

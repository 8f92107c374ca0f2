"""Notify as a service: events in, the right Chinese e-mail to the right people over a real SMTP server,
once; retries and recorded failures; the in-app inbox; preferences; the delivery log; two replicas."""
from __future__ import annotations

import eventlet

from grassroots.events import wait_for

UNIT_CONTACT = {"name": "王丽", "mobile": "13800471234", "email": "wangli@hlbe.example.cn"}


def submitted(suite, title="草原畜牧业科技服务团", contacts=(UNIT_CONTACT,)):
    return {"call": suite.call, "application": suite.application(title),
            "recipients": {"unit_contacts": list(contacts)}}


def test_a_submitted_application_mails_the_unit_contact_and_user_in_chinese_naming_the_call_contact(
        suite, smtp_server, make_mailbox):
    mailbox = make_mailbox()
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id, email="unit-user@hlbe.example.cn", name="李强")
    suite.add_user("clerk", "intake_clerk", email="clerk@nmgrst.example.cn", name="赵敏")
    suite.add_user("officer", "programme_officer", email="officer@nmgrst.example.cn", name="塞夫")
    suite.add_user("finance", "finance_officer", email="finance@nmgrst.example.cn")
    suite.start_notify(**smtp_server(mailbox))

    suite.publish("intake", "application_submitted", submitted(suite), actor={"id": "x", "role": "applicant_unit"})

    assert wait_for(lambda: len(mailbox.received) == 3, timeout=20), mailbox.received
    [to_contact] = mailbox.to("wangli@hlbe.example.cn")
    assert to_contact["Subject"] == "申报已提交：草原畜牧业科技服务团"
    body = to_contact.get_content()
    assert body.startswith("王丽，您好：")
    assert "联系人：塞夫，电话：(0471) 6268105" in body
    assert "关于做好2025年各类专家人才服务基层有关工作的通知（内人社办发〔2025〕5号）" in body
    assert [m["Subject"] for m in mailbox.to("unit-user@hlbe.example.cn")] == ["申报已提交：草原畜牧业科技服务团"]
    assert len(mailbox.to("clerk@nmgrst.example.cn")) == 1
    # programme officers are told in-app only; finance officers not at all
    assert mailbox.to("officer@nmgrst.example.cn") == [] and mailbox.to("finance@nmgrst.example.cn") == []
    inapp = {m["recipient_user_id"] for m in suite.messages(channel="inapp")}
    assert inapp == {suite.users[k]["id"] for k in ("unit", "clerk", "officer")}
    assert wait_for(lambda: all(m["status"] == "sent" for m in suite.messages()), timeout=10)


def test_a_redelivered_event_sends_nothing_new(suite, smtp_server, make_mailbox):
    mailbox = make_mailbox()
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id, email="unit-user@hlbe.example.cn")
    suite.start_notify(**smtp_server(mailbox))
    envelope = suite.publish("intake", "application_submitted", submitted(suite))
    assert wait_for(lambda: len(mailbox.received) == 2, timeout=20)
    rows_before = len(suite.messages())

    suite.send(envelope)   # the broker delivers the same event again
    marker = suite.publish("intake", "application_submitted", submitted(suite, title="另一个项目"))
    # the later event on the same queue comes after the redelivered one: once its mail is in, both were seen
    assert wait_for(lambda: len(mailbox.received) == 4, timeout=20)
    eventlet.sleep(0.5)
    assert len(mailbox.received) == 4
    assert len(suite.messages(event_id=envelope["id"])) == rows_before
    assert len(suite.messages(event_id=marker["id"])) == rows_before


def test_a_failing_smtp_server_is_retried_then_the_failure_is_recorded_and_shown_in_the_log(
        suite, smtp_server, make_mailbox):
    mailbox = make_mailbox(data_replies=["451 4.3.0 mail system busy, try later"] * 10)
    suite.add_user("officer", "programme_officer")
    suite.start_notify(NOTIFY_MAX_ATTEMPTS="3", **smtp_server(mailbox))

    suite.publish("intake", "application_received", submitted(suite))

    def failed():
        return [m for m in suite.messages(channel="email") if m["status"] == "failed"]
    assert wait_for(failed, timeout=20)
    [row] = failed()
    assert row["attempts"] == 3 and mailbox.attempts == 3 and mailbox.received == []
    assert "451" in row["last_error"] and "wangli@" not in row["last_error"]

    r = suite.http("GET", "/api/v1/messages/log", "officer", params={"status": "failed", "channel": "email"})
    assert r.status_code == 200, r.text
    [logged] = r.json()
    assert logged["id"] == row["id"] and logged["attempts"] == 3 and logged["address"] == "w***@hlbe.example.cn"
    assert logged["event_type"] == "application_received" and "451" in logged["last_error"]


def test_a_temporary_smtp_refusal_is_retried_until_the_mail_goes_through(suite, smtp_server, make_mailbox):
    mailbox = make_mailbox(data_replies=["451 4.3.0 try later", "451 4.3.0 try later"])
    suite.start_notify(NOTIFY_MAX_ATTEMPTS="5", **smtp_server(mailbox))
    suite.publish("intake", "application_received", submitted(suite))
    assert wait_for(lambda: len(mailbox.received) == 1, timeout=20)
    assert wait_for(lambda: [m["status"] for m in suite.messages(channel="email")] == ["sent"], timeout=5)
    assert suite.messages(channel="email")[0]["attempts"] == 3


def test_a_permanent_refusal_fails_at_once_without_retrying(suite, smtp_server, make_mailbox):
    mailbox = make_mailbox(data_replies=["550 5.1.1 mailbox unavailable"] * 5)
    suite.start_notify(NOTIFY_MAX_ATTEMPTS="5", **smtp_server(mailbox))
    suite.publish("intake", "application_received", submitted(suite))
    assert wait_for(lambda: [m["status"] for m in suite.messages(channel="email")] == ["failed"], timeout=20)
    assert suite.messages(channel="email")[0]["attempts"] == 1 and mailbox.attempts == 1


def test_without_smtp_host_email_is_recorded_as_skipped_with_its_reason(suite):
    suite.add_user("officer", "programme_officer")
    suite.start_notify()
    suite.publish("intake", "application_received", submitted(suite))
    assert wait_for(lambda: suite.messages(channel="email"), timeout=20)
    [row] = suite.messages(channel="email")
    assert row["status"] == "skipped" and "SMTP_HOST" in row["last_error"]
    r = suite.http("GET", "/api/v1/messages/log", "officer", params={"status": "skipped"})
    assert [m["id"] for m in r.json()] == [row["id"]]


def test_the_inbox_lists_my_messages_counts_unread_and_marks_read(suite):
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id)
    suite.add_user("other", "applicant_unit", unit_id="o" * 32)
    suite.start_notify()
    suite.publish("intake", "application_submitted", submitted(suite))
    suite.publish("review", "application_selected", submitted(suite))
    assert wait_for(lambda: len(suite.messages(channel="inapp")) == 2, timeout=20)

    mine = suite.http("GET", "/api/v1/messages", "unit").json()
    assert {m["event_type"] for m in mine} == {"application_submitted", "application_selected"}
    assert suite.http("GET", "/api/v1/messages/unread-count", "unit").json() == {"unread": 2}
    assert suite.http("GET", "/api/v1/messages", "other").json() == []

    target = mine[0]["id"]
    assert suite.http("POST", f"/api/v1/messages/{target}/read", "other").status_code == 404
    r = suite.http("POST", f"/api/v1/messages/{target}/read", "unit")
    assert r.status_code == 200 and r.json()["read_at"]
    assert suite.http("GET", "/api/v1/messages/unread-count", "unit").json() == {"unread": 1}
    unread = suite.http("GET", "/api/v1/messages", "unit", params={"unread": "1"}).json()
    assert [m["id"] for m in unread] == [m["id"] for m in mine if m["id"] != target]


def test_a_user_who_chooses_sms_and_inapp_gets_no_email(suite, smtp_server, make_mailbox):
    mailbox = make_mailbox()
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id, email="unit-user@hlbe.example.cn",
                   mobile="13912345678")
    suite.start_notify(**smtp_server(mailbox))
    assert suite.http("GET", "/api/v1/messages/preferences", "unit").json()["channels"] == ["email", "inapp"]
    r = suite.http("PUT", "/api/v1/messages/preferences", "unit", json={"channels": ["sms", "inapp"]})
    assert r.status_code == 200 and r.json()["channels"] == ["inapp", "sms"]
    refused = suite.http("PUT", "/api/v1/messages/preferences", "unit", json={"channels": ["email"]})
    assert refused.status_code == 422 and refused.json()["code"] == "inapp_required"

    suite.publish("funding", "disbursement_paid", {**submitted(suite, contacts=()), "amount": "60000.00",
                                                   "bank_ref": "BANK-1"})
    assert wait_for(lambda: [m["status"] for m in suite.messages(channel="sms")] == ["sent"], timeout=20)
    assert suite.messages(channel="email") == [] and mailbox.received == []
    assert len(suite.messages(channel="inapp")) == 1


def test_funding_events_without_call_or_recipients_are_filled_from_what_notify_learnt(suite):
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id)
    suite.start_notify()
    first = submitted(suite)
    app = first["application"]
    suite.publish("review", "application_selected", first)
    assert wait_for(lambda: suite.messages(event_type="application_selected", channel="inapp"), timeout=20)
    budget = {"id": "b1", "application_id": app["id"], "call_id": suite.call["id"], "unit_id": app["unit_id"],
              "unit_name": app["unit_name"], "title": app["title"], "amount": "120000.00"}
    suite.publish("funding", "disbursement_paid", {
        "budget": budget, "disbursement": {"id": "d1", "amount": "60000.00", "bank_ref": "BANK-9"},
        "application": {"id": app["id"], "title": app["title"], "unit_id": app["unit_id"],
                        "unit_name": app["unit_name"]}})
    assert wait_for(lambda: suite.messages(event_type="disbursement_paid", channel="inapp"), timeout=20)
    [row] = suite.messages(event_type="disbursement_paid", channel="inapp")
    assert "60,000.00元" in row["body"] and "BANK-9" in row["body"]
    assert "联系人：塞夫，电话：(0471) 6268105" in row["body"]
    # the unit contact learnt from the earlier event is told too (e-mail, skipped without SMTP here)
    assert [m["address"] for m in suite.messages(event_type="disbursement_paid", channel="email")] \
        == [UNIT_CONTACT["email"]]


def test_two_notify_replicas_on_one_broker_never_send_the_same_message_twice(suite, smtp_server, make_mailbox):
    mailbox = make_mailbox()
    suite.start_notify(replicas=2, NOTIFY_DELIVERY_SECONDS="0.05", NOTIFY_BATCH="3", **smtp_server(mailbox))
    count = 30
    for i in range(count):
        suite.publish("intake", "application_received", submitted(
            suite, title=f"项目{i}", contacts=({"name": f"联系人{i}", "email": f"contact{i}@example.cn"},)))
    assert wait_for(lambda: len(mailbox.received) >= count, timeout=40)
    eventlet.sleep(1.0)
    rcpts = [tuple(to) for _f, to, _raw in mailbox.received]
    assert len(rcpts) == count and len(set(rcpts)) == count
    rows = suite.messages(channel="email")
    assert len(rows) == count and all(r["status"] == "sent" and r["attempts"] == 1 for r in rows)

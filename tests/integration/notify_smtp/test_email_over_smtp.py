"""E-mail through a real SMTP server: Chinese arrives intact, failures are classified, redelivery sends nothing."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.header import decode_header, make_header

import pytest

from notify.channels import DeliveryError, EmailSender, SmtpConfig
from notify.domain import EMAIL, FAILED, RETRYING, SENT, RetryPolicy, after_failure, after_success, route

CALL = {
    "id": "call-2025", "year": 2025, "title": "关于做好2025年各类专家人才服务基层有关工作的通知",
    "doc_no": "内人社办发〔2025〕5号",
    "contacts": [{"name": "塞夫", "department": "专业技术人员管理处", "phone": "(0471) 6268105",
                  "email": "rstzjc2021@126.com"}],
}
APPLICATION = {"id": "app-17", "title": "草原畜牧业科技服务团", "programme_code": "expert_team",
               "programme_name": "专家服务团项目", "unit_id": "unit-hlbe",
               "unit_name": "呼伦贝尔市人力资源和社会保障局", "league_city_code": "150700"}
NOW = dt.datetime(2025, 6, 1, 2, 0, tzinfo=dt.timezone.utc)


def paid_event(event_id="evt-paid-1"):
    return {
        "id": event_id, "type": "disbursement_paid", "source": "funding",
        "occurred_at": "2025-06-01T02:00:00+00:00", "correlation_id": "c-1",
        "actor": {"id": "u-liu", "role": "finance_officer", "unit_id": None}, "schema_version": 1,
        "payload": {"call": CALL, "application": APPLICATION, "amount": "150000.00", "bank_ref": "NX001",
                    "recipients": {"unit_contacts": [{"name": "王丽", "email": "wangli@hlbe.example.cn"}],
                                   "user_ids": []}},
    }


def email_intents(event):
    return [i for i in route(event, users_of_role=lambda role: []) if i.channel == EMAIL]


def sender_for(host, port, **kwargs):
    return EmailSender(SmtpConfig(host=host, port=port, sender_address="noreply@nmgrst.example.cn",
                                  sender_name="内蒙古自治区人力资源和社会保障厅", timeout=5, **kwargs))


def received_message(mailbox, index=0):
    return email.message_from_bytes(mailbox.received[index][2], policy=email.policy.default)


def test_a_rendered_message_arrives_with_its_chinese_subject_and_body(smtp_server, make_mailbox):
    mailbox = make_mailbox()
    host, port = smtp_server(mailbox)
    [intent] = email_intents(paid_event())
    sender_for(host, port).deliver(intent)

    assert len(mailbox.received) == 1
    mail_from, rcpt_tos, raw = mailbox.received[0]
    assert (mail_from, rcpt_tos) == ("noreply@nmgrst.example.cn", ["wangli@hlbe.example.cn"])
    msg = received_message(mailbox)
    assert msg["Subject"] == "资助经费已拨付：草原畜牧业科技服务团"
    body = msg.get_content()
    assert body.startswith("王丽，您好：")
    assert "150,000.00元" in body and "2025年6月1日" in body
    assert "联系人：塞夫，电话：(0471) 6268105" in body
    assert "内人社办发〔2025〕5号" in body
    assert str(make_header(decode_header(email.message_from_bytes(raw)["From"]))) == \
        "内蒙古自治区人力资源和社会保障厅 <noreply@nmgrst.example.cn>"
    assert msg["Message-ID"] == f"<{intent.dedup_key}@nmgrst.example.cn>"


def test_a_long_chinese_subject_folded_over_several_lines_decodes_whole(smtp_server, make_mailbox):
    mailbox = make_mailbox()
    host, port = smtp_server(mailbox)
    subject = "【申报通知】关于做好2025年各类专家人才服务基层有关工作的通知（内人社办发〔2025〕5号）请按时申报"
    sender_for(host, port).send("wangli@hlbe.example.cn", subject, "正文\n", to_name="王丽")
    assert received_message(mailbox)["Subject"] == subject


def test_a_redelivered_event_sends_nothing_new(smtp_server, make_mailbox):
    mailbox = make_mailbox()
    host, port = smtp_server(mailbox)
    sender = sender_for(host, port)
    stored: dict[str, str] = {}  # the service's table with a unique dedup_key

    for delivery in (paid_event("evt-paid-9"), paid_event("evt-paid-9")):
        for intent in email_intents(delivery):
            if intent.dedup_key in stored:
                continue
            stored[intent.dedup_key] = "pending"
            sender.deliver(intent)
            stored[intent.dedup_key] = SENT

    assert len(mailbox.received) == 1 and list(stored.values()) == [SENT]


def test_a_server_answering_451_is_retried_with_backoff_and_then_delivers(smtp_server, make_mailbox):
    mailbox = make_mailbox(data_replies=["451 4.3.0 Temporary local problem, try again later"])
    host, port = smtp_server(mailbox)
    sender = sender_for(host, port)
    [intent] = email_intents(paid_event())
    policy = RetryPolicy(base=dt.timedelta(seconds=30), max_attempts=3, jitter=0.0)

    with pytest.raises(DeliveryError) as caught:
        sender.deliver(intent)
    assert caught.value.retryable and caught.value.code == 451
    first = after_failure(1, NOW, caught.value.to_error_class(), policy)
    assert first.status == RETRYING and first.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert mailbox.received == []

    sender.deliver(intent)  # the retry, when next_attempt_at has come
    assert after_success(2).status == SENT
    assert mailbox.attempts == 2 and len(mailbox.received) == 1
    assert received_message(mailbox)["Subject"] == "资助经费已拨付：草原畜牧业科技服务团"


def test_a_server_that_keeps_answering_451_ends_failed_after_the_last_attempt(smtp_server, make_mailbox):
    mailbox = make_mailbox(data_replies=["451 4.3.0 Try again later"] * 3)
    host, port = smtp_server(mailbox)
    sender = sender_for(host, port)
    [intent] = email_intents(paid_event())
    policy = RetryPolicy(max_attempts=3, jitter=0.0)

    statuses = []
    for attempt in (1, 2, 3):
        with pytest.raises(DeliveryError) as caught:
            sender.deliver(intent)
        statuses.append(after_failure(attempt, NOW, caught.value.to_error_class(), policy).status)
    assert statuses == [RETRYING, RETRYING, FAILED]
    assert mailbox.received == []


def test_a_server_answering_550_mailbox_unavailable_is_a_permanent_failure(smtp_server, make_mailbox):
    mailbox = make_mailbox(rcpt_reply="550 5.1.1 <wangli@hlbe.example.cn>: Mailbox unavailable")
    host, port = smtp_server(mailbox)
    [intent] = email_intents(paid_event())

    with pytest.raises(DeliveryError) as caught:
        sender_for(host, port).deliver(intent)
    assert not caught.value.retryable and caught.value.code == 550
    assert "wangli@" not in caught.value.reason  # the reason goes to logs and the delivery log
    outcome = after_failure(1, NOW, caught.value.to_error_class())
    assert outcome.status == FAILED and outcome.next_attempt_at is None
    assert mailbox.attempts == 0


def test_a_server_that_is_not_listening_is_a_retryable_failure(unused_port):
    [intent] = email_intents(paid_event())
    with pytest.raises(DeliveryError) as caught:
        sender_for("127.0.0.1", unused_port).deliver(intent)
    assert caught.value.retryable


def test_the_sender_logs_in_when_credentials_are_configured(smtp_server, make_mailbox, make_credentials):
    mailbox, credentials = make_mailbox(), make_credentials("notify", "s3cret")
    host, port = smtp_server(mailbox, authenticator=credentials, auth_require_tls=False)
    [intent] = email_intents(paid_event())
    sender_for(host, port, username="notify", password="s3cret").deliver(intent)
    assert credentials.logins == [True] and len(mailbox.received) == 1


def test_wrong_credentials_are_a_permanent_failure(smtp_server, make_mailbox, make_credentials):
    host, port = smtp_server(make_mailbox(), authenticator=make_credentials("notify", "s3cret"),
                             auth_require_tls=False)
    [intent] = email_intents(paid_event())
    with pytest.raises(DeliveryError) as caught:
        sender_for(host, port, username="notify", password="wrong").deliver(intent)
    assert not caught.value.retryable and caught.value.code == 535


def test_starttls_upgrades_the_connection_before_sending(smtp_server, make_mailbox, server_tls_context, tls_files):
    mailbox = make_mailbox()
    host, port = smtp_server(mailbox, tls_context=server_tls_context, require_starttls=True)
    [intent] = email_intents(paid_event())
    sender_for(host, port, security="starttls", ca_file=tls_files[0]).deliver(intent)
    assert received_message(mailbox)["Subject"] == "资助经费已拨付：草原畜牧业科技服务团"


def test_a_server_requiring_starttls_refuses_a_plain_sender_permanently(smtp_server, make_mailbox,
                                                                       server_tls_context):
    host, port = smtp_server(make_mailbox(), tls_context=server_tls_context, require_starttls=True)
    [intent] = email_intents(paid_event())
    with pytest.raises(DeliveryError) as caught:
        sender_for(host, port).deliver(intent)
    assert not caught.value.retryable


def test_implicit_tls_delivers_the_message(smtp_server, make_mailbox, server_tls_context, tls_files):
    mailbox = make_mailbox()
    host, port = smtp_server(mailbox, ssl_context=server_tls_context)
    [intent] = email_intents(paid_event())
    sender_for(host, port, security="ssl", ca_file=tls_files[0]).deliver(intent)
    assert received_message(mailbox).get_content().startswith("王丽，您好：")


def test_an_untrusted_certificate_is_a_permanent_failure(smtp_server, make_mailbox, server_tls_context):
    host, port = smtp_server(make_mailbox(), ssl_context=server_tls_context)
    [intent] = email_intents(paid_event())
    with pytest.raises(DeliveryError) as caught:
        sender_for(host, port, security="ssl").deliver(intent)
    assert not caught.value.retryable

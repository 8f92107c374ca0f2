"""Channels without a network: MIME building, SMTP session steps, SMS logging and factory, the inbox."""
from __future__ import annotations

import email
import email.policy
import logging
import smtplib
from email.header import decode_header, make_header

import pytest

from notify.channels import (ChannelSet, DeliveryError, EmailSender, InAppChannel, LogSmsSender, SmsChannel,
                             SmtpConfig, build_message, make_sms_sender)
from notify.domain import EMAIL, INAPP, SMS, MessageIntent, Recipient

CONFIG = SmtpConfig(host="smtp.example.cn", port=587, security="starttls", username="notify", password="pw",
                    sender_address="noreply@nmgrst.example.cn", sender_name="内蒙古自治区人力资源和社会保障厅")


def intent(channel=EMAIL, **recipient):
    person = Recipient(**({"name": "王丽", "user_id": "u-wangli", "email": "wangli@hlbe.example.cn",
                           "mobile": "13812341234"} | recipient))
    return MessageIntent(dedup_key="k" * 64, event_id="evt-1", event_type="application_received",
                         recipient=person, channel=channel, subject="纸质材料已收到：草原畜牧业科技服务团",
                         body="王丽，您好：\n\n　　材料已收到。\n联系人：塞夫，电话：(0471) 6268105\n")


class FakeSMTP:
    """Records the session steps; ``fail_with`` raises at send time."""

    def __init__(self, fail_with=None):
        self.steps = []
        self.fail_with = fail_with
        self.sent = []

    def __call__(self, config):
        self.steps.append(("connect", config.host, config.port))
        return self

    def starttls(self, context=None):
        self.steps.append(("starttls",))

    def login(self, user, password):
        self.steps.append(("login", user))

    def send_message(self, msg):
        self.steps.append(("send",))
        if self.fail_with:
            raise self.fail_with
        self.sent.append(msg)

    def quit(self):
        self.steps.append(("quit",))

    def close(self):
        self.steps.append(("close",))


def rfc2047_header(raw: bytes, name: str) -> str:
    """Decode a header the RFC 2047 way: whitespace between adjacent encoded words is dropped.

    Python's modern address parser keeps a space when a long display name is folded into two encoded
    words; mail clients do not, so the test decodes as they do (compat32 keeps the raw value).
    """
    return str(make_header(decode_header(email.message_from_bytes(raw)[name])))


def parse(msg):
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_the_mime_message_keeps_chinese_subject_names_and_body_intact():
    parsed = parse(build_message(CONFIG, "wangli@hlbe.example.cn", "申报已提交：草原畜牧业科技服务团",
                                 "正文：联系人：塞夫\n", to_name="王丽", message_key="abc123"))
    assert parsed["Subject"] == "申报已提交：草原畜牧业科技服务团"
    raw = build_message(CONFIG, "a@b.cn", "主题", "正文\n").as_bytes()
    assert rfc2047_header(raw, "From") == "内蒙古自治区人力资源和社会保障厅 <noreply@nmgrst.example.cn>"
    assert parsed["To"].addresses[0].display_name == "王丽"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content() == "正文：联系人：塞夫\n"


def test_the_raw_message_is_ascii_on_the_wire_so_no_relay_can_mangle_it():
    raw = build_message(CONFIG, "a@b.cn", "中文主题", "中文正文\n", to_name="王丽").as_bytes()
    assert raw.isascii()
    assert parse(build_message(CONFIG, "a@b.cn", "中文主题", "中文正文\n")).get_content() == "中文正文\n"


def test_the_message_id_derives_from_the_dedup_key_so_a_resend_is_recognisable():
    msg = build_message(CONFIG, "a@b.cn", "主题", "正文\n", message_key="abc123")
    assert msg["Message-ID"] == "<abc123@nmgrst.example.cn>"


def test_a_starttls_sender_upgrades_then_logs_in_then_sends():
    smtp = FakeSMTP()
    EmailSender(CONFIG, smtp_factory=smtp).deliver(intent())
    assert smtp.steps == [("connect", "smtp.example.cn", 587), ("starttls",), ("login", "notify"), ("send",),
                          ("quit",)]
    assert smtp.sent[0]["To"].addresses[0].addr_spec == "wangli@hlbe.example.cn"


def test_a_plain_sender_without_credentials_neither_upgrades_nor_logs_in():
    smtp = FakeSMTP()
    EmailSender(SmtpConfig(host="relay", port=25), smtp_factory=smtp).deliver(intent())
    assert [s[0] for s in smtp.steps] == ["connect", "send", "quit"]


def test_a_refused_mailbox_becomes_a_permanent_delivery_error_and_the_address_is_not_logged(caplog):
    smtp = FakeSMTP(fail_with=smtplib.SMTPRecipientsRefused(
        {"wangli@hlbe.example.cn": (550, b"5.1.1 <wangli@hlbe.example.cn> mailbox unavailable")}))
    with caplog.at_level(logging.INFO), pytest.raises(DeliveryError) as caught:
        EmailSender(CONFIG, smtp_factory=smtp).deliver(intent())
    assert not caught.value.retryable and caught.value.code == 550
    assert "wangli@" not in caplog.text and "wangli@" not in str(caught.value)
    assert ("quit",) in smtp.steps


def test_a_busy_server_becomes_a_retryable_delivery_error():
    smtp = FakeSMTP(fail_with=smtplib.SMTPDataError(451, b"4.3.0 try again later"))
    with pytest.raises(DeliveryError) as caught:
        EmailSender(CONFIG, smtp_factory=smtp).deliver(intent())
    assert caught.value.retryable and caught.value.to_error_class().code == 451


def test_an_unreachable_server_becomes_a_retryable_delivery_error():
    def refuse(_config):
        raise ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(DeliveryError) as caught:
        EmailSender(CONFIG, smtp_factory=refuse).deliver(intent())
    assert caught.value.retryable


def test_an_intent_without_an_email_address_is_a_permanent_error():
    with pytest.raises(DeliveryError) as caught:
        EmailSender(CONFIG, smtp_factory=FakeSMTP()).deliver(intent(email=None))
    assert not caught.value.retryable


def test_a_successful_send_logs_the_address_masked(caplog):
    with caplog.at_level(logging.INFO):
        EmailSender(CONFIG, smtp_factory=FakeSMTP()).deliver(intent())
    assert "w***@hlbe.example.cn" in caplog.text and "wangli@" not in caplog.text


def test_smtp_settings_come_from_environment_style_keys_with_port_defaults_per_security():
    config = SmtpConfig.from_config({"SMTP_HOST": "smtp.126.com", "SMTP_SECURITY": "ssl",
                                     "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p", "SMTP_SENDER": "a@126.com",
                                     "SMTP_SENDER_NAME": "专家服务基层"})
    assert (config.host, config.port, config.security, config.sender_name) == \
        ("smtp.126.com", 465, "ssl", "专家服务基层")
    assert SmtpConfig.from_config({"SMTP_SECURITY": "starttls"}).port == 587
    assert SmtpConfig.from_config({}).port == 25


def test_the_smtp_password_never_shows_in_a_repr():
    assert "s3cret" not in repr(SmtpConfig(username="notify", password="s3cret"))


def test_an_unknown_tls_mode_or_half_credentials_are_refused():
    with pytest.raises(ValueError):
        SmtpConfig(security="tls-please")
    with pytest.raises(ValueError):
        SmtpConfig(username="only-user")


def test_the_log_sms_sender_writes_the_text_with_the_mobile_masked(caplog):
    with caplog.at_level(logging.INFO):
        LogSmsSender().send("13812341234", "经费已拨付，联系人：塞夫 (0471) 6268105", key="k" * 64)
    assert "138****1234" in caplog.text and "13812341234" not in caplog.text
    assert "经费已拨付" in caplog.text


def test_the_sms_channel_sends_the_body_to_the_recipients_mobile():
    sent = []

    class Recorder:
        def send(self, mobile, text, *, key=None):
            sent.append((mobile, text, key))

    SmsChannel(Recorder()).deliver(intent(SMS))
    assert sent == [("13812341234", intent(SMS).body, "k" * 64)]


def test_the_default_sms_sender_is_the_log_sender():
    assert isinstance(make_sms_sender({}), LogSmsSender)


class RecordingSmsSender:
    def __init__(self, config):
        self.config = config

    def send(self, mobile, text, *, key=None):
        pass


class NotASender:
    def __init__(self, config):
        pass


def test_the_sms_sender_is_chosen_by_a_dotted_path_in_configuration():
    path = f"{__name__}:RecordingSmsSender"
    sender = make_sms_sender({"SMS_SENDER": path, "SMS_API_KEY": "x"})
    assert type(sender).__name__ == "RecordingSmsSender" and sender.config["SMS_API_KEY"] == "x"
    assert type(make_sms_sender({"SMS_SENDER": "notify.channels.sms.LogSmsSender"})).__name__ == "LogSmsSender"


def test_a_configured_class_without_send_is_refused():
    with pytest.raises(TypeError):
        make_sms_sender({"SMS_SENDER": f"{__name__}:NotASender"})


def test_the_inbox_channel_stores_the_message_for_the_user():
    stored = []

    class Store:
        def put(self, **kwargs):
            stored.append(kwargs)

    InAppChannel(Store()).deliver(intent(INAPP))
    assert stored == [{"user_id": "u-wangli", "title": "纸质材料已收到：草原畜牧业科技服务团",
                       "body": intent(INAPP).body, "dedup_key": "k" * 64, "event_id": "evt-1",
                       "event_type": "application_received"}]


def test_the_inbox_needs_an_account():
    with pytest.raises(DeliveryError):
        InAppChannel(store=None).deliver(intent(INAPP, user_id=None))


def test_the_channel_set_dispatches_by_channel_and_refuses_an_unconfigured_one():
    smtp = FakeSMTP()
    channels = ChannelSet(email=EmailSender(CONFIG, smtp_factory=smtp))
    channels.deliver(intent(EMAIL))
    assert ("send",) in smtp.steps
    with pytest.raises(DeliveryError) as caught:
        channels.deliver(intent(SMS))
    assert not caught.value.retryable

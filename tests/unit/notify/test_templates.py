"""Templates: every event kind and channel renders Chinese text naming the call, application and contact."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from notify.domain import EMAIL, INAPP, SMS, Recipient, RenderError, Renderer, cn_date, cn_datetime, yuan
from notify.domain.rendering import TEMPLATE_DIR, build_context, shorten
from notify.domain.routing import RULES, channels_of

PAIRS = [(e, c) for e in sorted(RULES) for c in channels_of(e)]
RECIPIENT = Recipient(name="王丽", user_id="u-wangli", email="wangli@hlbe.example.cn", mobile="13812341234")


def render(envelope_factory, event_type, channel, **overrides):
    event = envelope_factory(event_type, **overrides)
    context = build_context(event, RECIPIENT)
    context["audience"] = "concerned"
    return Renderer().render(event_type, channel, context)


@pytest.mark.parametrize("event_type,channel", PAIRS)
def test_every_template_names_the_call_and_the_contact_officer_with_phone(event_type, channel, envelope):
    rendered = render(envelope, event_type, channel)
    text = rendered.subject + rendered.body
    assert "内人社办发〔2025〕5号" in text
    if channel == SMS:
        assert "联系人：塞夫 (0471) 6268105" in text
    else:
        assert "所属通知：关于做好2025年各类专家人才服务基层有关工作的通知" in text
        assert "联系人：塞夫，电话：(0471) 6268105" in text


# Events about a call, a round or an expert rather than one application.
WITHOUT_APPLICATION = {"call_opened", "review_round_opened", "expert_admitted_to_pool", "deadline_reminder",
                       "scoring_reminder"}


@pytest.mark.parametrize("event_type,channel", [p for p in PAIRS if p[0] not in WITHOUT_APPLICATION])
def test_every_template_names_the_application_when_there_is_one(event_type, channel, envelope):
    rendered = render(envelope, event_type, channel)
    title = "草原畜牧业科技服务团"
    assert (title if channel != SMS else title[:5]) in rendered.subject + rendered.body


@pytest.mark.parametrize("event_type,channel", [p for p in PAIRS if p[1] != SMS])
def test_email_and_inbox_messages_have_a_chinese_subject_and_body(event_type, channel, envelope):
    rendered = render(envelope, event_type, channel)
    assert rendered.subject and "\n" not in rendered.subject
    assert len(rendered.subject) <= 50 and "您好" not in rendered.subject  # the subject is one short line
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rendered.subject)
    assert len(rendered.body.strip().splitlines()) >= 3


@pytest.mark.parametrize("event_type", [e for e, c in PAIRS if c == EMAIL])
def test_an_email_greets_the_person_by_name(event_type, envelope):
    assert render(envelope, event_type, EMAIL).body.startswith("王丽，您好：")


def test_an_email_to_someone_without_a_name_greets_politely(envelope):
    event = envelope("application_received")
    rendered = Renderer().render("application_received", EMAIL, build_context(event, Recipient(email="x@y.cn")))
    assert rendered.body.startswith("您好：")


@pytest.mark.parametrize("event_type", [e for e, c in PAIRS if c == SMS])
def test_sms_texts_fit_in_one_message_of_70_characters(event_type, envelope):
    rendered = render(envelope, event_type, SMS)
    assert rendered.subject == ""
    assert "\n" not in rendered.body
    assert len(rendered.body) <= 70, rendered.body


def test_every_channel_a_rule_offers_has_a_template_and_no_template_is_orphaned():
    renderer = Renderer()
    for event_type, channel in PAIRS:
        assert renderer.has_template(event_type, channel), (event_type, channel)
    on_disk = {(p.parent.name, p.stem) for p in Path(TEMPLATE_DIR).glob("*/*.j2")}
    assert on_disk == set(PAIRS)


def test_a_missing_payload_field_fails_loudly_instead_of_rendering_blank(envelope):
    event = envelope("disbursement_paid")
    del event["payload"]["bank_ref"]
    with pytest.raises(RenderError) as caught:
        Renderer().render_event(event, RECIPIENT, EMAIL)
    assert "bank_ref" in str(caught.value)


def test_a_call_without_a_contact_phone_cannot_be_rendered(envelope, samples):
    call = samples.call
    call["contacts"] = [{"name": "塞夫", "department": "专业技术人员管理处", "phone": "", "email": ""}]
    with pytest.raises(RenderError):
        Renderer().render_event(envelope("application_received", call=call), RECIPIENT, INAPP)


def test_the_first_contact_with_a_phone_is_the_one_named(envelope, samples):
    call = samples.call
    call["contacts"][0]["phone"] = None
    rendered = Renderer().render_event(envelope("application_received", call=call), RECIPIENT, INAPP)
    assert "联系人：沈婷，电话：(0471) 6601325" in rendered.body


def test_amounts_are_shown_in_yuan_with_thousands_separators(envelope):
    rendered = render(envelope, "disbursement_paid", EMAIL, amount="1234567.5")
    assert "1,234,567.50元" in rendered.body


def test_dates_are_shown_as_the_date_in_inner_mongolia(envelope):
    # 2025-01-23T16:30Z is already 24 January in Asia/Shanghai.
    rendered = render(envelope, "report_due_reminder", INAPP, due_at="2025-01-23T16:30:00+00:00")
    assert "2025年1月24日前提交" in rendered.body


def test_markup_in_a_payload_is_kept_as_written_in_plain_text(envelope, samples):
    app = dict(samples.application, title="A&B <科技> 服务团")
    rendered = render(envelope, "application_received", EMAIL, application=app)
    assert "A&B <科技> 服务团" in rendered.body


def test_a_ministry_refusal_says_not_selected(envelope):
    rendered = render(envelope, "ministry_decided", EMAIL, approved=False, doc_ref=None)
    assert "未入选" in rendered.subject and "已入选" not in rendered.body


def test_the_deadline_reminder_mentions_drafts_and_unused_quota_only_when_there_are_some(envelope):
    both = render(envelope, "deadline_reminder", INAPP, drafts=2, quota_left=1).body
    neither = render(envelope, "deadline_reminder", INAPP, drafts=0, quota_left=0).body
    assert "尚有2份申报未提交" in both and "尚有1个申报名额未使用" in both
    assert "未提交" not in neither and "名额" not in neither


def test_yuan_formats_decimal_strings_with_two_places():
    assert yuan("200000") == "200,000.00元"
    assert yuan(Decimal("0.005")) == "0.01元"
    assert yuan("1,000.1") == "1,000.10元"
    with pytest.raises(TypeError):
        yuan("about ten thousand")


def test_dates_convert_from_utc_to_asia_shanghai():
    assert cn_date("2025-01-24T15:59:59+00:00") == "2025年1月24日"
    assert cn_date("2025-01-24T16:00:00Z") == "2025年1月25日"
    assert cn_date(dt.date(2025, 6, 10)) == "2025年6月10日"
    assert cn_datetime("2025-03-10T09:00:00+00:00") == "2025年3月10日 17:00"


def test_shorten_cuts_long_titles_with_an_ellipsis():
    assert shorten("草原畜牧业科技服务团", 8) == "草原畜牧业科技…"
    assert shorten("短标题", 8) == "短标题"


def test_a_withdrawn_budget_gives_the_reason_and_says_no_more_money_comes(envelope):
    body = render(envelope, "budget_withdrawn", EMAIL).body
    assert "300,000.00元" in body and "原因：部里来函更正为不予资助" in body and "1笔拨款申请已一并撤销" in body
    # a budget withdrawn before it had an amount names none
    bare = render(envelope, "budget_withdrawn", INAPP, amount=None, cancelled_disbursements=[]).body
    assert "元" not in bare.split("联系人")[0] and "已撤销" in bare and "拨款申请" not in bare


def test_a_blocked_withdrawal_names_the_money_to_bring_back(envelope):
    rendered = render(envelope, "budget_withdrawal_blocked", EMAIL)
    assert "待撤销" in rendered.subject
    assert "50,000.00元" in rendered.body and "退回" in rendered.body and "登记退款" in rendered.body

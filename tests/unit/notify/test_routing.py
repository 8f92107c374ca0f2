"""Routing: the right people, the right channels, each person once, preferences respected."""
from __future__ import annotations

import pytest

from notify.domain import EMAIL, INAPP, SMS, Preferences, Recipient, route
from notify.domain.routing import RULES, channels_of

ALL_CHANNELS = lambda _uid: {EMAIL, INAPP, SMS}  # noqa: E731


def who(intents, channel=None):
    return sorted({i.recipient.name for i in intents if channel is None or i.channel == channel})


def test_every_event_type_of_the_contract_has_a_rule():
    expected = {
        "call_opened", "application_submitted", "application_withdrawn", "application_forfeited",
        "application_received", "document_stored", "report_filed", "report_overdue",
        "review_round_opened", "reviewer_assigned", "application_selected",
        "application_recommended_to_ministry", "application_not_selected", "ministry_decided",
        "expert_admitted_to_pool", "expert_matched",
        "budget_created", "disbursement_requested", "disbursement_approved", "disbursement_paid",
        "disbursement_failed", "funds_returned", "budget_withdrawn", "budget_withdrawal_blocked",
        "deadline_reminder", "report_due_reminder", "report_overdue_reminder", "scoring_reminder",
    }
    assert set(RULES) == expected


@pytest.mark.parametrize("event_type", sorted(RULES))
def test_every_event_type_tells_someone(event_type, envelope, officers):
    assert route(envelope(event_type), users_of_role=officers), event_type


def test_an_unknown_event_type_produces_no_messages(envelope, officers):
    assert route(envelope("budget_recalculated"), users_of_role=officers) == []


def test_a_submitted_application_tells_the_unit_by_mail_the_clerks_and_the_programme_officers_in_app(
        envelope, officers):
    intents = route(envelope("application_submitted"), users_of_role=officers)
    assert who(intents, EMAIL) == ["沈婷", "王丽"]
    assert who(intents, INAPP) == ["塞夫", "曹磊", "沈婷", "王丽"]


def test_a_document_stored_is_only_an_inbox_message(envelope, officers):
    intents = route(envelope("document_stored"), users_of_role=officers)
    assert {i.channel for i in intents} == {INAPP}
    assert who(intents) == ["沈婷", "王丽"]


def test_a_disbursement_request_goes_to_finance_officers_only(envelope, officers):
    intents = route(envelope("disbursement_requested"), users_of_role=officers)
    assert who(intents) == ["刘会计"]


@pytest.mark.parametrize("event_type", ["budget_withdrawn", "budget_withdrawal_blocked"])
def test_a_withdrawn_budget_tells_the_unit_and_finance_officers_by_mail_and_inbox(event_type, envelope, officers):
    intents = route(envelope(event_type), users_of_role=officers)
    assert who(intents, EMAIL) == who(intents, INAPP) == ["刘会计", "王丽"]
    assert who(intents, SMS) == []


def test_finance_officers_hear_of_a_ministry_decision_only_when_it_approves(envelope, officers):
    approved = route(envelope("ministry_decided", approved=True), users_of_role=officers)
    refused = route(envelope("ministry_decided", approved=False), users_of_role=officers)
    assert "刘会计" in who(approved)
    assert "刘会计" not in who(refused)
    assert "王丽" in who(refused)


def test_a_reviewer_assignment_goes_to_the_reviewer_and_not_to_the_unit(envelope, officers):
    intents = route(envelope("reviewer_assigned"), users_of_role=officers)
    assert who(intents) == ["赵敏"]


def test_a_matched_expert_and_the_unit_concerned_are_both_told(envelope, officers):
    intents = route(envelope("expert_matched"), users_of_role=officers)
    assert who(intents) == ["李强", "王丽"]
    expert_mail = next(i for i in intents if i.recipient.name == "李强" and i.channel == EMAIL)
    unit_mail = next(i for i in intents if i.recipient.name == "王丽" and i.channel == EMAIL)
    assert "您已匹配" in expert_mail.body
    assert "李强专家已匹配" in unit_mail.body


def test_the_acting_officer_is_not_told_what_they_just_did(envelope, officers):
    event = envelope("application_submitted")
    event["actor"] = {"id": "u-saifu", "role": "programme_officer", "unit_id": None}
    assert "塞夫" not in who(route(event, users_of_role=officers))
    assert "曹磊" in who(route(event, users_of_role=officers))


def test_without_preferences_a_person_gets_email_and_inapp_but_no_sms(envelope, officers):
    intents = route(envelope("disbursement_paid"), users_of_role=officers)
    assert {i.channel for i in intents} == {EMAIL, INAPP}


def test_a_person_who_chose_sms_gets_it_where_the_event_offers_sms(envelope, officers):
    intents = route(envelope("disbursement_paid"), users_of_role=officers, preferences_for=ALL_CHANNELS)
    sms = [i for i in intents if i.channel == SMS]
    assert [i.recipient.mobile for i in sms] == ["13812341234"]


def test_sms_is_not_used_for_events_that_do_not_offer_it_even_if_chosen(envelope, officers):
    intents = route(envelope("application_received"), users_of_role=officers, preferences_for=ALL_CHANNELS)
    assert SMS not in {i.channel for i in intents}


def test_a_person_who_turned_email_off_gets_only_the_inbox(envelope, officers):
    prefs = {"u-wangli": Preferences.of([INAPP])}
    intents = route(envelope("application_selected"), users_of_role=officers,
                    preferences_for=lambda uid: prefs.get(uid))
    wangli = [i.channel for i in intents if i.recipient.name == "王丽"]
    assert wangli == [INAPP]


def test_a_contact_without_an_account_gets_email_only_since_the_inbox_needs_an_account(envelope, officers):
    contact = {"name": "张伟", "email": "zhangwei@xam.example.cn", "mobile": "13500001234"}
    event = envelope("application_received", recipients={"unit_contacts": [contact], "user_ids": []})
    intents = route(event, users_of_role=officers, preferences_for=ALL_CHANNELS)
    assert [(i.recipient.name, i.channel) for i in intents] == [("张伟", EMAIL)]


def test_hinted_user_ids_are_looked_up_for_their_names_and_addresses(envelope, officers):
    event = envelope("review_round_opened", recipients={"unit_contacts": [], "user_ids": ["u-zhaomin"]})
    lookup = {"u-zhaomin": {"name": "赵敏", "email": "zhaomin@imu.example.cn"}}
    intents = route(event, users_of_role=officers, lookup_user=lookup.get)
    zhaomin = [i for i in intents if i.recipient.user_id == "u-zhaomin"]
    assert {i.channel for i in zhaomin} == {EMAIL, INAPP}
    assert zhaomin[0].recipient.name == "赵敏"


def test_hinted_user_ids_without_a_lookup_still_reach_the_inbox(envelope, officers):
    event = envelope("review_round_opened", recipients={"unit_contacts": [], "user_ids": ["u-zhaomin"]})
    intents = [i for i in route(event, users_of_role=officers) if i.recipient.user_id == "u-zhaomin"]
    assert [i.channel for i in intents] == [INAPP]
    assert intents[0].body.count("您好") == 0  # the inbox has no greeting to get wrong


def test_a_person_reached_through_two_audiences_gets_one_message_per_channel(envelope, officers):
    # The intake clerk 沈婷 is also listed as the unit's contact (same e-mail, no account id in the hint).
    clerk_as_contact = {"name": "沈婷", "email": "ZhuanJiaZhongXinST@126.com"}
    event = envelope("application_submitted",
                     recipients={"unit_contacts": [clerk_as_contact], "user_ids": []})
    intents = [i for i in route(event, users_of_role=officers) if i.recipient.name == "沈婷"]
    assert sorted(i.channel for i in intents) == [EMAIL, INAPP]
    assert all(i.recipient.user_id == "u-shenting" for i in intents)


def test_channels_offered_by_an_audience_merge_when_the_same_person_is_in_two(envelope):
    # 刘会计 is both a finance officer (email, inapp) and the unit's contact (email, inapp, sms).
    liu = Recipient(name="刘会计", user_id="u-liu", email="liu@nmg.example.cn", mobile="13600002222")
    event = envelope("disbursement_failed",
                     recipients={"unit_contacts": [liu.to_dict()], "user_ids": []})
    intents = route(event, users_of_role=lambda role: [liu] if role == "finance_officer" else [],
                    preferences_for=ALL_CHANNELS)
    assert sorted(i.channel for i in intents) == [EMAIL, INAPP, SMS]


def test_role_users_given_as_mappings_are_accepted(envelope):
    users = lambda role: [{"user_id": "u-9", "name": "高峰", "email": "gaofeng@nmg.example.cn"}]  # noqa: E731
    intents = route(envelope("disbursement_requested"), users_of_role=users)
    assert who(intents) == ["高峰"]


def test_the_roles_asked_for_are_the_suite_role_names(envelope):
    asked = []
    for event_type in RULES:
        route(envelope(event_type), users_of_role=lambda role: asked.append(role) or [])
    assert set(asked) == {"programme_officer", "finance_officer", "intake_clerk"}


def test_every_channel_a_rule_offers_is_one_the_suite_knows():
    for event_type in RULES:
        assert set(channels_of(event_type)) <= {EMAIL, INAPP, SMS}


def test_message_intents_carry_the_event_and_serialise_to_plain_data(envelope, officers):
    intent = route(envelope("application_received", event_id="evt-42"), users_of_role=officers)[0]
    data = intent.to_dict()
    assert data["event_id"] == "evt-42" and data["event_type"] == "application_received"
    assert data["recipient"]["name"] == "王丽" and data["channel"] == EMAIL
    assert len(data["dedup_key"]) == 64

"""Dedup keys: a redelivered event yields the same keys; different people, channels or events do not."""
from __future__ import annotations

import copy
import hashlib

from notify.domain import EMAIL, INAPP, Recipient, dedup_key, route


def keys(intents):
    return sorted(i.dedup_key for i in intents)


def test_the_dedup_key_is_sha256_of_event_recipient_and_channel():
    expected = hashlib.sha256("evt-1|user:u-1|email".encode()).hexdigest()
    assert dedup_key("evt-1", "user:u-1", "email") == expected


def test_a_redelivered_event_yields_exactly_the_same_keys(envelope, officers):
    first = route(envelope("application_submitted", event_id="evt-7"), users_of_role=officers)
    again = route(copy.deepcopy(envelope("application_submitted", event_id="evt-7")), users_of_role=officers)
    assert keys(first) == keys(again)
    assert len(set(keys(first))) == len(first)


def test_a_redelivery_with_a_different_delivery_time_still_yields_the_same_keys(envelope, officers):
    first = envelope("disbursement_paid", event_id="evt-8")
    again = copy.deepcopy(first)
    again["occurred_at"] = "2025-02-01T00:00:00+00:00"
    again["correlation_id"] = "corr-other"
    assert keys(route(first, users_of_role=officers)) == keys(route(again, users_of_role=officers))


def test_another_event_yields_other_keys_for_the_same_people(envelope, officers):
    one = route(envelope("application_received", event_id="evt-1"), users_of_role=officers)
    two = route(envelope("application_received", event_id="evt-2"), users_of_role=officers)
    assert not set(keys(one)) & set(keys(two))


def test_the_key_of_an_account_holder_does_not_change_when_their_address_changes():
    before = Recipient(name="王丽", user_id="u-wangli", email="old@hlbe.example.cn")
    after = Recipient(name="王丽", user_id="u-wangli", email="new@hlbe.example.cn")
    assert dedup_key("e", before.identity(EMAIL), EMAIL) == dedup_key("e", after.identity(EMAIL), EMAIL)


def test_a_contact_without_an_account_is_keyed_by_address_case_insensitively():
    a = Recipient(name="张伟", email="ZhangWei@xam.example.cn")
    b = Recipient(name="张伟", email="zhangwei@xam.example.cn")
    assert a.identity(EMAIL) == b.identity(EMAIL) == "email:zhangwei@xam.example.cn"


def test_the_same_person_by_two_channels_gets_two_keys(envelope, officers):
    intents = [i for i in route(envelope("application_received"), users_of_role=officers)
               if i.recipient.name == "王丽"]
    assert {i.channel for i in intents} == {EMAIL, INAPP}
    assert len({i.dedup_key for i in intents}) == 2

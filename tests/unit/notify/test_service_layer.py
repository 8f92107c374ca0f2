"""The service layer's pure helpers: unit standings for deadline reminders, and who counts as concerned."""
from __future__ import annotations

from notify.models import CallFact
from notify.usecases import Directory, unit_standings, with_unit_users


def call_with_quotas():
    return CallFact(call_id="c1", summary={}, programmes=[
        {"code": "service_team", "quotas": {"league_city": {"min": None, "max": 2}, "national_base": {"max": 1}}},
        {"code": "returnee", "quotas": {"league_city": {"max": 1}, "returnee_park": {"max": None}}},
    ])


def test_a_unit_standing_counts_drafts_and_the_quota_left_over_the_programmes_it_may_apply_to():
    apps = [
        {"unit_id": "u1", "programme_code": "service_team", "status": "submitted"},
        {"unit_id": "u1", "programme_code": "service_team", "status": "draft"},
        {"unit_id": "u1", "programme_code": "returnee", "status": "withdrawn"},
        {"unit_id": "u2", "programme_code": "service_team", "status": "received"},
    ]
    units = [{"id": "u1", "name": "甲", "kind": "league_city", "contacts": [{"name": "王"}]},
             {"id": "park", "name": "园", "kind": "returnee_park", "contacts": []}]
    u1, park = unit_standings(call_with_quotas(), apps, units)
    assert (u1.drafts, u1.quota, u1.used, u1.quota_left) == (1, 3, 1, 2)
    assert u1.contacts == [{"name": "王"}]
    # unlimited quota (returnee parks) is nothing to remind about
    assert (park.quota_left, park.needs_reminder) == (0, False)


def test_used_quota_never_counts_beyond_the_quota_of_a_programme():
    apps = [{"unit_id": "u1", "programme_code": "service_team", "status": "submitted"}] * 3
    [u1] = unit_standings(call_with_quotas(), apps, [{"id": "u1", "name": "甲", "kind": "league_city"}])
    assert (u1.used, u1.quota_left) == (2, 1)


def directory(units=None, roles=None):
    asked = []

    def of_unit(unit_id):
        asked.append(("unit", unit_id))
        return (units or {}).get(unit_id, [])

    def with_role(role):
        asked.append(("role", role))
        return (roles or {}).get(role, [])

    return Directory(with_role, of_unit, lambda uid: None), asked


def test_the_users_of_the_applicant_unit_are_added_to_the_people_concerned_once():
    d, asked = directory(units={"u1": [{"user_id": "a"}, {"user_id": "b"}]})
    env = {"type": "application_submitted", "payload": {"application": {"unit_id": "u1"},
                                                        "recipients": {"unit_contacts": [{"name": "王"}],
                                                                       "user_ids": ["b"]}}}
    out = with_unit_users(env, d)
    assert out["payload"]["recipients"] == {"unit_contacts": [{"name": "王"}], "user_ids": ["b", "a"]}
    with_unit_users({"type": "x", "payload": {"unit": {"id": "u1"}}}, d)
    assert asked == [("unit", "u1")]   # asked once per worker


def test_a_new_call_concerns_every_applicant_unit_user_and_an_event_without_a_unit_concerns_no_unit():
    d, _ = directory(roles={"applicant_unit": [{"user_id": "a"}, {"user_id": "c"}]})
    out = with_unit_users({"type": "call_opened", "payload": {"call": {}}}, d)
    assert out["payload"]["recipients"]["user_ids"] == ["a", "c"]
    plain = {"type": "review_round_opened", "payload": {"round": {}, "recipients": {"user_ids": ["r1"]}}}
    assert with_unit_users(plain, d)["payload"]["recipients"] == {"user_ids": ["r1"]}

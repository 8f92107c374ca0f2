"""The service layer's pure helpers: unit standings for deadline reminders, and who counts as concerned."""
from __future__ import annotations

from notify.usecases import Directory, unit_standings, with_unit_users


def test_intakes_unit_standing_becomes_the_facts_of_deadline_reminders():
    rows = [
        {"unit": {"id": "u1", "name": "甲", "contacts": [{"name": "王"}]}, "drafts": 1, "quota": 3, "used": 1},
        {"unit": {"id": "u2", "name": "乙", "contacts": []}, "drafts": 0, "quota": 2, "used": 2},
        {"unit": {"id": "park", "name": "园"}, "drafts": 0, "quota": None, "used": 0},
    ]
    u1, u2, park = unit_standings(rows)
    assert (u1.unit_id, u1.unit_name, u1.drafts, u1.quota_left, u1.contacts) == ("u1", "甲", 1, 2, [{"name": "王"}])
    assert u1.needs_reminder
    # quota used up and no drafts: nothing to remind; unlimited quota is nothing to remind about either
    assert not u2.needs_reminder and not park.needs_reminder


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

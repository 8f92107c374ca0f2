"""Reminders: due at their marks (to the second), once each, only to the people who still have work to do."""
from __future__ import annotations

import datetime as dt

import pytest

from notify.domain import route
from notify.domain.reminders import (CallDeadline, ReportDue, ReviewerLoad, RoundClosing, UnitStanding,
                                     deadline_mark, deadline_reminders, report_reminders, scoring_reminders)

UTC = dt.timezone.utc
DEADLINE = dt.datetime(2025, 1, 24, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 24 January in Asia/Shanghai
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def call_with_units(samples):
    def make(*units):
        return CallDeadline(call=samples.call, deadline=DEADLINE, units=units)
    return make


def unit(unit_id="unit-hlbe", drafts=0, quota=2, used=2, contacts=()):
    return UnitStanding(unit_id=unit_id, unit_name="呼伦贝尔市人力资源和社会保障局", drafts=drafts, quota=quota,
                        used=used, contacts=contacts)


@pytest.mark.parametrize("now,mark", [
    (DEADLINE - 7 * DAY - SECOND, None),
    (DEADLINE - 7 * DAY, 7),
    (DEADLINE - DAY - SECOND, 7),
    (DEADLINE - DAY, 1),
    (DEADLINE - SECOND, 1),
    (DEADLINE, None),
    (DEADLINE + DAY, None),
])
def test_the_deadline_reminder_is_due_from_each_mark_to_the_second(now, mark):
    assert deadline_mark(now, DEADLINE) == mark


def test_a_unit_with_a_draft_is_reminded_seven_days_before(call_with_units):
    [reminder] = deadline_reminders(DEADLINE - 7 * DAY, [call_with_units(unit(drafts=1))])
    assert reminder["type"] == "deadline_reminder"
    assert reminder["payload"]["days_left"] == 7 and reminder["payload"]["drafts"] == 1


def test_a_unit_with_unused_quota_is_reminded(call_with_units):
    [reminder] = deadline_reminders(DEADLINE - DAY, [call_with_units(unit(quota=2, used=1))])
    assert reminder["payload"]["quota_left"] == 1 and reminder["payload"]["days_left"] == 1


def test_a_unit_that_has_submitted_everything_is_left_in_peace(call_with_units):
    assert deadline_reminders(DEADLINE - DAY, [call_with_units(unit(drafts=0, quota=2, used=2))]) == []


def test_a_unit_with_unlimited_quota_and_no_draft_is_not_reminded(call_with_units):
    assert deadline_reminders(DEADLINE - DAY, [call_with_units(unit(drafts=0, quota=None, used=0))]) == []


def test_nothing_is_due_the_second_before_the_seven_day_mark(call_with_units):
    assert deadline_reminders(DEADLINE - 7 * DAY - SECOND, [call_with_units(unit(drafts=1))]) == []


def test_the_same_reminder_computed_twice_in_its_window_has_the_same_id_and_dedup_keys(call_with_units, officers):
    calls = [call_with_units(unit(drafts=1, contacts=[{"name": "王丽", "email": "wangli@hlbe.example.cn"}]))]
    early = deadline_reminders(DEADLINE - 7 * DAY, calls)
    late = deadline_reminders(DEADLINE - DAY - SECOND, calls)
    assert early == late
    assert [i.dedup_key for i in route(early[0], users_of_role=officers)] == \
        [i.dedup_key for i in route(late[0], users_of_role=officers)]


def test_the_seven_day_and_one_day_reminders_are_distinct(call_with_units):
    calls = [call_with_units(unit(drafts=1))]
    seven = deadline_reminders(DEADLINE - 7 * DAY, calls)[0]
    one = deadline_reminders(DEADLINE - DAY, calls)[0]
    assert seven["id"] == "deadline_reminder:call-2025:unit-hlbe:7"
    assert one["id"] == "deadline_reminder:call-2025:unit-hlbe:1"


def test_each_unit_gets_its_own_reminder(call_with_units):
    ids = {r["id"] for r in deadline_reminders(DEADLINE - DAY, [call_with_units(unit("u1", drafts=1),
                                                                                unit("u2", drafts=1))])}
    assert ids == {"deadline_reminder:call-2025:u1:1", "deadline_reminder:call-2025:u2:1"}


def test_a_deadline_reminder_renders_to_the_unit_contacts(call_with_units, officers):
    contact = {"name": "王丽", "email": "wangli@hlbe.example.cn", "user_id": "u-wangli"}
    [reminder] = deadline_reminders(DEADLINE - DAY, [call_with_units(unit(drafts=1, contacts=[contact]))])
    intents = route(reminder, users_of_role=officers)
    assert {i.recipient.name for i in intents} == {"王丽"}
    assert "还有1天" in intents[0].subject and "2025年1月24日" in intents[0].body


def test_naive_times_are_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        deadline_mark(dt.datetime(2025, 1, 20), DEADLINE)


DUE = dt.datetime(2025, 9, 30, 15, 59, 59, tzinfo=UTC)


@pytest.fixture
def report(samples):
    def make(filed=False):
        return ReportDue(call=samples.call, application=samples.application, due_at=DUE, filed=filed,
                         contacts=[samples.unit_contact])
    return make


@pytest.mark.parametrize("now,expected", [
    (DUE - 3 * DAY - SECOND, []),
    (DUE - 3 * DAY, ["report_due_reminder:app-17:3"]),
    (DUE - SECOND, ["report_due_reminder:app-17:3"]),
    (DUE, ["report_overdue_reminder:app-17"]),
    (DUE + 30 * DAY, ["report_overdue_reminder:app-17"]),
])
def test_a_report_is_reminded_three_days_before_it_is_due_and_once_overdue(now, expected, report):
    assert [r["id"] for r in report_reminders(now, [report()])] == expected


def test_a_filed_report_needs_no_reminder(report):
    assert report_reminders(DUE - DAY, [report(filed=True)]) == []
    assert report_reminders(DUE + DAY, [report(filed=True)]) == []


def test_an_overdue_report_reminder_also_tells_the_programme_officers(report, officers):
    [reminder] = report_reminders(DUE + DAY, [report()])
    names = {i.recipient.name for i in route(reminder, users_of_role=officers)}
    assert {"王丽", "塞夫", "曹磊"} <= names


CLOSE = dt.datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def closing_round(samples):
    def make(*loads):
        return RoundClosing(call=samples.call, round={"id": "round-1", "name": "第一轮评审"}, close_at=CLOSE,
                            reviewers=loads)
    return make


@pytest.mark.parametrize("now,due", [
    (CLOSE - 2 * DAY - SECOND, False),
    (CLOSE - 2 * DAY, True),
    (CLOSE - SECOND, True),
    (CLOSE, False),
])
def test_reviewers_are_reminded_from_two_days_before_the_round_closes(now, due, closing_round, samples):
    reminders = scoring_reminders(now, [closing_round(ReviewerLoad(samples.reviewer, unscored=2))])
    assert bool(reminders) is due


def test_a_reviewer_who_has_scored_everything_is_not_reminded(closing_round, samples):
    assert scoring_reminders(CLOSE - DAY, [closing_round(ReviewerLoad(samples.reviewer, unscored=0))]) == []


def test_a_scoring_reminder_reaches_the_reviewer_with_the_count_and_the_close_time(closing_round, samples,
                                                                                    officers):
    [reminder] = scoring_reminders(CLOSE - DAY, [closing_round(ReviewerLoad(samples.reviewer, unscored=3))])
    assert reminder["id"] == "scoring_reminder:round-1:rev-8"
    [mail] = [i for i in route(reminder, users_of_role=officers) if i.channel == "email"]
    assert mail.recipient.name == "赵敏"
    assert "3份申报未评分" in mail.subject and "2025年3月10日 17:00" in mail.body

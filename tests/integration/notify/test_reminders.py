"""Reminders from notify's timer, driven with entrypoint_hook and an injected clock instead of waiting days.

Deadline reminders come from a real intake service: its call_opened event gives notify the deadline and
the quotas, and notify asks intake (as the system actor) for the units and their drafts."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import get_extension

from grassroots.events import wait_for
from intake.service import IntakeService
from notify.service import Clock

OFFICER = {"id": "officer-1", "role": "programme_officer", "name": "塞夫"}


def set_clock(container, moment):
    get_extension(container, Clock).now = lambda: moment


def run_reminders(container):
    with entrypoint_hook(container, "send_reminders") as hook:
        return hook()


def intake_call(intake, name, *args, user=OFFICER):
    with entrypoint_hook(intake, name, context_data={"user": user}) as hook:
        return hook(*args)


@pytest.fixture
def with_intake(suite, service_config):
    cfg = service_config("intake", AMQP_URI=suite.amqp)
    intake = suite.container_factory(IntakeService, cfg)
    intake.start()
    return intake


def test_deadline_reminders_reach_units_with_drafts_or_unused_quota_7_days_and_1_day_before_once_each(
        suite, with_intake, smtp_server, make_mailbox):
    from scenario import demo_call_definition
    from scenario_forms import demo_uscc, service_team_form_2025
    intake = with_intake
    mailbox = make_mailbox()
    notify = suite.start_notify(**smtp_server(mailbox))
    seed = int(uuid.uuid4().hex[:6], 16)
    unit_a = intake_call(intake, "create_unit", {
        "name": "呼和浩特市人力资源和社会保障局", "kind": "league_city", "league_city_code": "150100",
        "uscc": demo_uscc(seed), "contacts": [{"name": "王敏", "email": "wangmin@hhht.example.cn"}]})
    intake_call(intake, "create_unit", {
        "name": "包头市人力资源和社会保障局", "kind": "league_city", "league_city_code": "150200",
        "uscc": demo_uscc(seed + 1), "contacts": [{"name": "刘洋", "email": "liuyang@bt.example.cn"}]})
    suite.add_user("unit_a", "applicant_unit", unit_id=unit_a["id"])
    now_local = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    deadline_local = min(now_local + dt.timedelta(days=20), now_local.replace(month=12, day=31, hour=23, minute=59))
    call = intake_call(intake, "create_call", demo_call_definition(deadline_local))
    intake_call(intake, "open_call", call["id"])
    intake_call(intake, "create_application", {
        "call_id": call["id"], "programme_code": "service_team", "title": "草原生态修复专家服务团",
        "form": service_team_form_2025(unit_a["name"], deadline_local.year)},
        user={"id": suite.users["unit_a"]["id"], "role": "applicant_unit", "unit_id": unit_a["id"]})
    deadline = dt.datetime.fromisoformat(call["deadline"])
    assert wait_for(lambda: _learnt(suite, call["id"]), timeout=20)   # notify heard call_opened

    set_clock(notify, deadline - dt.timedelta(days=8))
    assert run_reminders(notify) == 0          # before the 7-day mark: nothing

    set_clock(notify, deadline - dt.timedelta(days=6, hours=20))
    made = run_reminders(notify)
    rows = suite.messages(event_type="deadline_reminder")
    assert made == len(rows) == 3               # unit A: contact e-mail + user in-app; unit B: contact e-mail
    assert run_reminders(notify) == 0          # the next tick makes nothing new
    assert wait_for(lambda: len(mailbox.received) == 2, timeout=20)
    [to_a] = mailbox.to("wangmin@hhht.example.cn")
    assert to_a["Subject"] == "申报截止提醒：还有7天"
    body_a = to_a.get_content()
    body_b = mailbox.to("liuyang@bt.example.cn")[0].get_content()
    assert "呼和浩特市人力资源和社会保障局尚有1份申报未提交" in body_a and "逾期不报视为放弃" in body_a
    assert "申报未提交" not in body_b
    # neither unit has used any quota: both are told the same, positive, number of unused places
    quota_a = re.search(r"尚有(\d+)个申报名额未使用", body_a)
    quota_b = re.search(r"尚有(\d+)个申报名额未使用", body_b)
    assert quota_a and quota_b and int(quota_a.group(1)) == int(quota_b.group(1)) > 0
    [inapp] = suite.messages(event_type="deadline_reminder", channel="inapp")
    assert inapp["recipient_user_id"] == suite.users["unit_a"]["id"]

    set_clock(notify, deadline - dt.timedelta(hours=12))
    assert run_reminders(notify) == 3
    assert {m["subject"] for m in suite.messages(event_type="deadline_reminder", channel="email")} \
        == {"申报截止提醒：还有7天", "申报截止提醒：还有1天"}
    assert run_reminders(notify) == 0

    set_clock(notify, deadline + dt.timedelta(hours=1))
    assert run_reminders(notify) == 0          # after the deadline: no reminder


def _learnt(suite, call_id):
    import sqlalchemy as sa
    from notify.models import CallFact
    engine = sa.create_engine(suite.notify_cfg["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(CallFact.call_id).where(CallFact.call_id == call_id)).first()
    finally:
        engine.dispose()


def test_scoring_reminders_go_2_days_before_a_round_closes_to_reviewers_with_unscored_assignments(suite):
    notify = suite.start_notify()
    r1 = suite.add_user("reviewer1", "reviewer", email="r1@example.cn", name="张教授")
    r2 = suite.add_user("reviewer2", "reviewer", email="r2@example.cn", name="李研究员")
    close_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=10)
    rnd = {"id": "round-1", "name": "2025年专家服务团项目初评", "close_at": close_at.isoformat()}
    suite.publish("review", "review_round_opened", {
        "call": suite.call, "round": rnd, "recipients": {"unit_contacts": [], "user_ids": [r1["id"], r2["id"]]}})
    apps = [suite.application(f"项目{i}") for i in range(3)]
    reviewer = {r["id"]: {"id": r["id"], "user_id": r["id"], "name": r["name"], "email": r["email"]} for r in (r1, r2)}
    for app, who in ((apps[0], r1), (apps[1], r1), (apps[2], r2)):
        suite.publish("review", "reviewer_assigned", {"call": suite.call, "application": app,
                                                      "reviewer": reviewer[who["id"]], "round": rnd,
                                                      "recipients": {"unit_contacts": [], "user_ids": []}})
    suite.publish("review", "score_submitted", {"call": suite.call, "application": apps[2],
                                                "reviewer": reviewer[r2["id"]], "round": rnd})
    assert wait_for(lambda: len(suite.messages(event_type="reviewer_assigned", channel="inapp")) == 3, timeout=20)
    assert wait_for(lambda: _scored(suite), timeout=10)

    set_clock(notify, close_at - dt.timedelta(days=3))
    assert run_reminders(notify) == 0
    set_clock(notify, close_at - dt.timedelta(days=1))
    assert run_reminders(notify) == 2          # reviewer 1 by e-mail and in-app; reviewer 2 has scored all
    rows = suite.messages(event_type="scoring_reminder")
    assert {r["recipient_user_id"] for r in rows} == {r1["id"]}
    [inapp] = [r for r in rows if r["channel"] == "inapp"]
    assert inapp["subject"] == "评分提醒：还有2份申报未评分" and inapp["event_id"] == f"scoring_reminder:round-1:{r1['id']}"
    assert run_reminders(notify) == 0


def _scored(suite):
    import sqlalchemy as sa
    from notify.models import AssignmentFact
    engine = sa.create_engine(suite.notify_cfg["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(AssignmentFact.round_id).where(AssignmentFact.scored_at.is_not(None))).first()
    finally:
        engine.dispose()


def test_report_reminders_come_3_days_before_the_due_time_and_after_it_unless_the_report_was_filed(suite):
    notify = suite.start_notify()
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id)
    suite.add_user("officer", "programme_officer")
    due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=20)
    filed, late = suite.application("按时报送的项目"), suite.application("逾期未报的项目")
    for app in (filed, late):
        suite.publish("review", "application_selected", {"call": suite.call, "application": app,
                                                         "recipients": {"unit_contacts": []},
                                                         "report_due_at": due.isoformat()})
    assert wait_for(lambda: len(suite.messages(event_type="application_selected", channel="inapp")) == 2, timeout=20)

    set_clock(notify, due - dt.timedelta(days=2))
    assert run_reminders(notify) == 2          # one in-app reminder per application to the unit's user
    assert {m["event_id"] for m in suite.messages(event_type="report_due_reminder")} \
        == {f"report_due_reminder:{filed['id']}:3", f"report_due_reminder:{late['id']}:3"}

    suite.publish("intake", "report_filed", {"call": suite.call, "application": filed,
                                             "recipients": {"unit_contacts": []}})
    assert wait_for(lambda: suite.messages(event_type="report_filed"), timeout=20)
    set_clock(notify, due + dt.timedelta(days=1))
    assert run_reminders(notify) == 2          # overdue: the unit's user and the programme officer, in-app
    rows = suite.messages(event_type="report_overdue_reminder")
    assert {r["subject"] for r in rows} == {"总结报告逾期提醒：逾期未报的项目"}
    assert {r["event_id"] for r in rows} == {f"report_overdue_reminder:{late['id']}"}
    assert {r["recipient_user_id"] for r in rows} == {suite.users["unit"]["id"], suite.users["officer"]["id"]}
    assert run_reminders(notify) == 0


def test_when_intake_reports_an_overdue_report_notify_does_not_remind_of_it_a_second_time(suite):
    notify = suite.start_notify()
    suite.add_user("unit", "applicant_unit", unit_id=suite.unit_id)
    due = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=5)
    app = {**suite.application("逾期项目"), "report_due_at": due.isoformat()}
    suite.publish("review", "application_selected", {"call": suite.call, "application": app,
                                                     "recipients": {"unit_contacts": []}})
    suite.publish("intake", "report_overdue", {"call": suite.call, "application": app, "due_at": due.isoformat(),
                                               "recipients": {"unit_contacts": []}})
    assert wait_for(lambda: suite.messages(event_type="report_overdue", channel="inapp"), timeout=20)
    assert wait_for(lambda: suite.messages(event_type="application_selected", channel="inapp"), timeout=20)
    set_clock(notify, due + dt.timedelta(days=1))
    assert run_reminders(notify) == 0
    assert suite.messages(event_type="report_overdue_reminder") == []

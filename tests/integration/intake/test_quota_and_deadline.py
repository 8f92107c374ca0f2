"""Quotas hold under racing submissions, and the deadline holds to the second (PostgreSQL, real containers)."""
import datetime as dt
import os

import eventlet
import pytest
from eventlet.event import Event
from nameko.standalone.rpc import ClusterRpcProxy

from grassroots.errors import DomainError

pytestmark = pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "sqlite",
                                reason="row locks and the race need PostgreSQL")


def test_parallel_submissions_over_a_quota_accept_exactly_the_quota(intake, kit):
    n, quota = 8, 2                                    # service_team: 2 per league/city
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    drafts = [intake.ready(call, unit, "service_team")["id"] for _ in range(n)]
    go = Event()

    def submit(app_id):
        # one proxy per greenthread: a standalone proxy is not safe to share
        with ClusterRpcProxy(intake.config, context_data={"user": unit["user"]}) as proxy:
            go.wait()
            try:
                return kit.rpc_call(proxy, "submit_application", app_id)["status"]
            except DomainError as exc:
                return exc.code

    threads = [eventlet.spawn(submit, a) for a in drafts]
    eventlet.sleep(0.5)                                # every proxy connected before the start signal
    go.send(True)
    outcomes = sorted(t.wait() for t in threads)
    assert outcomes == ["quota_exceeded"] * (n - quota) + ["submitted"] * quota
    assert sorted(intake.status_of(a) for a in drafts) == ["draft"] * (n - quota) + ["submitted"] * quota
    assert len(intake.events("application_submitted")) == quota


def test_the_same_draft_submitted_twice_at_once_is_submitted_once(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "service_team")
    go = Event()

    def submit():
        with ClusterRpcProxy(intake.config, context_data={"user": unit["user"]}) as proxy:
            go.wait()
            try:
                return kit.rpc_call(proxy, "submit_application", app["id"])["status"]
            except DomainError as exc:
                return exc.code

    threads = [eventlet.spawn(submit) for _ in range(4)]
    eventlet.sleep(0.5)
    go.send(True)
    assert sorted(t.wait() for t in threads) == ["invalid_transition"] * 3 + ["submitted"]
    assert len(intake.events("application_submitted")) == 1


def test_a_returnee_park_has_no_quota_in_the_chizi_programme(intake):
    call = intake.open_call(2025)
    park = intake.unit("returnee_park")
    for _ in range(3):
        app = intake.ready(call, park, "chizi")
        assert intake.call(park["user"], "submit_application", app["id"])["status"] == "submitted"
    city = intake.unit("league_city")
    first, second = intake.ready(call, city, "chizi"), intake.ready(call, city, "chizi")
    intake.call(city["user"], "submit_application", first["id"])
    with pytest.raises(DomainError) as exc:
        intake.call(city["user"], "submit_application", second["id"])
    assert exc.value.code == "quota_exceeded" and exc.value.status == 409


def test_a_withdrawn_submission_frees_its_place_in_the_quota(intake):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    first, second = intake.ready(call, unit, "postdoc_hosting"), intake.ready(call, unit, "postdoc_hosting")
    intake.call(unit["user"], "submit_application", first["id"])
    intake.call(unit["user"], "withdraw_application", first["id"], "改报其他项目")
    assert intake.call(unit["user"], "submit_application", second["id"])["status"] == "submitted"
    [withdrawn] = intake.events("application_withdrawn")
    assert withdrawn["payload"]["application"]["id"] == first["id"] and withdrawn["payload"]["reason"]


# the deadline --------------------------------------------------------------------------------------------
LAST_SECOND = (2025, 1, 24, 23, 59, 59)          # call_2025.yaml: 2025-01-24T23:59:59 Beijing time


def test_a_submission_in_the_last_second_before_the_deadline_is_accepted(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "service_team")
    intake.at(kit.local(*LAST_SECOND, 999000))
    assert intake.call(unit["user"], "submit_application", app["id"])["status"] == "submitted"


def test_a_submission_one_second_after_the_deadline_is_refused_and_nothing_changes(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "service_team")
    before = intake.call(unit["user"], "get_application", app["id"])
    intake.at(kit.local(*LAST_SECOND) + dt.timedelta(seconds=1))
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "submit_application", app["id"])
    assert exc.value.code == "deadline_passed" and exc.value.status == 409
    assert "逾期不报视为放弃" in exc.value.message
    after = intake.call(unit["user"], "get_application", app["id"])     # the draft stays readable
    assert after == before
    assert intake.events("application_submitted") == []


def test_after_the_deadline_drafts_cannot_be_edited_nor_documents_added(intake, kit, forms):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.draft(call, unit, "service_team")
    intake.at(kit.local(2025, 1, 25, 0, 0, 0))
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "update_application", app["id"], {"title": "改"})
    assert exc.value.code == "deadline_passed"
    with pytest.raises(DomainError) as exc:
        intake.upload(unit, app["id"], "stamped_form_scan")
    assert exc.value.code == "deadline_passed"


def test_a_late_submission_is_refused_through_the_gateway_with_the_chinese_message(intake, web, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "service_team")
    intake.at(kit.local(2025, 1, 25, 0, 0, 0))
    r = web.client("applicant_unit", unit["id"]).request("POST", f"/api/v1/applications/{app['id']}/submit")
    assert r.status_code == 409
    assert r.json()["code"] == "deadline_passed" and "逾期不报视为放弃" in r.json()["message"]


# forfeiture -------------------------------------------------------------------------------------------
def _run_timer(container, name):
    from nameko.testing.services import entrypoint_hook
    with entrypoint_hook(container, name) as hook:
        return hook()


def test_the_timer_forfeits_drafts_only_once_the_deadline_has_passed(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    draft = intake.draft(call, unit, "service_team")
    sent = intake.ready(call, unit, "service_team")
    intake.call(unit["user"], "submit_application", sent["id"])
    intake.at(kit.local(*LAST_SECOND))
    assert _run_timer(intake.container, "forfeit_late_drafts") == []
    intake.at(kit.local(2025, 1, 25, 0, 0, 0))
    assert _run_timer(intake.container, "forfeit_late_drafts") == [draft["id"]]
    assert intake.status_of(draft["id"]) == "forfeited" and intake.status_of(sent["id"]) == "submitted"
    [event] = intake.events("application_forfeited")
    p = event["payload"]
    assert p["application"]["id"] == draft["id"] and p["application"]["status"] == "forfeited"
    assert p["call"]["contacts"][0]["phone"] and p["recipients"]["unit_contacts"]
    assert event["actor"]["role"] == "system"


def test_forfeiture_emits_one_event_per_application_however_often_and_wherever_the_timer_runs(
        intake, kit, container_factory):
    from intake.service import Clock, IntakeService
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    drafts = [intake.draft(call, unit, "key_expert")["id"] for _ in range(5)]
    late = kit.local(2025, 1, 26, 9, 0, 0)
    replica = container_factory(IntakeService, intake.config)
    next(d for d in replica.dependencies if isinstance(d, Clock)).now = lambda: late
    replica.start()
    intake.at(late)
    runs = [eventlet.spawn(_run_timer, c, "forfeit_late_drafts") for c in (intake.container, replica) * 2]
    for r in runs:
        r.wait()
    assert sorted(intake.status_of(a) for a in drafts) == ["forfeited"] * 5
    events = intake.events("application_forfeited")
    assert sorted(e["payload"]["application"]["id"] for e in events) == sorted(drafts)
    assert _run_timer(replica, "forfeit_late_drafts") == []
    assert len(intake.events("application_forfeited")) == 5


def test_a_second_submission_waits_for_the_first_to_commit_before_counting_the_quota(intake, kit):
    """Deterministic interleaving on the use case: the first submission holds its transaction open; the
    second must wait on the unit's row lock (seen in pg_locks) and, once the first commits, count it."""
    import sqlalchemy as sa
    from sqlalchemy.orm import sessionmaker

    from grassroots.context import Actor
    from grassroots.db import UnitOfWork
    from intake import usecases as uc
    from intake.models import Base

    call = intake.open_call(2025)
    unit = intake.unit("league_city")                       # chizi: 1 per league/city
    first, second = intake.ready(call, unit, "chizi"), intake.ready(call, unit, "chizi")
    actor = Actor.from_dict(unit["user"])
    engine = sa.create_engine(intake.config["DATABASE_URL"])
    make = sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata})
    now = kit.BEFORE_DEADLINE.astimezone(dt.timezone.utc)
    release, first_done = Event(), Event()

    def submit(app_id, hold: bool):
        session = make()
        try:
            with session.begin():
                uow = UnitOfWork(session, "intake", actor, "corr", {})
                try:
                    result = uc.submit_application(uow, actor, app_id, now)["status"]
                except DomainError as exc:
                    return exc.code
                if hold:
                    first_done.send(True)
                    release.wait()
                return result
        finally:
            session.close()

    a = eventlet.spawn(submit, first["id"], True)
    first_done.wait()
    b = eventlet.spawn(submit, second["id"], False)
    with engine.connect() as conn:
        for _ in range(500):
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            if waiting or b.dead:
                break
            eventlet.sleep(0.01)
    assert not b.dead, f"the second submission did not wait for the first: {b.wait()}"
    release.send(True)
    assert (a.wait(), b.wait()) == ("submitted", "quota_exceeded")
    engine.dispose()

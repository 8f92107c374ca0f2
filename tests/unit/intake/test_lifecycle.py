import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from grassroots.errors import BadRequest, Conflict, Forbidden
from intake.domain.calls import load_bundled_call
from intake.domain.lifecycle import allowed_transitions, check_deadline, deadline_passed, transition

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
C2025 = load_bundled_call(2025)


@pytest.mark.parametrize("status,name,role,target", [
    ("draft", "submit", "applicant_unit", "submitted"),
    ("submitted", "receive", "intake_clerk", "received"),
    ("draft", "withdraw", "applicant_unit", "withdrawn"),
    ("submitted", "withdraw", "applicant_unit", "withdrawn"),
    ("draft", "forfeit", "system", "forfeited"),
    ("submitted", "forfeit", "programme_officer", "forfeited"),
])
def test_each_allowed_transition_leads_to_its_status(status, name, role, target):
    assert transition(status, name, role) == target


@pytest.mark.parametrize("status,name,role", [
    ("received", "withdraw", "applicant_unit"),   # too late to withdraw once the clerk has it
    ("draft", "receive", "intake_clerk"),          # nothing submitted to receive
    ("submitted", "submit", "applicant_unit"),
    ("withdrawn", "submit", "applicant_unit"),
    ("forfeited", "submit", "applicant_unit"),
    ("received", "forfeit", "programme_officer"),
    ("withdrawn", "forfeit", "system"),
])
def test_a_transition_from_the_wrong_status_is_an_invalid_transition_conflict(status, name, role):
    with pytest.raises(Conflict) as e:
        transition(status, name, role)
    assert e.value.code == "invalid_transition"
    assert "不能" in e.value.message


@pytest.mark.parametrize("status,name,role", [
    ("draft", "submit", "intake_clerk"),
    ("submitted", "receive", "applicant_unit"),
    ("submitted", "withdraw", "programme_officer"),
    ("draft", "forfeit", "applicant_unit"),
    ("submitted", "forfeit", "intake_clerk"),
])
def test_a_role_that_may_not_make_a_transition_is_forbidden(status, name, role):
    with pytest.raises(Forbidden) as e:
        transition(status, name, role)
    assert e.value.code == "role_not_allowed"


def test_an_unknown_transition_is_a_bad_request():
    with pytest.raises(BadRequest) as e:
        transition("draft", "approve", "programme_officer")
    assert e.value.code == "unknown_transition"


def test_allowed_transitions_list_what_a_role_can_do_now():
    assert allowed_transitions("draft", "applicant_unit") == ["submit", "withdraw"]
    assert allowed_transitions("submitted", "intake_clerk") == ["receive"]
    assert allowed_transitions("received", "applicant_unit") == []


# --- deadline: 2025-01-24 23:59:59 Asia/Shanghai = 15:59:59 UTC --------------------------------------------------
def test_a_submission_in_the_last_second_before_the_deadline_is_on_time():
    check_deadline(dt.datetime(2025, 1, 24, 15, 59, 58, tzinfo=UTC), C2025)
    check_deadline(dt.datetime(2025, 1, 24, 15, 59, 59, 999999, tzinfo=UTC), C2025)


def test_a_submission_one_second_after_the_deadline_is_refused_as_forfeited():
    with pytest.raises(Conflict) as e:
        check_deadline(dt.datetime(2025, 1, 24, 16, 0, 0, tzinfo=UTC), C2025)
    assert e.value.code == "deadline_passed"
    assert "逾期不报视为放弃" in e.value.message and "2025年1月24日" in e.value.message


def test_the_deadline_is_read_in_beijing_time_not_utc():
    # 08:00 on 25 January in Beijing is still 24 January in UTC: already late
    assert deadline_passed(dt.datetime(2025, 1, 25, 0, 0, 0, tzinfo=UTC), C2025)
    assert not deadline_passed(dt.datetime(2025, 1, 24, 23, 59, 59, tzinfo=SH), C2025)


def test_a_naive_clock_reading_is_a_programming_error():
    with pytest.raises(ValueError):
        check_deadline(dt.datetime(2025, 1, 1), C2025)

import datetime as dt

from intake.domain.calls import load_bundled_call
from intake.domain.reports import activity_end, report_due_date, report_status

C2025 = load_bundled_call(2025)
POSTDOC = C2025.programme("postdoc_hosting")
TEAM = C2025.programme("service_team")
END = dt.date(2025, 6, 12)


def test_the_postdoc_report_is_due_two_weeks_after_the_activity_ends():
    assert report_due_date(POSTDOC, END) == dt.date(2025, 6, 26)


def test_the_service_team_summary_is_due_thirty_days_after_the_project_ends():
    assert report_due_date(TEAM, dt.date(2025, 9, 30)) == dt.date(2025, 10, 30)


def test_a_programme_without_a_report_has_no_due_date_and_is_not_required():
    chizi = C2025.programme("chizi")
    assert report_due_date(chizi, END) is None
    assert report_status(chizi, END, filed_on=None, today=END).state == "not_required"


def test_the_report_is_due_up_to_and_including_its_due_day():
    s = report_status(POSTDOC, END, filed_on=None, today=dt.date(2025, 6, 26))
    assert s.state == "due" and s.days_left == 0 and s.label == "待报送"


def test_the_report_is_overdue_the_day_after_its_due_day():
    s = report_status(POSTDOC, END, filed_on=None, today=dt.date(2025, 6, 27))
    assert s.state == "overdue" and s.days_left == -1


def test_a_filed_report_is_filed_and_marked_late_only_if_after_the_due_day():
    assert report_status(POSTDOC, END, filed_on=dt.date(2025, 6, 20), today=dt.date(2025, 8, 1)).late is False
    s = report_status(POSTDOC, END, filed_on=dt.date(2025, 6, 27), today=dt.date(2025, 8, 1))
    assert s.state == "filed" and s.late


def test_the_activity_end_is_read_from_the_field_the_programme_names():
    assert activity_end(POSTDOC, {"held_period": {"start": "2025-06-10", "end": "2025-06-12"}}) == END
    assert activity_end(POSTDOC, {}) is None
    assert report_status(POSTDOC, None, filed_on=None, today=END).state == "due"

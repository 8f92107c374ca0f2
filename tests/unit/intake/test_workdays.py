import datetime as dt

import pytest

from intake.domain.workdays import CalendarUnavailable, is_working_day, working_days


def test_the_spring_festival_holiday_does_not_count_as_working_days():
    # 2025-01-28..02-04 is the Spring Festival holiday; 27 Jan and 5-7 Feb are working days.
    assert working_days(dt.date(2025, 1, 27), dt.date(2025, 2, 7)) == 4


def test_an_adjusted_weekend_working_day_counts():
    assert dt.date(2025, 1, 26).weekday() == 6
    assert is_working_day(dt.date(2025, 1, 26))


def test_an_ordinary_week_has_five_working_days():
    assert working_days(dt.date(2025, 6, 9), dt.date(2025, 6, 15)) == 5


def test_a_reversed_range_has_no_working_days():
    assert working_days(dt.date(2025, 6, 15), dt.date(2025, 6, 9)) == 0


def test_a_year_the_calendar_does_not_know_raises_instead_of_guessing():
    with pytest.raises(CalendarUnavailable) as e:
        working_days(dt.date(2099, 6, 1), dt.date(2099, 6, 10))
    assert e.value.year == 2099

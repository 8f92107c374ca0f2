"""Working days by the official Chinese holiday calendar (the ``chinese_calendar`` package).

Public holidays are not working days; the adjusted weekend days (调休上班) are. The package only knows the
years the State Council has published; outside them ``working_days`` raises ``CalendarUnavailable`` so that
callers report the gap instead of guessing with a Monday-to-Friday rule.

Usage:
    from intake.domain.workdays import working_days, CalendarUnavailable
    working_days(date(2025, 1, 27), date(2025, 2, 7))   # 4: the Spring Festival holiday lies between
"""
from __future__ import annotations

import datetime as dt

import chinese_calendar


class CalendarUnavailable(Exception):
    """The official calendar of a year in the range is not (yet) known to the installed package."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(f"no official holiday calendar for {year}")


def is_working_day(day: dt.date) -> bool:
    """True if ``day`` is an official working day (raises CalendarUnavailable outside the known years)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarUnavailable(day.year) from None


def working_days(start: dt.date, end: dt.date) -> int:
    """Official working days from ``start`` to ``end``, both included; 0 if ``end`` is before ``start``."""
    if end < start:
        return 0
    return sum(1 for k in range((end - start).days + 1) if is_working_day(start + dt.timedelta(days=k)))

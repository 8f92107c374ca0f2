"""Post-activity reports (效果追踪, 后评估): when one is due and whether it is due, filed or overdue.

The rule is the programme's ``report`` in the call file: ``due_days_after_end`` calendar days after the
activity's last day (the end of the date_range ``activity_end_field`` of the application form). The
due day itself is still on time: the postdoc host's "活动结束后2周内" with an activity ending 12 June gives
a due date of 26 June.

Usage:
    end = activity_end(prog, application_form)          # date or None
    due = report_due_date(prog, end)                    # date or None if no report is required
    report_status(prog, end, filed_on=None, today=date.today())
        # ReportStatus(state='due'|'filed'|'overdue'|'not_required', due_on=..., days_left=..., late=False)
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from .forms import parse_date, parse_date_range
from .model import Programme

ReportState = Literal["not_required", "due", "filed", "overdue"]
STATE_LABELS = {"not_required": "无需报送", "due": "待报送", "filed": "已报送", "overdue": "已逾期"}


@dataclass(frozen=True)
class ReportStatus:
    state: ReportState
    due_on: dt.date | None = None
    #: days until the due date (0 on the due day, negative once overdue); None when filed or not required.
    days_left: int | None = None
    #: filed after the due date.
    late: bool = False

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def activity_end(programme: Programme, form: dict) -> dt.date | None:
    """The activity's last day as entered in the application form, or None if absent or malformed."""
    key = programme.report.activity_end_field
    if not key or not isinstance(form, dict):
        return None
    value = form.get(key)
    rng = parse_date_range(value)
    return rng[1] if rng else parse_date(value)


def report_due_date(programme: Programme, activity_end_on: dt.date) -> dt.date | None:
    """The last day a report may be filed on time; None when the programme requires no report."""
    rule = programme.report
    if not rule.required or rule.due_days_after_end is None:
        return None
    return activity_end_on + dt.timedelta(days=rule.due_days_after_end)


def report_status(programme: Programme, activity_end_on: dt.date | None, *, filed_on: dt.date | None,
                  today: dt.date) -> ReportStatus:
    """The report's state on ``today`` (a local Asia/Shanghai date)."""
    if not programme.report.required:
        return ReportStatus("not_required")
    due = report_due_date(programme, activity_end_on) if activity_end_on else None
    if filed_on is not None:
        return ReportStatus("filed", due, None, late=due is not None and filed_on > due)
    if due is None:
        # no activity dates yet: the report will be due, the date is not known.
        return ReportStatus("due")
    days_left = (due - today).days
    return ReportStatus("overdue" if days_left < 0 else "due", due, days_left)

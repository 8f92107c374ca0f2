"""Builders for the review domain tests (pure values, no broker, no database)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from review.domain import rounds
from review.domain.facts import ApplicationFacts, ReviewerFacts

SH = ZoneInfo("Asia/Shanghai")
DEADLINE = dt.datetime(2025, 1, 24, 23, 59, 59, tzinfo=SH)
AFTER = dt.datetime(2025, 2, 10, 9, 0, tzinfo=SH)


class Build:
    deadline = DEADLINE
    after = AFTER

    @staticmethod
    def round(programme="service_team", apps=("a1", "a2"), k=2, load_cap=10, state="open", rolling=False):
        rnd = rounds.new_round("r1", "c2025", programme, DEADLINE, rolling=rolling,
                               reviewers_per_application=k, load_cap=load_cap)
        for a in apps:
            rnd = rounds.admit_application(rnd, a)
        if state in ("open", "closed"):
            rnd = rounds.open_round(rnd, AFTER)
        if state == "closed":
            rnd = rounds.close_round(rnd, AFTER + dt.timedelta(days=10))
        return rnd

    @staticmethod
    def app(app_id, unit="u-" , league="150100", submitted=None, places=()):
        return ApplicationFacts(app_id, unit if unit != "u-" else f"u-{app_id}", league,
                                submitted or dt.datetime(2025, 1, 20, 10, tzinfo=SH), tuple(places))

    @staticmethod
    def reviewer(rid, unit=None, league="150200", cap=None):
        return ReviewerFacts(rid, unit or f"ru-{rid}", league, cap)


@pytest.fixture
def build():
    return Build

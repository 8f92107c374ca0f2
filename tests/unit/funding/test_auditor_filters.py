"""The auditors' filters: days are Beijing days, typos are refused rather than ignored, amounts are exact."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from funding.queries import parse_filters
from grassroots.errors import ValidationFailed


def test_a_day_range_covers_whole_beijing_days_and_aliases_are_accepted():
    f = parse_filters("ledger", {"date_from": "2025-03-01", "date_to": "2025-03-01", "league_city_code": "150100",
                                 "application_id": "a-1", "amount_min": "1,000.50"})
    assert f["date_from"] == datetime(2025, 2, 28, 16, 0, tzinfo=timezone.utc)
    assert f["date_to"] == datetime(2025, 3, 1, 16, 0, tzinfo=timezone.utc)
    assert (f["league_city"], f["project_id"], f["amount_min"]) == ("150100", "a-1", Decimal("1000.50"))
    assert (f["limit"], f["offset"]) == (50, 0)


def test_unknown_filters_bad_values_and_inverted_ranges_are_all_reported_at_once():
    with pytest.raises(ValidationFailed) as err:
        parse_filters("disbursements", {"colour": "red", "status": "paid,lost", "limit": "0", "amount_min": "5",
                                        "amount_max": "4", "date_from": "2025-13-01"})
    assert {p["path"] for p in err.value.details} == {"colour", "status", "limit", "amount_max", "date_from"}


def test_each_kind_has_its_own_extra_filters():
    assert parse_filters("audit", {"entity_id": "d-1"})["entity_id"] == "d-1"
    with pytest.raises(ValidationFailed):
        parse_filters("disbursements", {"entity_id": "d-1"})

import pytest

from grassroots.errors import Conflict, Forbidden
from intake.domain.calls import load_bundled_call
from intake.domain.quota import check_quota, quota_for, quota_usage, remaining

C2025 = load_bundled_call(2025)
C2023 = load_bundled_call(2023)


def test_a_league_city_may_submit_its_second_service_team_project():
    check_quota(C2025.programme("service_team"), "league_city", counting=1)


def test_a_league_city_may_not_submit_a_third_service_team_project():
    with pytest.raises(Conflict) as e:
        check_quota(C2025.programme("service_team"), "league_city", counting=2)
    assert e.value.code == "quota_exceeded"
    assert "限报2个" in e.value.message and "盟市人社局" in e.value.message
    assert e.value.details["max"] == 2


def test_a_base_may_submit_only_one_service_team_project():
    prog = C2025.programme("service_team")
    check_quota(prog, "regional_base", counting=0)
    with pytest.raises(Conflict):
        check_quota(prog, "national_base", counting=1)


def test_a_returnee_park_has_no_chizi_limit_but_a_league_city_has_one():
    prog = C2025.programme("chizi")
    check_quota(prog, "returnee_park", counting=1000)
    with pytest.raises(Conflict):
        check_quota(prog, "league_city", counting=1)


def test_ten_experts_are_the_2025_cap_but_the_2023_minimum():
    with pytest.raises(Conflict):
        check_quota(C2025.programme("key_expert"), "league_city", counting=10)
    check_quota(C2023.programme("key_expert"), "league_city", counting=10)


def test_a_unit_kind_outside_the_programme_may_not_apply():
    with pytest.raises(Forbidden) as e:
        check_quota(C2025.programme("postdoc_hosting"), "returnee_park", counting=0)
    assert e.value.code == "unit_kind_not_eligible" and "留学人员创业园" in e.value.message
    with pytest.raises(Forbidden):
        quota_for(C2025.programme("postdoc_hosting"), "returnee_park")


def test_remaining_places_are_counted_down_and_unlimited_is_none():
    assert remaining(C2025.programme("regional_base"), "league_city", 1) == 1
    assert remaining(C2025.programme("regional_base"), "league_city", 5) == 0
    assert remaining(C2025.programme("chizi"), "returnee_park", 3) is None


def test_usage_rows_describe_the_quota_in_chinese_and_flag_a_shortfall():
    row = quota_usage(C2025.programme("regional_base"), "league_city", 0)
    assert row["quota_label"] == "1—2个" and row["below_minimum"]
    row = quota_usage(C2023.programme("key_expert"), "league_city", 10)
    assert row["quota_label"] == "不少于10个" and not row["below_minimum"] and row["remaining"] is None

import pytest
from grassroots.errors import Conflict, Forbidden, ValidationFailed

from experts.domain.pool import PoolAction, PoolStatus, RecommendationQuota, admit, transition

OFFICER = "programme_officer"


@pytest.mark.parametrize("current, action, expected", [
    ("recommended", "admit", "admitted"),
    ("recommended", "reject", "rejected"),
    ("admitted", "recommend_national", "recommended_national"),
    ("admitted", "reject", "rejected"),
])
def test_a_programme_officer_moves_an_expert_along_the_pool_lifecycle(current, action, expected):
    assert transition(current, action, role=OFFICER) == PoolStatus(expected)


@pytest.mark.parametrize("current, action", [
    ("recommended", "recommend_national"),
    ("rejected", "admit"),
    ("recommended_national", "reject"),
    ("admitted", "admit"),
])
def test_a_transition_outside_the_lifecycle_is_a_conflict(current, action):
    with pytest.raises(Conflict) as exc:
        transition(current, action, role=OFFICER)
    assert exc.value.code == "invalid_transition"


@pytest.mark.parametrize("role", ["intake_clerk", "expert", "auditor", "applicant_unit"])
def test_only_a_programme_officer_may_act_on_the_pool(role):
    with pytest.raises(Forbidden) as exc:
        transition(PoolStatus.RECOMMENDED, PoolAction.ADMIT, role=role)
    assert exc.value.code == "role_not_allowed"


def test_an_unknown_status_is_refused():
    with pytest.raises(ValidationFailed):
        transition("archived", "admit", role=OFFICER)


def test_admission_applies_the_title_bar():
    with pytest.raises(Conflict) as exc:
        admit("recommended", role=OFFICER, title_level="中级")
    assert exc.value.code == "title_below_pool_minimum"
    status, why = admit("recommended", role=OFFICER, title_level="中级", exception_reason="基层急需")
    assert status is PoolStatus.ADMITTED and why.by_exception


def test_the_recommendation_quota_accepts_up_to_its_maximum_and_refuses_one_more():
    quota = RecommendationQuota(maximum=10)
    quota.check_can_add(region_code="150100", current=9, adding=1)
    with pytest.raises(Conflict) as exc:
        quota.check_can_add(region_code="150100", current=10, adding=1)
    assert exc.value.code == "recommendation_quota_exceeded"
    assert exc.value.details["maximum"] == 10


def test_a_minimum_quota_reports_the_shortfall():
    quota = RecommendationQuota(minimum=10)
    quota.check_can_add(region_code="150100", current=30)
    assert quota.shortfall(8) == 2 and quota.shortfall(12) == 0
    quota.check_complete(region_code="150100", count=10)
    with pytest.raises(ValidationFailed) as exc:
        quota.check_complete(region_code="150100", count=8)
    assert exc.value.code == "recommendation_quota_not_met"


def test_a_quota_without_bounds_never_refuses():
    quota = RecommendationQuota()
    quota.check_can_add(region_code="150100", current=1000)
    quota.check_complete(region_code="150100", count=0)


def test_a_quota_whose_minimum_exceeds_its_maximum_is_a_configuration_error():
    with pytest.raises(ValueError):
        RecommendationQuota(minimum=11, maximum=10)

"""The directory cache: the gateway is asked once per ttl, again after it, and every time when it is off."""
from notify.usecases import Directory, DirectoryCache


def counting():
    calls = []

    def with_role(role):
        calls.append(role)
        return [{"user_id": f"{role}-1", "name": "甲"}]
    return calls, with_role


def test_officers_are_fetched_once_per_ttl_across_workers_and_again_when_it_expires():
    now = [100.0]
    cache = DirectoryCache(30, clock=lambda: now[0])
    calls, with_role = counting()
    for _ in range(5):   # five events, one Directory each (one per worker)
        assert Directory(with_role, lambda u: [], lambda u: None, cache).users_with_role("programme_officer")
    assert calls == ["programme_officer"]
    now[0] += 31
    Directory(with_role, lambda u: [], lambda u: None, cache).users_with_role("programme_officer")
    assert calls == ["programme_officer"] * 2


def test_a_ttl_of_zero_asks_the_gateway_for_every_event():
    cache = DirectoryCache(0)
    calls, with_role = counting()
    for _ in range(3):
        Directory(with_role, lambda u: [], lambda u: None, cache).users_with_role("finance_officer")
    assert len(calls) == 3

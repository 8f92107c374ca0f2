"""The gateway's cache of verified tokens: a hit skips the signature check but never the time window, and
a token is only a hit for the secrets that verified it."""
import datetime as dt
from types import SimpleNamespace

import pytest

from gateway import auth
from grassroots.errors import Unauthenticated

USER = SimpleNamespace(id="u1", username="park", role="applicant_unit", unit_id="unit-1", name="园区")


@pytest.fixture(autouse=True)
def empty_cache():
    auth._VERIFIED.clear()
    yield
    auth._VERIFIED.clear()


def test_a_cached_token_still_expires():
    token = auth.issue_token(USER, "s" * 32, 60)["access_token"]
    claims = auth.decode_token(token, ["s" * 32])
    assert claims["sub"] == "u1" and len(auth._VERIFIED) == 1
    assert auth.decode_token(token, ["s" * 32]) is claims          # the second use is a hit
    later = dt.datetime.now(dt.timezone.utc).timestamp() + 61
    with pytest.raises(Unauthenticated) as err:
        auth.decode_token(token, ["s" * 32], now=later)
    assert err.value.code == "token_expired"


def test_a_rotated_out_secret_is_not_trusted_from_the_cache():
    old, new = "o" * 32, "n" * 32
    token = auth.issue_token(USER, old, 600)["access_token"]
    assert auth.decode_token(token, [new, old])["sub"] == "u1"      # during the rotation: accepted
    with pytest.raises(Unauthenticated) as err:
        auth.decode_token(token, [new])                            # after it: verified afresh, refused
    assert err.value.code == "token_invalid"


def test_a_tampered_token_is_refused_even_next_to_a_cached_one():
    token = auth.issue_token(USER, "s" * 32, 600)["access_token"]
    auth.decode_token(token, ["s" * 32])
    head, body, sig = token.split(".")
    with pytest.raises(Unauthenticated):
        auth.decode_token(f"{head}.{body}.{sig[:-2]}AA", ["s" * 32])


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(auth, "_VERIFIED_MAX", 3)
    for i in range(7):
        auth.decode_token(auth.issue_token(USER, "s" * 32, 600)["access_token"], ["s" * 32])
        assert len(auth._VERIFIED) <= 3

from decimal import Decimal

import pytest

from grassroots.errors import Conflict, ValidationFailed
from funding.domain.disbursement import IdempotencyRecord, replay_or_refuse, request_fingerprint


def test_the_fingerprint_ignores_key_order_but_not_values():
    a = request_fingerprint({"budget_id": "b1", "amount": "100.00", "memo": "首批"})
    b = request_fingerprint({"memo": "首批", "amount": "100.00", "budget_id": "b1"})
    assert a == b and len(a) == 64
    assert a != request_fingerprint({"budget_id": "b1", "amount": "100.01", "memo": "首批"})
    assert request_fingerprint({"amount": Decimal("1.00")}) == request_fingerprint({"amount": "1.00"})


def test_a_new_key_means_do_the_work():
    assert replay_or_refuse(None, "k1", request_fingerprint({"a": 1})) is None


def test_the_same_key_and_body_return_the_first_result():
    fp = request_fingerprint({"amount": "100.00"})
    stored = IdempotencyRecord("k1", fp, {"id": "d1", "status": "requested"})
    assert replay_or_refuse(stored, "k1", request_fingerprint({"amount": "100.00"})).result == {"id": "d1",
                                                                                                 "status": "requested"}


def test_an_idempotency_key_reused_with_another_body_is_refused_with_409():
    stored = IdempotencyRecord("k1", request_fingerprint({"amount": "100.00"}), {"id": "d1"})
    with pytest.raises(Conflict) as err:
        replay_or_refuse(stored, "k1", request_fingerprint({"amount": "200.00"}))
    assert err.value.code == "idempotency_key_reused" and err.value.status == 409


def test_a_missing_key_is_refused():
    with pytest.raises(ValidationFailed):
        replay_or_refuse(None, "  ", "x")

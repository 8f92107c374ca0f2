from datetime import datetime, timezone

import pytest

from grassroots.errors import Conflict, Forbidden, ValidationFailed
from funding.domain.actors import Actor
from funding.domain.bank import (AccountBinding, BankAccount, approve_account_change, check_bank_account,
                                 ensure_payable, freeze_on_first_approval, normalise_name, propose_account_change,
                                 withdraw_account_change)

UNIT = "呼伦贝尔市农牧科学研究所（有限公司）"
GOOD = BankAccount("102191000013", "0600 0212 0900 1234 567", "呼伦贝尔市农牧科学研究所(有限公司)", "中国工商银行海拉尔支行")
NOW = datetime(2025, 4, 1, tzinfo=timezone.utc)
ALICE = Actor("alice", "finance_officer")
BOB = Actor("bob", "finance_officer")


def test_a_correct_account_is_accepted_and_cleaned():
    checked = check_bank_account(GOOD, UNIT)
    assert checked.account_number == "0600021209001234567"
    assert checked.interbank_code == "102191000013"


def test_names_match_across_full_width_and_half_width_parentheses_and_spaces():
    assert normalise_name("某某（集团） 有限公司") == normalise_name("某某(集团)有限公司")
    assert normalise_name("某某集团") != normalise_name("某某集团公司")


def test_every_problem_of_a_bad_account_is_reported_at_once_with_stable_codes():
    bad = BankAccount("10219100001", "6222-ABC", "另一个单位", "")
    with pytest.raises(ValidationFailed) as err:
        check_bank_account(bad, UNIT)
    codes = {d["code"]: d for d in err.value.details}
    assert set(codes) == {"interbank_code_invalid", "account_number_invalid", "account_name_mismatch",
                          "bank_name_missing"}
    assert codes["interbank_code_invalid"]["path"] == "bank_account.interbank_code"
    assert "12位" in codes["interbank_code_invalid"]["message"]
    assert err.value.code == "bank_account_invalid"


def test_missing_fields_are_named():
    with pytest.raises(ValidationFailed) as err:
        check_bank_account(BankAccount("", "", "", ""), UNIT)
    assert {d["code"] for d in err.value.details} == {"interbank_code_missing", "account_number_missing",
                                                      "account_name_missing", "bank_name_missing"}


def test_before_the_first_approval_the_account_can_simply_be_replaced():
    binding = AccountBinding("b1", check_bank_account(GOOD, UNIT))
    other = BankAccount("103191000027", "123456789012", UNIT, "中国农业银行")
    changed = propose_account_change(binding, other, UNIT, ALICE, NOW, "")
    assert changed.account.interbank_code == "103191000027" and changed.pending is None and changed.version == 2


def test_once_frozen_a_change_waits_for_a_second_finance_officer():
    binding = freeze_on_first_approval(AccountBinding("b1", check_bank_account(GOOD, UNIT)))
    other = BankAccount("103191000027", "123456789012", UNIT, "中国农业银行")
    pending = propose_account_change(binding, other, UNIT, ALICE, NOW, "原账户销户")
    assert pending.account == binding.account and pending.pending.account.interbank_code == "103191000027"
    with pytest.raises(Conflict) as err:
        ensure_payable(pending)
    assert err.value.code == "bank_account_change_pending"
    with pytest.raises(Forbidden) as err:
        approve_account_change(pending, ALICE)
    assert err.value.code == "four_eyes_violation"
    approved = approve_account_change(pending, BOB)
    assert approved.account.interbank_code == "103191000027" and approved.frozen and approved.pending is None
    assert ensure_payable(approved) == approved.account


def test_a_frozen_account_change_needs_a_reason_and_only_one_can_be_pending():
    binding = freeze_on_first_approval(AccountBinding("b1", check_bank_account(GOOD, UNIT)))
    other = BankAccount("103191000027", "123456789012", UNIT, "中国农业银行")
    with pytest.raises(ValidationFailed):
        propose_account_change(binding, other, UNIT, ALICE, NOW, " ")
    pending = propose_account_change(binding, other, UNIT, ALICE, NOW, "销户")
    with pytest.raises(Conflict):
        propose_account_change(pending, other, UNIT, BOB, NOW, "再改")
    assert withdraw_account_change(pending, BOB).pending is None


def test_a_replacement_account_is_checked_too():
    binding = freeze_on_first_approval(AccountBinding("b1", check_bank_account(GOOD, UNIT)))
    with pytest.raises(ValidationFailed):
        propose_account_change(binding, BankAccount("1", "2", "别人", "x"), UNIT, ALICE, NOW, "换")


def test_only_finance_officers_change_accounts():
    binding = AccountBinding("b1", check_bank_account(GOOD, UNIT))
    with pytest.raises(Forbidden) as err:
        propose_account_change(binding, GOOD, UNIT, Actor("aud", "auditor"), NOW, "")
    assert err.value.code == "role_not_permitted"

"""Pure funding rules: no nameko, no sqlalchemy, no I/O. The service layer reads state, calls these
functions, and stores what they return (or maps the DomainError they raise).

Modules:
    money           parse_yuan, parse_positive_yuan, require_positive, format_yuan (¥120,000.00), to_wire
    actors          Actor(id, role), FINANCE_OFFICER, AUDITOR, require_role
    bank            BankAccount, check_bank_account, AccountBinding + propose/approve/withdraw_account_change,
                    freeze_on_first_approval, ensure_payable
    disbursement    Disbursement, Status, request/approve/reject/cancel/mark_paid/mark_failed/record_return,
                    active_total, remaining, request_fingerprint, IdempotencyRecord, replay_or_refuse
    ledger          Leg, Transfer, check_legs, allocation, payment, funds_returned, reversal, balances, accounts
    audit           append, verify_chain, sign_checkpoint, verify_checkpoint, check_against_checkpoints,
                    verify_with_checkpoints, generate_key_pair, load_private_key, load_public_key,
                    verify_segment, join_segments, verify_segments_with_checkpoints (a chain in ranges)
    final_accounts  CATEGORIES, review_final_accounts, Flag
    withdrawal      budget statuses, plan_withdrawal (cancel / blocked by / outstanding), cancel_for_withdrawal,
                    require_open
    exports         to_csv (UTF-8 BOM), to_xlsx

Typical disbursement approval in the service (one transaction, budget row locked — see funding/sql/README.md)::

    from funding.domain import disbursement as dis, bank, audit
    d2 = dis.approve(d, approver=Actor(user_id, "finance_officer"), at=now, budget_amount=budget.amount,
                     existing=others)
    binding2 = bank.freeze_on_first_approval(binding)
    record = audit.append(head, at=now, actor_id=user_id, actor_role="finance_officer",
                          action="disbursement_approved", entity="disbursement", entity_id=d.id,
                          reason=reason, data={"amount": "50000.00"})
"""
from .actors import AUDITOR, FINANCE_OFFICER, Actor

__all__ = ["Actor", "AUDITOR", "FINANCE_OFFICER"]

"""Funding service: budgets, four-eyes disbursements, the double-entry ledger, the hash-chained audit trail, final accounts.
"""

"""Intake service: calls and programmes, applicant units, applications and their lifecycle, documents in the object store, post-activity reports.
"""

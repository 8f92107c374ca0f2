"""Role groups used by the routes."""

OFFICERS = ("programme_officer", "admin")
STAFF = ("programme_officer", "intake_clerk", "admin", "auditor")

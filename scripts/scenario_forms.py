"""Sample form data for the demo scenario (filled in against the 2025 call's form definitions)."""


def service_team_form_2025(unit_name: str) -> dict:
    return {}

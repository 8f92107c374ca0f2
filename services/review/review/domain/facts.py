"""What the review domain needs to know about applications and reviewers owned by other services.

The service layer fills these from intake's events (application_submitted carries unit, league/city,
submission time and service places) and from the experts service (reviewer's unit and league/city).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ServicePlace:
    """A place an application serves: a county-level name (旗县市区) and, when known, its league/city code."""

    county: str
    league_code: str | None = None


@dataclass(frozen=True)
class ApplicationFacts:
    application_id: str
    unit_id: str
    league_code: str | None
    submitted_at: dt.datetime | None = None
    service_places: tuple[ServicePlace, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class ReviewerFacts:
    """A reviewer as the experts service describes them; ``load_cap`` overrides the round's cap."""

    reviewer_id: str
    unit_id: str | None
    league_code: str | None
    load_cap: int | None = None

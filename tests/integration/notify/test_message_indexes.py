"""Notify's message queries each have an index they can use, on the schema the migrations build: the partial
ones only where the query's own conditions imply their predicate (a claim of due e-mail, a user's inbox)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots.context import Actor
from grassroots.db import create_engine
from grassroots.migrate import upgrade
from notify import usecases as uc
from notify.models import Message
from queryplans import first_select, plan

T0 = dt.datetime(2025, 6, 1, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def engine(database_url):
    url = database_url("notify")
    upgrade("notify", url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


def captured(engine, call) -> sa.Select:
    """The SELECT from message a use case sends, given a session."""
    def run():
        with Session(engine) as s:
            call(s)
    return first_select(engine, run, Message.__table__)


def test_the_delivery_claim_uses_the_due_index(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite matches a partial index only on literal terms; the claim binds its statuses")
    stmt = captured(engine, lambda s: uc.claim_due(s, T0, 10, dt.timedelta(seconds=60)))
    assert "ix_message_due" in plan(engine, stmt)
    # the index's predicate is the claim's statuses, spelled once in the model and once in the use case
    [due] = [ix for ix in Message.__table__.indexes if ix.name == "ix_message_due"]
    assert set(re.findall(r"'(\w+)'", str(due.dialect_options["postgresql"]["where"]))) == set(uc.DUE_STATUSES)


def test_the_inbox_uses_the_inbox_index_and_the_delivery_log_the_time_index(engine):
    actor = Actor(id="u1", role="applicant_unit", unit_id="n1")
    stmt = captured(engine, lambda s: uc.my_messages(s, actor))
    assert "ix_message_inbox" in plan(engine, stmt)
    officer = Actor(id="o1", role="programme_officer")
    stmt = captured(engine, lambda s: uc.delivery_log(s, officer, {}))
    assert "ix_message_created_at" in plan(engine, stmt)
    stmt = captured(engine, lambda s: uc.delivery_log(s, officer, {"event_id": "e1"}))
    assert "ix_message_event_id" in plan(engine, stmt) or "ix_message_created_at" in plan(engine, stmt)


def test_the_migration_goes_down_and_up_again(database_url):
    url = database_url("notify")
    upgrade("notify", url)
    from alembic import command
    from grassroots.migrate import alembic_config
    command.downgrade(alembic_config("notify", url), "c28fc754df2a")
    engine = create_engine(url)
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes("message")}
    assert {"ix_message_event_type", "ix_message_recipient_user_id", "ix_message_due"} <= names
    engine.dispose()
    upgrade("notify", url)
    engine = create_engine(url)
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes("message")} - {"uq_message_dedup_key"}
    engine.dispose()
    assert names == {"ix_message_due", "ix_message_inbox", "ix_message_created_at", "ix_message_event_id"}

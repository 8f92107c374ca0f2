"""The gateway's people directory (who holds a role, who belongs to a unit) reads user_account by index, on the
schema the migrations build, and the migration that added the indexes goes down and up."""
from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots.db import create_engine
from grassroots.migrate import upgrade
from gateway.models import User
from gateway.routes.directory import DirectoryRpc
from queryplans import first_select, plan


@pytest.fixture
def url(database_url):
    url = database_url("gateway")
    upgrade("gateway", url)
    return url


class _Db:
    def __init__(self, engine):
        self.engine = engine

    @contextlib.contextmanager
    def session(self):
        with Session(self.engine) as s:
            yield s


def sent(engine, call) -> sa.Select:
    """The SELECT from user_account the directory sends."""
    return first_select(engine, lambda: call(type("Directory", (), {"db": _Db(engine)})()), User.__table__)


def test_who_holds_a_role_and_who_belongs_to_a_unit_are_read_by_index(url):
    engine = create_engine(url)
    try:
        by_role = sent(engine, lambda svc: DirectoryRpc.users_with_role(svc, "finance_officer"))
        assert "ix_user_account_role" in plan(engine, by_role)
        by_unit = sent(engine, lambda svc: DirectoryRpc.users_of_unit(svc, "u1"))
        assert "ix_user_account_unit_id" in plan(engine, by_unit)
    finally:
        engine.dispose()


def test_the_migration_goes_down_and_up_again(url):
    from alembic import command
    from grassroots.migrate import alembic_config

    def indexes():
        engine = create_engine(url)
        names = {ix["name"] for ix in sa.inspect(engine).get_indexes("user_account")}
        engine.dispose()
        return names
    assert {"ix_user_account_role", "ix_user_account_unit_id"} <= indexes()
    command.downgrade(alembic_config("gateway", url), "9e3e17799ae2")
    assert not {"ix_user_account_role", "ix_user_account_unit_id"} & indexes()
    upgrade("gateway", url)
    assert {"ix_user_account_role", "ix_user_account_unit_id"} <= indexes()

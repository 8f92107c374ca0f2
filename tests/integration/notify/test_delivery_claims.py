"""How delivery workers share the due messages on PostgreSQL: SKIP LOCKED claims and leases."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import sessionmaker

from grassroots.db import UnitOfWork, create_engine, new_id
from notify import usecases as uc
from notify.domain.retry import after_success
from notify.models import Base, Message

T0 = dt.datetime(2025, 6, 1, 2, 0, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(seconds=60)


@pytest.fixture
def sessions(database_url):
    url = database_url("notify")
    if not url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    maker = sessionmaker(bind=engine, expire_on_commit=False, info={"metadata": Base.metadata})
    yield maker
    engine.dispose()


def add_messages(maker, n):
    with maker() as s, s.begin():
        for i in range(n):
            s.add(Message(id=new_id(), dedup_key=f"{i:064d}", event_id="e1", event_type="application_received",
                          channel="email", address=f"p{i}@example.cn", subject="主题", body="正文",
                          status="pending", next_attempt_at=T0, created_at=T0))


def test_a_second_worker_claiming_at_the_same_moment_skips_the_rows_the_first_holds(sessions):
    add_messages(sessions, 4)
    first, second = sessions(), sessions()
    first.begin()
    mine = uc.claim_due(first, T0, 2, LEASE)          # locked, not yet committed
    second.begin()
    theirs = uc.claim_due(second, T0, 10, LEASE)      # does not wait, does not see the first's rows
    assert len(mine) == 2 and len(theirs) == 2
    assert not {c.id for c in mine} & {c.id for c in theirs}
    first.commit(), second.commit()
    with sessions() as s, s.begin():
        assert uc.claim_due(s, T0 + dt.timedelta(seconds=30), 10, LEASE) == []   # leased: nobody else


def test_a_message_whose_lease_ran_out_is_claimed_again_and_the_first_worker_does_not_send_it(sessions):
    add_messages(sessions, 1)
    with sessions() as s, s.begin():
        [stale] = uc.claim_due(s, T0, 10, LEASE)
    later = T0 + LEASE + dt.timedelta(seconds=1)
    with sessions() as s, s.begin():
        [fresh] = uc.claim_due(s, later, 10, LEASE)
    assert (stale.id, stale.attempt, fresh.attempt) == (fresh.id, 1, 2)
    with sessions() as s, s.begin():
        uow = UnitOfWork(s, "notify", None, None, {})
        assert uc.still_mine(uow, stale, later, LEASE) is False
        assert uc.still_mine(uow, fresh, later, LEASE) is True
        assert uc.record_outcome(uow, stale.id, after_success(stale.attempt), later) is None
        assert uc.record_outcome(uow, fresh.id, after_success(fresh.attempt), later).status == "sent"

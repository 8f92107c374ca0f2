"""Cached ON CONFLICT inserts of the shared library, on PostgreSQL and SQLite: rows already there (or twice
in one statement) are skipped, typed values keep their types, and only inserted rows are returned."""
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots import db as gdb

md = sa.MetaData()
T = sa.Table("ii_thing", md, sa.Column("id", sa.String(8), primary_key=True),
             sa.Column("key", sa.String(8), nullable=False, unique=True),
             sa.Column("at", gdb.UtcDateTime, nullable=False), sa.Column("data", sa.JSON, nullable=False),
             sa.Column("n", sa.Integer, nullable=False, default=7))


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, database_url, tmp_path):
    url = database_url("ii") if request.param == "postgresql" else f"sqlite:///{tmp_path}/ii.db"
    eng = gdb.create_engine(url)
    md.create_all(eng)
    yield eng
    eng.dispose()


def row(i, key):
    return gdb.row_params(T, {"id": f"r{i}", "key": key, "at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                              "data": {"i": i}})


def test_many_rows_go_in_one_statement_and_conflicts_are_skipped(engine):
    with Session(engine) as s, s.begin():
        gdb.insert_ignore_many(s, T, [row(0, "k0")])
    rows = [row(1, "k1"), row(2, "k0"), row(3, "k3"), row(4, "k3")]     # k0 exists, k3 twice
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as s, s.begin():
        inserted = gdb.insert_ignore_many(s, T, rows, conflict=("key",), returning="id")
    assert sorted(inserted) == ["r1", "r3"] and len([x for x in statements if "INSERT" in x]) == 1
    with engine.connect() as conn:
        got = {r.id: r for r in conn.execute(sa.select(T))}
    assert set(got) == {"r0", "r1", "r3"} and got["r3"].data == {"i": 3} and got["r1"].n == 7
    assert got["r1"].at == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def test_more_rows_than_a_chunk_are_split(engine, monkeypatch):
    monkeypatch.setattr(gdb, "MANY_CHUNK", 3)
    with Session(engine) as s, s.begin():
        inserted = gdb.insert_ignore_many(s, T, [row(i, f"c{i}") for i in range(7)], conflict=("key",),
                                          returning="id")
    assert len(inserted) == 7


def test_several_returned_columns_come_back_as_a_tuple_per_inserted_row(engine):
    with Session(engine) as s, s.begin():
        gdb.insert_ignore_many(s, T, [row(0, "k0")])
    with Session(engine) as s, s.begin():
        inserted = gdb.insert_ignore_many(s, T, [row(0, "k0"), row(1, "k1"), row(2, "k2")], conflict=("id",),
                                          returning=("id", "key"))
    assert sorted(inserted) == [("r1", "k1"), ("r2", "k2")]


def test_a_batch_is_recorded_in_the_inbox_in_one_statement_and_only_new_events_are_fresh(engine):
    Base = gdb.make_base()
    Base.metadata.create_all(engine)
    maker = sa.orm.sessionmaker(bind=engine, info={"metadata": Base.metadata})

    def env(i):
        return {"id": f"e{i}", "type": "application_submitted"}

    with maker() as s, s.begin():
        gdb.UnitOfWork(s, "t", None, None, {}).mark_handled(env(1), "review.on_submitted")   # handled before
    batch = [env(1), env(2), env(3), env(2), env(4)]                                       # e1 old, e2 twice
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with maker() as s, s.begin():
        fresh = gdb.UnitOfWork(s, "t", None, None, {}).mark_handled_many(batch, "review.on_submitted")
    assert [e["id"] for e in fresh] == ["e2", "e3", "e4"] and fresh[0] is batch[1]
    assert len([x for x in statements if "INSERT" in x]) == 1
    with maker() as s, s.begin():   # another consumer has its own inbox rows
        other = gdb.UnitOfWork(s, "t", None, None, {}).mark_handled_many(batch, "notify.on_submitted")
    assert [e["id"] for e in other] == ["e1", "e2", "e3", "e4"]

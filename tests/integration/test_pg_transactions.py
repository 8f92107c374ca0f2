"""PostgreSQL transactions through grassroots.pgtx: psycopg2's semantics as callers see them, with BEGIN sent
in the first statement's round trip and the unit of work's COMMIT in its last one's."""
import json

import psycopg2
import psycopg2.errors
import psycopg2.extensions as ext
import psycopg2.extras
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots import db as gdb
from grassroots.context import Actor


@pytest.fixture
def pg(database_url):
    url = database_url("pgtx")
    if not url.startswith("postgresql"):
        pytest.skip("transaction round trips are PostgreSQL's")
    base = gdb.make_base()
    sa.Table("item", base.metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text))
    engine = gdb.create_engine(url, pool_size=1, max_overflow=0)
    base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO item VALUES (1, 'a'), (2, 'b')"))
    engine.dispose()   # the tests start with a new connection (create_all's catalogue reads not counted)
    other = psycopg2.connect(url)     # a plain connection, to see what is committed and what is locked
    other.autocommit = True
    yield engine, base.metadata, other
    other.close()
    engine.dispose()


def _uow(engine, metadata):
    session = Session(engine, info={"metadata": metadata})
    return gdb.UnitOfWork(session, "test", Actor.system(), "corr", {})


def _other_sees(other, sql):
    with other.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.fixture
def round_trips():
    """Queries sent to the server (each waits once for its answer) while the fixture is active."""
    calls = []
    previous = ext.get_wait_callback()

    def counting(conn):
        calls.append(conn)
        (previous or psycopg2.extras.wait_select)(conn)
    ext.set_wait_callback(counting)
    yield calls
    ext.set_wait_callback(previous)


def _counted_uow(engine, metadata, round_trips):
    """A unit of work on a connection made (and its set-up queries sent) before the count starts from zero."""
    engine.dispose()   # connections made from here on are made with the counting wait callback
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        conn.rollback()
    uow = _uow(engine, metadata)
    round_trips.clear()
    return uow


def test_a_unit_of_work_spends_one_round_trip_per_statement_and_none_on_begin_or_commit(pg, round_trips):
    engine, metadata, other = pg
    uow = _counted_uow(engine, metadata, round_trips)
    with uow.session.begin():
        uow.session.execute(sa.text("SELECT v FROM item WHERE id = 1 FOR UPDATE")).all()
        uow.session.execute(sa.text("UPDATE item SET v = 'A' WHERE id = 1"))
        uow.publish("item_changed", {"id": 1})
        uow.flush_outbox(commit=True)
    uow.session.close()
    # psycopg2's own way: BEGIN, SELECT, UPDATE, INSERT, COMMIT
    assert len(round_trips) == 3
    assert _other_sees(other, "SELECT v FROM item WHERE id = 1") == [("A",)]
    assert _other_sees(other, "SELECT event_type FROM outbox") == [("item_changed",)]


def test_the_first_statement_opens_the_transaction_and_its_locks_hold_until_the_end(pg):
    engine, metadata, other = pg
    uow = _uow(engine, metadata)
    with uow.session.begin():
        uow.session.execute(sa.text("SELECT v FROM item WHERE id = 1 FOR UPDATE")).all()
        uow.session.execute(sa.text("INSERT INTO item VALUES (3, 'c')"))
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            _other_sees(other, "SELECT v FROM item WHERE id = 1 FOR UPDATE NOWAIT")
        assert _other_sees(other, "SELECT count(*) FROM item") == [(2,)]   # not committed yet
        uow.publish("item_added", {"id": 3})
        uow.flush_outbox(commit=True)
        # committed by the insert's round trip: seen, and unlocked, before the session's own commit
        assert _other_sees(other, "SELECT count(*) FROM item") == [(3,)]
        assert _other_sees(other, "SELECT v FROM item WHERE id = 1 FOR UPDATE NOWAIT") == [("a",)]
    uow.session.close()
    with engine.connect() as conn:     # the pool's one connection starts the next transaction cleanly
        assert conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 1
        assert conn.connection.dbapi_connection.info.transaction_status == ext.TRANSACTION_STATUS_INTRANS
        conn.rollback()
        assert conn.connection.dbapi_connection.info.transaction_status == ext.TRANSACTION_STATUS_IDLE


def test_a_rolled_back_unit_of_work_leaves_nothing(pg):
    engine, metadata, other = pg
    uow = _uow(engine, metadata)
    with pytest.raises(RuntimeError):
        with uow.session.begin():
            uow.session.execute(sa.text("UPDATE item SET v = 'X'"))
            raise RuntimeError("a rule refused it")
    uow.session.close()
    assert _other_sees(other, "SELECT v FROM item ORDER BY id") == [("a",), ("b",)]
    assert _other_sees(other, "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
                              "AND datname = current_database()") == [(0,)]


def test_a_failure_in_the_committing_insert_rolls_the_whole_unit_of_work_back(pg):
    engine, metadata, other = pg
    _other_sees(other, "INSERT INTO outbox (event_id, source, event_type, body, headers, created_at) "
                       "VALUES ('dup', 's', 't', '{}', '{}', now()) RETURNING seq")
    uow = _uow(engine, metadata)
    with pytest.raises(sa.exc.IntegrityError):
        with uow.session.begin():
            uow.session.execute(sa.text("UPDATE item SET v = 'X'"))
            uow.publish("item_changed", {})
            uow._outbox_rows[0]["event_id"] = "dup"     # collides: the insert fails, its COMMIT never runs
            uow.flush_outbox(commit=True)
    uow.session.close()
    assert _other_sees(other, "SELECT v FROM item ORDER BY id") == [("a",), ("b",)]
    with engine.begin() as conn:        # and the connection goes on working
        conn.execute(sa.text("UPDATE item SET v = 'B' WHERE id = 2"))
    assert _other_sees(other, "SELECT v FROM item WHERE id = 2") == [("B",)]


def test_a_statement_after_the_committing_insert_is_refused_not_run_outside_the_transaction(pg):
    engine, metadata, other = pg
    uow = _uow(engine, metadata)
    with pytest.raises(sa.exc.InterfaceError, match="committed with its last statement"):
        with uow.session.begin():
            uow.publish("item_changed", {})
            uow.flush_outbox(commit=True)
            uow.session.execute(sa.text("UPDATE item SET v = 'late'"))
    uow.session.close()
    assert _other_sees(other, "SELECT v FROM item ORDER BY id") == [("a",), ("b",)]
    assert _other_sees(other, "SELECT count(*) FROM outbox") == [(1,)]   # what was committed stays so


def test_an_isolation_level_other_than_the_default_is_refused_with_a_reason(pg):
    engine, _metadata, _other = pg
    with pytest.raises(psycopg2.NotSupportedError, match="default isolation level"):
        with engine.connect().execution_options(isolation_level="SERIALIZABLE") as conn:
            conn.execute(sa.text("SELECT 1"))


# -- prepared statements ---------------------------------------------------------------------------------

def _prepared(conn) -> list[str]:
    """The statements prepared on this SQLAlchemy connection's server session."""
    with conn.connection.dbapi_connection.cursor(cursor_factory=ext.cursor) as cur:
        ext.cursor.execute(cur, "SELECT statement FROM pg_prepared_statements ORDER BY name")
        return [r[0] for r in cur.fetchall()]


def test_a_statement_run_often_is_prepared_once_per_connection_and_answers_as_before(pg, round_trips):
    engine, _metadata, _other = pg
    query = sa.text("SELECT v FROM item WHERE id = :id AND v <> :not_v")
    answers = []
    with engine.connect() as conn:
        for i in range(6):
            with conn.begin():
                answers.append(conn.execute(query, {"id": 1 + i % 2, "not_v": "zz"}).scalar())
        round_trips.clear()
        with conn.begin():     # prepared: the EXECUTE (BEGIN in it), then the COMMIT, as unprepared
            assert conn.execute(query, {"id": 2, "not_v": "b"}).scalar() is None
        assert len(round_trips) == 2
        assert _prepared(conn) == ["PREPARE gr_1 AS SELECT v FROM item WHERE id = $1 AND v <> $2"]
        conn.rollback()
    assert answers == ["a", "b"] * 3


def test_the_committing_insert_is_prepared_and_still_commits_in_its_round_trip(pg):
    engine, metadata, other = pg
    for i in range(5):
        uow = _uow(engine, metadata)
        with uow.session.begin():
            uow.session.execute(sa.text("UPDATE item SET v = :v WHERE id = 1"), {"v": f"v{i}"})
            uow.publish("item_changed", {"id": 1, "n": i})
            uow.flush_outbox(commit=True)
            # committed by the insert, before the session's commit, on every round
            assert _other_sees(other, "SELECT v FROM item WHERE id = 1") == [(f"v{i}",)]
        uow.session.close()
    with engine.connect() as conn:
        prepared = _prepared(conn)
        conn.rollback()
    assert any(s.startswith("PREPARE gr_") and 'INSERT INTO "outbox"' in s and "COMMIT" not in s for s in prepared)
    assert any("UPDATE item SET v = $1 WHERE id = 1" in s for s in prepared)
    bodies = [b for (b,) in _other_sees(other, "SELECT body FROM outbox ORDER BY seq")]
    assert [json.loads(b)["payload"]["n"] for b in bodies] == [0, 1, 2, 3, 4]
    assert _other_sees(other, "SELECT count(*) FROM outbox WHERE created_at > now() - interval '1 hour' "
                              "AND published_at IS NULL") == [(5,)]


def test_a_statement_the_server_cannot_prepare_runs_unprepared_and_fails_nothing(pg):
    engine, _metadata, _other = pg
    with engine.connect() as conn:
        for i in range(6):
            with conn.begin():
                # the server cannot infer the parameter's type here, so PREPARE is refused (outside the
                # transaction, which goes on as if nothing happened)
                assert conn.execute(sa.text("SELECT count(*) FROM item WHERE :x IS NULL"),
                                    {"x": None if i % 2 else "y"}).scalar() == (2 if i % 2 else 0)
        assert _prepared(conn) == []
        conn.rollback()


def test_with_prepared_statements_off_nothing_is_prepared(database_url):
    url = database_url("pgtx")
    if not url.startswith("postgresql"):
        pytest.skip("prepared statements are PostgreSQL's")
    engine = gdb.create_engine(url, pool_size=1, max_overflow=0, prepared_statements=False)
    try:
        with engine.connect() as conn:
            for _ in range(6):
                with conn.begin():
                    assert conn.execute(sa.text("SELECT :a + 1"), {"a": 1}).scalar() == 2
            assert _prepared(conn) == []
            conn.rollback()
    finally:
        engine.dispose()


def _run_until_prepared(conn, query, id_=1, v="a") -> None:
    for _ in range(4):
        with conn.begin():
            assert conn.execute(query, {"id": id_}).scalar() == v
    assert _prepared(conn) == ["PREPARE gr_1 AS SELECT v FROM item WHERE id = $1"]
    conn.rollback()


def test_deallocate_all_forgets_the_prepared_statements_and_they_are_prepared_again(pg):
    engine, _metadata, _other = pg
    query = sa.text("SELECT v FROM item WHERE id = :id")
    with engine.connect() as conn:
        _run_until_prepared(conn, query)
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.rollback()
        _run_until_prepared(conn, query, 2, "b")


def _prepared_then_stale(conn, other, query, **options) -> None:
    """``query`` prepared on ``conn``, then a migration changes the type of the column it returns: the
    transaction under way fails, as it would have without prepared statements."""
    _run_until_prepared(conn, query)
    _other_sees(other, "ALTER TABLE item ALTER COLUMN v TYPE varchar(20) USING v::varchar(20); SELECT 1")
    with pytest.raises(sa.exc.NotSupportedError, match="cached plan must not change result type"):
        with conn.begin():
            conn.execute(query, {"id": 1}, execution_options=options)
            conn.execute(sa.text("SELECT 1"))


def test_after_a_migration_changes_a_returned_column_s_type_the_statement_runs_unprepared(pg):
    engine, _metadata, other = pg
    query = sa.text("SELECT v FROM item WHERE id = :id")
    with engine.connect() as conn:
        _prepared_then_stale(conn, other, query)
        with conn.begin():      # the next one runs the statement unprepared
            assert conn.execute(query, {"id": 2}).scalar() == "b"


# -- statements sent ahead ---------------------------------------------------------------------------------
def test_a_statement_sent_ahead_travels_with_the_next_one_and_runs_first(pg, round_trips):
    engine, metadata, other = pg
    uow = _counted_uow(engine, metadata, round_trips)
    with uow.session.begin():
        uow.execute_ahead(sa.text("SELECT v FROM item WHERE id = 1 FOR UPDATE"))
        uow.execute_ahead(sa.text("UPDATE item SET v = :v WHERE id = 2"), {"v": "50% off"})
        # the read runs after the UPDATE sent ahead of it: it sees it
        assert uow.session.execute(sa.text("SELECT v FROM item ORDER BY id")).scalars().all() == ["a", "50% off"]
        assert _other_sees(other, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                  "WHERE c.relname = 'item' AND l.mode = 'RowShareLock'") == [(1,)]
        uow.execute_ahead(sa.text("UPDATE item SET v = 'A' WHERE id = 1"))
        uow.publish("item_changed", {"id": 1})
        uow.flush_outbox(commit=True)
    uow.session.close()
    # BEGIN + lock + UPDATE + read in one; UPDATE + outbox INSERT + COMMIT in the other
    assert len([c for c in round_trips if c is not other]) == 2
    assert _other_sees(other, "SELECT v FROM item ORDER BY id") == [("A",), ("50% off",)]


def test_a_statement_sent_ahead_is_sent_by_commit_and_dropped_by_rollback(pg):
    engine, metadata, other = pg
    with engine.connect() as conn:
        conn.execute(sa.text("UPDATE item SET v = 'kept' WHERE id = 1"), execution_options={"send_ahead": True})
        assert _other_sees(other, "SELECT v FROM item WHERE id = 1") == [("a",)]   # not sent yet
        conn.commit()
        conn.execute(sa.text("UPDATE item SET v = 'dropped' WHERE id = 2"), execution_options={"send_ahead": True})
        conn.rollback()
    assert _other_sees(other, "SELECT v FROM item ORDER BY id") == [("kept",), ("b",)]


def test_the_error_of_a_statement_sent_ahead_is_raised_by_the_next_and_nothing_is_written(pg):
    engine, metadata, other = pg
    uow = _uow(engine, metadata)
    with pytest.raises(sa.exc.IntegrityError):
        with uow.session.begin():
            uow.execute_ahead(sa.text("UPDATE item SET v = 'x' WHERE id = 1"))
            uow.execute_ahead(sa.text("INSERT INTO item VALUES (2, 'duplicate')"))
            uow.session.execute(sa.text("SELECT 1"))
    uow.session.close()
    assert _other_sees(other, "SELECT v FROM item ORDER BY id") == [("a",), ("b",)]


def test_a_read_after_a_lock_sent_ahead_sees_what_the_lock_s_previous_holder_committed(pg):
    """The quota's guarantee: the read travels in the lock's query string, yet is a statement of its own, with
    a snapshot taken once the lock was granted (READ COMMITTED)."""
    import threading
    engine, metadata, other = pg
    holder = psycopg2.connect(engine.url.render_as_string(hide_password=False).replace("+psycopg2", ""))
    cur = holder.cursor()
    cur.execute("SELECT v FROM item WHERE id = 1 FOR UPDATE")
    cur.execute("INSERT INTO item VALUES (3, 'committed while we waited')")
    seen = {}

    def waiter():
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT id FROM item WHERE id = 1 FOR UPDATE"), execution_options={"send_ahead": True})
            seen["rows"] = conn.execute(sa.text("SELECT count(*) FROM item")).scalar()
            conn.commit()
    t = threading.Thread(target=waiter)
    t.start()
    t.join(0.5)
    assert t.is_alive()                  # waiting for the lock
    holder.commit()
    t.join(10)
    holder.close()
    assert seen["rows"] == 3


def test_after_a_migration_a_stale_statement_sent_ahead_runs_unprepared_from_the_next_transaction(pg):
    engine, _metadata, other = pg
    query = sa.text("SELECT v FROM item WHERE id = :id")
    with engine.connect() as conn:
        _prepared_then_stale(conn, other, query, send_ahead=True)
        for _ in range(2):      # not once more: the statement sent ahead is no longer sent as EXECUTE
            with conn.begin():
                conn.execute(query, {"id": 1}, execution_options={"send_ahead": True})
                assert conn.execute(sa.text("SELECT v FROM item WHERE id = 2")).scalar() == "b"

"""Pooled PostgreSQL connections: a connection killed while idle in the pool is replaced before use; one
used within the last seconds is trusted without a ping (the documented trade-off: its failure surfaces
once, and the pool is then renewed)."""
import time

import pytest
import sqlalchemy as sa

from grassroots import db as gdb


def _backend_pid(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def _kill(url, pid):
    admin = sa.create_engine(url)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    admin.dispose()


def _set_idle_since(engine, when):
    for record in list(engine.pool._pool.queue):
        record.info["idle_since"] = when


def test_a_connection_killed_while_idle_is_replaced_transparently(database_url):
    url = database_url("pool")
    engine = gdb.create_engine(url, pool_size=1)
    try:
        pid = _backend_pid(engine)
        _kill(url, pid)
        _set_idle_since(engine, time.monotonic() - gdb.PING_AFTER_IDLE_SECONDS - 1)
        assert _backend_pid(engine) != pid          # no error reached the caller: a new connection was used
    finally:
        engine.dispose()


def test_a_recently_used_connection_is_not_pinged_and_the_pool_recovers_after_one_failure(database_url):
    url = database_url("pool")
    engine = gdb.create_engine(url, pool_size=1)
    try:
        pid = _backend_pid(engine)
        _kill(url, pid)
        _set_idle_since(engine, time.monotonic())
        with pytest.raises(sa.exc.OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != pid
    finally:
        engine.dispose()


def test_an_engine_s_settings_start_every_connection_beside_the_url_s_own_options(database_url):
    url = database_url("pool")
    if not url.startswith("postgresql"):
        pytest.skip("connection settings are PostgreSQL's")
    engine = gdb.create_engine(url + "?options=-c%20statement_timeout%3D4321", pool_size=1,
                               settings={"enable_bitmapscan": "off", "work_mem": "8MB"})
    try:
        with engine.connect() as conn:
            shown = [conn.exec_driver_sql(f"SHOW {name}").scalar()
                     for name in ("statement_timeout", "enable_bitmapscan", "work_mem")]
        assert shown == ["4321ms", "off", "8MB"]
    finally:
        engine.dispose()

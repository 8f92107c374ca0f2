"""A throwaway PostgreSQL database with the funding SQL applied, an owner connection (the migration role)
and an application role without UPDATE/DELETE on the append-only tables. Both are dropped at the end.

FUNDING_TEST_PG_DSN points at a server where we may create databases and roles
(default: host=127.0.0.1 port=5432 user=postgres dbname=postgres). Tests skip if it is unreachable.
"""
from __future__ import annotations

import os
import uuid

import pytest

psycopg2 = pytest.importorskip("psycopg2")
from psycopg2.extensions import make_dsn  # noqa: E402

from funding import sql as funding_sql  # noqa: E402

ADMIN_DSN = os.environ.get("FUNDING_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


def _admin():
    try:
        conn = psycopg2.connect(ADMIN_DSN, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_DSN!r}: {exc}".strip())
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def funding_db():
    admin = _admin()
    suffix = uuid.uuid4().hex[:10]
    dbname = f"funding_sqltest_{suffix}"
    app_role = f"funding_app_{suffix}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{dbname}"')
        cur.execute(f'CREATE ROLE "{app_role}" LOGIN')
    owner_dsn = make_dsn(ADMIN_DSN, dbname=dbname)
    app_dsn = make_dsn(ADMIN_DSN, dbname=dbname, user=app_role)
    try:
        owner = psycopg2.connect(owner_dsn)
        with owner, owner.cursor() as cur:
            cur.execute(funding_sql.tables_sql())
            cur.execute(funding_sql.guards_sql())
            cur.execute(funding_sql.grants_sql(app_role))
        owner.close()
        yield {"owner_dsn": owner_dsn, "app_dsn": app_dsn, "app_role": app_role, "dbname": dbname}
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            cur.execute(f'DROP ROLE IF EXISTS "{app_role}"')
        admin.close()


@pytest.fixture
def owner(funding_db):
    conn = psycopg2.connect(funding_db["owner_dsn"])
    yield conn
    conn.close()


@pytest.fixture
def app(funding_db):
    conn = psycopg2.connect(funding_db["app_dsn"])
    yield conn
    conn.close()

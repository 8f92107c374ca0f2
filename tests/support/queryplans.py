"""What a use case sends to the database, and the plan the database makes of it: for the tests that check a
query has an index it can use, on the schema the migrations build."""
from __future__ import annotations

import sqlalchemy as sa


def first_select(engine: sa.Engine, run, table: sa.Table) -> sa.Select:
    """The first SELECT from ``table`` sent through ``engine`` while ``run()`` runs, caught on its way."""
    seen = []

    def caught(conn, stmt, *args):
        seen.append(stmt)
    sa.event.listen(engine, "before_execute", caught)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_execute", caught)
    return next(stmt for stmt in seen if isinstance(stmt, sa.Select) and table in stmt.froms)


def plan(engine: sa.Engine, stmt) -> str:
    """The query plan of a statement, with sequential scans priced out: an index appears if it can be used."""
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
        return "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))

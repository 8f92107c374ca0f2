"""Which statements grassroots.pgtx prepares, and the server form of their placeholders."""
from grassroots.pgtx import server_form


def test_named_placeholders_become_numbered_parameters_a_name_used_twice_being_one():
    assert server_form("UPDATE a SET x = %(now)s, y = %(now)s WHERE id = %(id)s", {"now": 1, "id": 2}) == (
        "UPDATE a SET x = $1, y = $1 WHERE id = $2", "(%(now)s, %(id)s)")


def test_positional_placeholders_are_numbered_in_order():
    assert server_form('INSERT INTO "t" ("a", "b") VALUES (%s, %s), (%s, %s)', (1, 2, 3, 4)) == (
        'INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4)', "(%s, %s, %s, %s)")


def test_an_escaped_percent_is_the_server_s_percent():
    assert server_form("SELECT a FROM t WHERE b LIKE 'x%%' AND c = %(c)s", {"c": 1}) == (
        "SELECT a FROM t WHERE b LIKE 'x%' AND c = $1", "($1)".replace("$1", "%(c)s"))


def test_a_statement_without_values_is_prepared_as_it_is():
    assert server_form("  select count(*) from t", None) == ("  select count(*) from t", "")
    assert server_form("WITH q AS (SELECT 1) SELECT * FROM q", {}) == ("WITH q AS (SELECT 1) SELECT * FROM q", "")
    # without values psycopg2 sends %% unchanged: not something to rewrite
    assert server_form("SELECT 'a%%'", None) is None


def test_what_is_not_one_plain_statement_is_left_alone():
    assert server_form("BEGIN", None) is None
    assert server_form("CREATE TABLE t (a int)", None) is None
    assert server_form("SET LOCAL statement_timeout = 5", None) is None
    assert server_form("SELECT 1; SELECT 2", None) is None
    assert server_form("SELECT $$text$$", None) is None
    assert server_form("SELECT %(a)s, %s", {"a": 1}) is None        # mixed styles: psycopg2's error to raise
    assert server_form("SELECT %s", {"a": 1}) is None
    assert server_form("SELECT %(a)s", (1,)) is None
    assert server_form("SELECT 5 % %(a)s", {"a": 2}) is None         # a lone %: psycopg2 refuses it

"""The fast reader of the audit chain: ``COPY (SELECT ...) TO STDOUT`` in seq windows, decoded to the lists
``funding.domain.audit.verify_chain`` takes on its fast path.

It needs only a psycopg2 cursor, so the verification worker processes (``funding.verify_worker``) use it
without SQLAlchemy; ``funding.audit.chain_rows`` uses it inside the service's own transaction.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import time

from .domain import audit as chain

COLUMNS = "seq, at, actor_id, actor_role, action, entity, entity_id, reason, data, prev_hash, hash"
# Timestamps leave as ISO text in UTC; turning them into the canonical text here costs a fraction of what
# to_char costs the server (which halved the rows per second of the COPY).
SESSION_SQL = "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'"

_ESCAPE = re.compile(r"\\(N|[0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def unescape_copy(field: str):
    """A field of COPY's text format: \\N is NULL; backslash escapes as PostgreSQL writes them."""
    if field == "\\N":
        return None

    def one(m):
        code = m.group(1)
        if code in _SIMPLE:
            return _SIMPLE[code]
        if code[0] == "x" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code[0].isdigit():
            return chr(int(code, 8))
        return code
    return _ESCAPE.sub(one, field)


def canonical_at(text: str) -> str:
    """PostgreSQL's ISO output of a UTC timestamptz ("2025-01-01 08:00:00.5+00", the fraction trimmed or
    absent) as the chain's canonical text."""
    if text[-3:] == "+00" and len(text) >= 22 and text[10] == " ":
        clock = text[11:-3]
        return text[:10] + "T" + (clock + ".000000" if len(clock) == 8 else clock.ljust(15, "0")) + "Z"
    return chain.format_at(dt.datetime.fromisoformat(text))   # e.g. a year beyond 9999


def copy_out(cursor, sql: str, buf) -> None:
    """COPY TO a buffer. psycopg2 refuses COPY while eventlet's green wait callback is installed, so the
    callback is lifted for the statement: the hub is blocked for one window (about 0.1 s for 20,000
    records), which is why windows are small and the reader yields between them."""
    import psycopg2.extensions as ext
    callback = ext.get_wait_callback()
    if callback is not None:
        ext.set_wait_callback(None)
    try:
        cursor.copy_expert(sql, buf)
    finally:
        if callback is not None:
            ext.set_wait_callback(callback)


def copy_rows(cursor, low: int, high: int, batch: int = 20000):
    """The records with ``low <= seq < high`` in seq order, one COPY per window of ``batch`` seqs.

    The cursor's transaction must have run ``SESSION_SQL`` (UTC, ISO dates)."""
    decode = json.JSONDecoder().raw_decode   # no whitespace handling: jsonb output starts with the value
    low, high = int(low), int(high)
    while low < high:
        buf = io.StringIO()
        # seq bounds are ints formatted here, never user input. COPY's text format splits with str.split,
        # about twice as fast as the csv reader; a line with a backslash takes the slow, exact path.
        copy_out(cursor, f"COPY (SELECT {COLUMNS} FROM audit_record WHERE seq >= {low} AND seq < "
                         f"{min(low + batch, high)} ORDER BY seq) TO STDOUT", buf)
        lines = buf.getvalue().split("\n")
        lines.pop()   # the text after the last newline is empty
        for line in lines:
            f = line.split("\t")
            if "\\" in line:
                f = [unescape_copy(x) for x in f]
            f[0] = int(f[0])
            at = f[1]
            f[1] = (at[:10] + "T" + at[11:26] + "Z" if len(at) == 29 and at[26:] == "+00"
                    else canonical_at(at))
            f[8] = None if f[8] is None or f[8] == "\\N" else decode(f[8])[0]
            yield f   # a list in FIELDS + hash order: verify_chain's fast path
        low += batch
        time.sleep(0)   # under eventlet: let other workers run between windows

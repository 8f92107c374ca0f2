"""The fast reader of the audit chain (COPY text format from PostgreSQL) decodes exactly what was stored."""
from funding.chain_copy import canonical_at as _canonical_at, unescape_copy as _unescape_copy
from funding.domain import audit as chain


def test_postgresql_utc_timestamps_become_the_canonical_text_whatever_their_fraction():
    assert _canonical_at("2025-01-01 08:00:00.5+00") == "2025-01-01T08:00:00.500000Z"
    assert _canonical_at("2025-01-01 08:00:00+00") == "2025-01-01T08:00:00.000000Z"
    assert _canonical_at("2025-01-01 08:00:00.00001+00") == "2025-01-01T08:00:00.000010Z"
    from datetime import datetime, timezone
    at = datetime(2025, 1, 1, 8, 0, 0, 10, tzinfo=timezone.utc)
    assert _canonical_at("2025-01-01 08:00:00.00001+00") == chain.format_at(at)


def test_copy_escapes_are_undone_and_backslash_n_alone_is_null():
    assert _unescape_copy("\\N") is None
    assert _unescape_copy("a\\tb\\nc\\\\d\\re") == "a\tb\nc\\d\re"
    assert _unescape_copy("\\\\N") == "\\N"
    assert _unescape_copy('{"a": "x\\\\"y"}') == '{"a": "x\\"y"}'

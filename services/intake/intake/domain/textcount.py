"""Counting characters the way a Chinese reader counts them for a form's word limit (字数).

Rule of ``count_chars(text)``:

* each Han character (CJK unified and compatibility ideographs, extensions included, and 〇) counts **1**;
* each punctuation mark or symbol counts **1**, full-width (，。、；：“”《》（）—…％) or half-width
  (, . ; : ( ) % - / …) alike; a two-character mark such as …… or —— counts as the characters it has;
* a **Latin word** counts **1**: a maximal run of letters and digits that are not Han (so ``Python``,
  ``GDP``, ``5G``, ``COVID`` are one each; Mongolian or Cyrillic words likewise). Full-width letters and
  digits (ＡＢＣ１２３) are read as their half-width forms;
* a **number** counts **1**, decimals and thousands separators included: ``2025``, ``3.5``, ``1,200.50``
  are one each (a point or comma between two digits belongs to the number; elsewhere it is punctuation);
* whitespace (spaces, tabs, line breaks, the full-width space U+3000) counts **0**.

Examples: ``"乡村振兴"`` → 4; ``"2025年"`` → 2; ``"投入3.5万元。"`` → 6; ``"5G基站"`` → 3;
``"COVID-19"`` → 3 (word, hyphen, number); ``"Hello, world!"`` → 4.

Usage:
    from intake.domain.textcount import count_chars
    if count_chars(text) > field.max_chars: ...
"""
from __future__ import annotations

_HAN_RANGES = (
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF), (0x2A700, 0x2EBEF), (0x2F800, 0x2FA1F), (0x30000, 0x3134F),
)


def is_han(ch: str) -> bool:
    """True for a Han character (ideograph), including 〇."""
    cp = ord(ch)
    return cp == 0x3007 or any(lo <= cp <= hi for lo, hi in _HAN_RANGES)


def _halfwidth(ch: str) -> str:
    # Full-width ASCII letters and digits (U+FF10-FF19, FF21-FF3A, FF41-FF5A) read as ASCII.
    cp = ord(ch)
    if 0xFF10 <= cp <= 0xFF19 or 0xFF21 <= cp <= 0xFF3A or 0xFF41 <= cp <= 0xFF5A:
        return chr(cp - 0xFEE0)
    return ch


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() and not is_han(ch)


def count_chars(text: str) -> int:
    """Number of characters ``text`` counts for a word limit; see the module docstring for the rule."""
    chars = [_halfwidth(c) for c in text]
    n, i, count = len(chars), 0, 0
    while i < n:
        c = chars[i]
        if c.isspace():
            i += 1
            continue
        count += 1
        if is_han(c) or not _is_word_char(c):
            i += 1
            continue
        # A word or number: consume the run; a '.' or ',' between two digits stays inside the number.
        i += 1
        while i < n:
            c = chars[i]
            if _is_word_char(c):
                i += 1
            elif (c in ".," and i + 1 < n and chars[i - 1].isdigit() and chars[i + 1].isdigit()):
                i += 2
            else:
                break
    return count

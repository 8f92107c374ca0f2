import pytest

from intake.domain.textcount import count_chars


@pytest.mark.parametrize("text,expected", [
    ("乡村振兴", 4),                # each Han character is one
    ("专家服务基层。", 7),           # full-width punctuation is one each
    ("“点餐制”", 5),
    ("《通知》（附件）", 8),
    ("……", 2),                      # a two-character mark counts as two
    ("Python", 1),                  # a Latin word is one
    ("Hello world", 2),
    ("Hello, world!", 4),           # half-width punctuation is one each
    ("GDP增长", 3),
    ("5G基站", 3),                  # letters and digits together form one word
    ("2025年", 2),                  # a number is one
    ("3.5万元", 3),                 # decimals stay in the number
    ("1,200.50元", 2),              # thousands separators too
    ("COVID-19", 3),                # word, hyphen, number
    ("第3.", 3),                    # a point not followed by a digit is punctuation
    ("ＡＢＣ１２３", 1),             # full-width letters and digits read as half-width
    ("乡村 振兴\n\t　", 4),          # whitespace, including the full-width space, is nothing
    ("", 0),
    ("〇", 1),
])
def test_characters_are_counted_as_a_chinese_reader_counts_them(text, expected):
    assert count_chars(text) == expected


def test_a_long_chinese_text_counts_one_per_han_character():
    assert count_chars("专" * 1500) == 1500


def walk_count(text: str) -> int:
    """The rule walked character by character, as the module first implemented it: the reference."""
    def han(c):
        cp = ord(c)
        return cp == 0x3007 or any(lo <= cp <= hi for lo, hi in (
            (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF), (0x2A700, 0x2EBEF),
            (0x2F800, 0x2FA1F), (0x30000, 0x3134F)))

    def word(c):
        return c.isalnum() and not han(c)

    def halfwidth(c):
        cp = ord(c)
        return chr(cp - 0xFEE0) if 0xFF10 <= cp <= 0xFF19 or 0xFF21 <= cp <= 0xFF3A or 0xFF41 <= cp <= 0xFF5A else c

    text = "".join(halfwidth(c) for c in text)
    n, i, count = len(text), 0, 0
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        count += 1
        if han(c) or not word(c):
            i += 1
            continue
        i += 1
        while i < n:
            c = text[i]
            if word(c):
                i += 1
            elif c in ".," and i + 1 < n and text[i - 1].isdigit() and text[i + 1].isdigit():
                i += 2
            else:
                break
    return count


def test_the_count_agrees_with_the_character_by_character_rule_on_random_texts():
    import random
    rng = random.Random(20261130)
    # the characters where the rule has edges: digits of several kinds (full-width, superscript, circled,
    # Arabic-Indic), the marks that join numbers, letters of other scripts, Han at the range ends, 〇,
    # underscore, spaces of several kinds, surrogate-plane Han and an emoji
    alphabet = list("0123456789１２３.,，。．_-aZｚÅжᠠ ²①٣〇一鿿豈\u3400\u4dbf\t\n\u3000\u00a0!%（）") + \
        ["\U00020000", "\U0002A6DF", "\U0001F600"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert count_chars(text) == walk_count(text), repr(text)

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

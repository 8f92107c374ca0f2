"""Masking: mobiles and e-mail addresses never appear in clear in logs."""
from __future__ import annotations

from notify.domain.masking import mask_address, mask_email, mask_mobile, mask_text


def test_a_mobile_is_masked_keeping_the_first_three_and_last_four_digits():
    assert mask_mobile("13812341234") == "138****1234"
    assert mask_mobile("+86 138-1234-1234") == "138****1234"


def test_a_short_number_keeps_only_its_last_two_digits():
    assert mask_mobile("12345") == "***45"


def test_an_email_keeps_its_first_letter_and_domain():
    assert mask_email("zhuanjiazhongxinst@126.com") == "z***@126.com"
    assert mask_email("not-an-address") == "***"


def test_mask_address_picks_the_rule_by_channel():
    assert mask_address("sms", "13812341234") == "138****1234"
    assert mask_address("email", "wangli@hlbe.example.cn") == "w***@hlbe.example.cn"


def test_free_text_has_every_mobile_and_email_masked_but_landlines_kept():
    text = "发送给13812341234和wangli@hlbe.example.cn，联系人：塞夫，电话：(0471) 6268105"
    masked = mask_text(text)
    assert "13812341234" not in masked and "wangli@" not in masked
    assert "138****1234" in masked and "w***@hlbe.example.cn" in masked
    assert "(0471) 6268105" in masked

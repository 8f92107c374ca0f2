import datetime as dt
from decimal import Decimal

import pytest

from grassroots.errors import ValidationFailed
from intake.domain.calls import load_bundled_call, parse_call
from intake.domain.forms import (draft_problems, parse_money, submission_problems, validate_draft, validate_report,
                                 validate_submission)

C2025 = load_bundled_call(2025)
C2023 = load_bundled_call(2023)


def make(fields, timing=None, year=2025):
    """A call with one programme whose form has ``fields`` (and optional timing rules)."""
    prog = {"code": "p", "name": "测试项目", "action": "行动", "form_name": "测试表",
            "eligible_unit_kinds": ["league_city"], "quotas": {"league_city": {"max": 2}},
            "form": {"fields": fields}}
    if timing:
        prog["timing"] = timing
    call = parse_call({
        "year": year, "title": "测试通知", "doc_no": "测试〔%d〕1号" % year, "issued_on": f"{year}-01-05",
        "deadline": f"{year}-01-30T23:59:59", "contacts": [], "mailing_address": {"recipient": "r", "address": "a"},
        "programmes": [prog]})
    return call, call.programme("p")


def codes(problems):
    return {(p["path"], p["code"]) for p in problems}


def draft(fields, data):
    return codes(draft_problems(make(fields)[1], data))


def submit(fields, data, timing=None, year=2025):
    call, prog = make(fields, timing, year)
    return codes(submission_problems(prog, call, data))


TEXT = {"key": "name", "label": "名称", "type": "text", "required": True, "max_chars": 10}


# --- sample complete forms, generated from the definitions ---------------------------------------------------
def sample_value(field, prog, call):
    t = field["type"] if isinstance(field, dict) else field.type
    f = field
    if t in ("text", "textarea"):
        return "测试内容"
    if t == "integer":
        if prog.timing.days_field == f.key:
            return 3
        return f.min if f.min is not None else 1
    if t == "money":
        return "1000.00"
    if t == "date":
        return f"{call.year}-06-09"
    if t == "date_range":
        start = dt.date(call.year, 6, 9)
        length = 3 if prog.timing.calendar_days else 5
        if prog.timing.period_field != f.key:
            length = 1
        return {"start": start.isoformat(), "end": (start + dt.timedelta(days=length - 1)).isoformat()}
    if t == "select":
        return next(o.value for o in f.options if not o.requires_text)
    if t == "multiselect":
        return [next(o.value for o in f.options if not o.requires_text)]
    return {"phone": "(0471) 6268105", "mobile": "13904710000", "email": "unit@example.cn",
            "interbank_code": "102191000015", "bank_account": "6222020200001234",
            "uscc": "914403001922038216", "id_number": "11010519491231002X", "region": "150100",
            "boolean": True, "declaration": True}.get(t) if t != "group" else [
        {sf.key: sample_value(sf, prog, call) for sf in f.fields} for _ in range(f.min_items or 1)]


def complete(prog, call):
    return {f.key: sample_value(f, prog, call) for f in prog.form.fields}


@pytest.mark.parametrize("call,code", [(C2025, p.code) for p in C2025.programmes]
                         + [(C2023, p.code) for p in C2023.programmes])
def test_a_complete_form_of_every_shipped_programme_can_be_submitted(call, code):
    prog = call.programme(code)
    assert submission_problems(prog, call, complete(prog, call)) == []


@pytest.mark.parametrize("code", [p.code for p in C2025.programmes])
def test_an_empty_form_lists_every_required_field_of_the_programme(code):
    prog = C2025.programme(code)
    found = codes(submission_problems(prog, C2025, {}))
    for f in prog.form.fields:
        if f.required:
            assert (f.key, "required") in found


# --- required, draft vs submission ---------------------------------------------------------------------------
def test_a_required_field_may_be_missing_in_a_draft_but_not_at_submission():
    assert draft([TEXT], {}) == set()
    assert submit([TEXT], {}) == {("name", "required")}
    assert submit([TEXT], {"name": "   "}) == {("name", "required")}


def test_an_optional_field_may_be_missing_at_submission():
    assert submit([dict(TEXT, required=False)], {}) == set()


def test_a_field_the_form_does_not_have_is_reported():
    assert draft([TEXT], {"nmae": "x"}) == {("nmae", "unknown_field")}


def test_form_data_that_is_not_a_mapping_is_reported():
    assert draft([TEXT], ["x"]) == {("$", "wrong_type")}


# --- text and word limits ------------------------------------------------------------------------------------
def test_text_over_its_word_limit_is_too_long_counted_in_chinese_characters():
    assert draft([TEXT], {"name": "专" * 10}) == set()
    assert draft([TEXT], {"name": "专" * 11}) == {("name", "too_long")}


def test_latin_words_count_one_each_against_the_word_limit():
    assert draft([TEXT], {"name": "Expert service to the grassroots 2025"}) == set()  # 6 units, 37 letters


def test_the_too_long_message_gives_the_limit_and_the_count():
    (p,) = draft_problems(make([TEXT])[1], {"name": "专" * 12})
    assert "最多10字" in p["message"] and "现为12字" in p["message"] and "名称" in p["message"]


def test_text_below_its_minimum_is_too_short():
    assert draft([dict(TEXT, min_chars=3)], {"name": "专家"}) == {("name", "too_short")}


def test_a_number_where_text_is_expected_is_a_wrong_type():
    assert draft([TEXT], {"name": 12}) == {("name", "wrong_type")}


# --- integers and money --------------------------------------------------------------------------------------
INT = {"key": "days", "label": "天数", "type": "integer", "min": 2, "max": 4}


@pytest.mark.parametrize("value", [2, 4, "3"])
def test_integers_within_bounds_pass(value):
    assert draft([INT], {"days": value}) == set()


@pytest.mark.parametrize("value,code", [(1, "too_small"), (5, "too_large"), (2.5, "wrong_type"),
                                        (True, "wrong_type"), ("三", "wrong_type")])
def test_integers_out_of_bounds_or_not_whole_are_refused(value, code):
    assert draft([INT], {"days": value}) == {("days", code)}


MONEY = {"key": "budget", "label": "预算", "type": "money", "min": "0.01"}


@pytest.mark.parametrize("value", ["120000.00", "120000", "0.5", 120000])
def test_money_as_a_decimal_string_or_whole_number_passes(value):
    assert draft([MONEY], {"budget": value}) == set()


@pytest.mark.parametrize("value,code", [
    (120000.5, "wrong_type"),          # floats lose cents: never accepted
    (120000.0, "wrong_type"),
    ("12.345", "too_many_decimals"),
    ("-1.00", "negative"),
    ("0.00", "too_small"),
    ("1,000", "invalid_money"),
    ("abc", "invalid_money"),
    (True, "invalid_money"),
])
def test_money_that_is_float_negative_or_over_precise_is_refused(value, code):
    assert draft([MONEY], {"budget": value}) == {("budget", code)}


def test_parse_money_gives_an_exact_decimal_in_yuan():
    assert parse_money("120000.5") == Decimal("120000.50")
    assert parse_money(3) == Decimal("3.00")
    with pytest.raises(ValueError):
        parse_money(0.1)


# --- formats ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ftype,good,bad,code", [
    ("phone", "(0471) 6268105", "6268105", "invalid_phone"),
    ("mobile", "13904710000", "1390471000", "invalid_mobile"),
    ("email", "nmgzjc2023@126.com", "nm gzjc2023@ 126.com", "invalid_email"),
    ("interbank_code", "102191000015", "10219100001", "invalid_interbank_code"),
    ("bank_account", "6222 0202 0000 1234", "6222-0202", "invalid_bank_account"),
    ("uscc", "914403001922038216", "914403001922038217", "invalid_uscc"),
    ("id_number", "11010519491231002X", "110105194912310021", "invalid_id_number"),
    ("region", "150781", "110000", "invalid_region"),
    ("date", "2025-02-28", "2025-02-30", "invalid_date"),
])
def test_formatted_fields_accept_good_values_and_refuse_bad_ones(ftype, good, bad, code):
    fields = [{"key": "x", "label": "项", "type": ftype}]
    assert draft(fields, {"x": good}) == set()
    assert draft(fields, {"x": bad}) == {("x", code)}


BANK = [
    {"key": "account_name", "label": "账户名", "type": "text", "required": True, "max_chars": 100},
    {"key": "account_no", "label": "账号", "type": "bank_account", "required": True},
    {"key": "interbank_code", "label": "开户行联行号", "type": "interbank_code", "required": True},
]


def test_bank_details_need_a_name_an_account_and_a_twelve_digit_interbank_code():
    assert submit(BANK, {"account_name": " ", "account_no": "12345", "interbank_code": "1021910000"}) == {
        ("account_name", "required"), ("account_no", "invalid_bank_account"),
        ("interbank_code", "invalid_interbank_code")}


# --- select and multiselect -----------------------------------------------------------------------------------
SELECT = {"key": "gender", "label": "性别", "type": "select",
          "options": [{"value": "male", "label": "男"}, {"value": "female", "label": "女"}]}
MULTI = {"key": "forms", "label": "活动形式", "type": "multiselect", "min_items": 1, "max_items": 2,
         "options": [{"value": "a", "label": "学术交流"}, {"value": "b", "label": "基层服务"},
                     {"value": "other", "label": "其他", "requires_text": True}]}


def test_a_select_value_must_be_one_of_its_options():
    assert draft([SELECT], {"gender": "female"}) == set()
    assert draft([SELECT], {"gender": "女性"}) == {("gender", "not_an_option")}


def test_a_multiselect_refuses_unknown_and_repeated_options():
    assert draft([MULTI], {"forms": ["a", "x"]}) == {("forms[1]", "not_an_option")}
    assert draft([MULTI], {"forms": ["a", "a"]}) == {("forms[1]", "duplicate_option")}


def test_choosing_other_requires_its_text():
    assert draft([MULTI], {"forms": ["other"]}) == {("forms_other", "other_text_required")}
    assert draft([MULTI], {"forms": ["other"], "forms_other": "路演"}) == set()


def test_other_text_without_choosing_other_is_reported():
    assert draft([MULTI], {"forms": ["a"], "forms_other": "路演"}) == {("forms_other", "other_text_without_other")}


def test_other_text_has_its_own_word_limit():
    assert draft([MULTI], {"forms": ["other"], "forms_other": "专" * 51}) == {("forms_other", "too_long")}


def test_a_multiselect_has_item_limits_with_the_minimum_checked_only_at_submission():
    assert draft([MULTI], {"forms": ["a", "b", "other"], "forms_other": "路演"}) == {("forms", "too_many_items")}
    assert draft([MULTI], {"forms": []}) == set()
    assert draft([dict(MULTI, min_items=2)], {"forms": ["a"]}) == set()
    assert submit([dict(MULTI, min_items=2)], {"forms": ["a"]}) == {("forms", "too_few_items")}
    assert submit([dict(MULTI, min_items=2)], {"forms": []}) == set()  # optional: may be left empty


# --- declarations and booleans --------------------------------------------------------------------------------
DECL = {"key": "has_team", "label": "本单位有留学人员及回国专家团队", "type": "declaration", "required": True}


def test_a_required_declaration_must_be_confirmed_to_submit():
    assert draft([DECL], {"has_team": False}) == set()
    assert submit([DECL], {"has_team": False}) == {("has_team", "declaration_required")}
    assert submit([DECL], {"has_team": True}) == set()


def test_a_boolean_must_be_true_or_false():
    assert draft([{"key": "b", "label": "是否", "type": "boolean"}], {"b": "yes"}) == {("b", "wrong_type")}


# --- dates -------------------------------------------------------------------------------------------------
RANGE = {"key": "period", "label": "起止时间", "type": "date_range", "required": True}


def test_a_date_range_must_start_before_it_ends():
    assert draft([RANGE], {"period": {"start": "2025-06-10", "end": "2025-06-09"}}) == {("period", "range_reversed")}
    assert draft([RANGE], {"period": {"start": "2025-06-09", "end": "2025-06-09"}}) == set()


def test_a_date_range_reports_a_bad_or_missing_part_by_its_path():
    assert draft([RANGE], {"period": {"start": "2025-13-01"}}) == {("period.start", "invalid_date")}
    assert submit([RANGE], {"period": {"start": "2025-06-01"}}) == {("period.end", "required")}
    assert draft([RANGE], {"period": "2025-06-01"}) == {("period", "wrong_type")}


# --- groups -------------------------------------------------------------------------------------------------
DEMANDS = {"key": "demands", "label": "服务需求", "type": "group", "required": True, "min_items": 10,
           "max_items": 15, "fields": [{"key": "title", "label": "需求名称", "type": "text", "required": True,
                                        "max_chars": 50}]}


def demands(n):
    return [{"title": f"需求{i}"} for i in range(n)]


@pytest.mark.parametrize("n", [10, 15])
def test_ten_to_fifteen_demands_are_accepted(n):
    assert submit([DEMANDS], {"demands": demands(n)}) == set()


def test_fewer_than_ten_demands_cannot_be_submitted_but_may_be_drafted():
    assert submit([DEMANDS], {"demands": demands(9)}) == {("demands", "too_few_items")}
    assert draft([DEMANDS], {"demands": demands(9)}) == set()


def test_more_than_fifteen_demands_are_refused_even_in_a_draft():
    assert draft([DEMANDS], {"demands": demands(16)}) == {("demands", "too_many_items")}


def test_a_problem_inside_a_group_names_the_item_and_sub_field():
    items = demands(10)
    items[3]["title"] = "专" * 51
    del items[5]["title"]
    assert submit([DEMANDS], {"demands": items}) == {("demands[3].title", "too_long"), ("demands[5].title", "required")}


# --- timing rules ---------------------------------------------------------------------------------------------
TEAM_TIMING = {"period_field": "period", "within_call_year": True, "min_working_days": 5}


def period(a, b):
    return {"period": {"start": a, "end": b}}


def test_a_project_of_five_working_days_within_the_year_is_accepted():
    assert submit([RANGE], period("2025-06-09", "2025-06-13"), TEAM_TIMING) == set()


def test_a_project_with_fewer_than_five_official_working_days_is_refused():
    # twelve calendar days, but the Spring Festival holiday leaves only four working days
    assert submit([RANGE], period("2025-01-27", "2025-02-07"), TEAM_TIMING) == {("period", "too_few_working_days")}


def test_a_project_running_into_the_next_year_is_refused():
    assert ("period", "outside_call_year") in submit([RANGE], period("2025-12-22", "2026-01-09"), TEAM_TIMING)


def test_a_year_without_an_official_calendar_is_reported_not_guessed():
    found = submit([RANGE], period("2099-06-01", "2099-06-30"), TEAM_TIMING, year=2099)
    assert found == {("period", "calendar_unavailable")}


def test_timing_rules_wait_for_submission():
    assert draft([RANGE], period("2025-01-27", "2025-02-07")) == set()


def test_the_2023_window_refuses_a_project_outside_may_to_september():
    prog = C2023.programme("service_team")
    data = complete(prog, C2023)
    data["service_period"] = {"start": "2023-04-24", "end": "2023-05-05"}
    assert ("service_period", "outside_window") in codes(submission_problems(prog, C2023, data))
    data["service_period"] = {"start": "2023-09-25", "end": "2023-09-29"}
    assert submission_problems(prog, C2023, data) == []


POSTDOC_TIMING = {"period_field": "period", "calendar_days": {"min": 2, "max": 4}, "days_field": "days"}
DAYS = {"key": "days", "label": "活动天数", "type": "integer", "required": True}


@pytest.mark.parametrize("end,ok", [("2025-06-09", False), ("2025-06-10", True), ("2025-06-12", True),
                                    ("2025-06-13", False)])
def test_the_postdoc_team_is_on_site_two_to_four_days(end, ok):
    days = (dt.date.fromisoformat(end) - dt.date(2025, 6, 9)).days + 1
    found = submit([RANGE, DAYS], dict(period("2025-06-09", end), days=days), POSTDOC_TIMING)
    assert found == (set() if ok else {("period", "days_out_of_range")})


def test_the_declared_number_of_days_must_match_the_dates():
    found = submit([RANGE, DAYS], dict(period("2025-06-09", "2025-06-11"), days=2), POSTDOC_TIMING)
    assert found == {("days", "days_mismatch")}


# --- raising ---------------------------------------------------------------------------------------------------
def test_submission_raises_form_invalid_listing_every_problem_in_chinese():
    prog = C2025.programme("postdoc_hosting")
    data = complete(prog, C2025)
    data.update(mobile="12345", email="nm gzjc2023@ 126.com", demands=data["demands"][:9],
                hosting_reasons="专" * 801)
    with pytest.raises(ValidationFailed) as e:
        validate_submission(prog, C2025, data)
    err = e.value
    assert err.code == "form_invalid" and err.status == 422
    assert {d["path"] for d in err.details} == {"mobile", "email", "demands", "hosting_reasons"}
    assert "4处" in err.message


def test_a_draft_with_problems_raises_and_a_clean_draft_does_not():
    prog = C2025.programme("chizi")
    validate_draft(prog, {"activity_name": "海外赤子内蒙古行"})
    with pytest.raises(ValidationFailed) as e:
        validate_draft(prog, {"total_budget": 3.5})
    assert e.value.details[0]["path"] == "total_budget"


def test_the_chizi_programme_requires_the_returnee_team_declaration():
    prog = C2025.programme("chizi")
    data = complete(prog, C2025)
    data["has_returnee_team"] = False
    assert codes(submission_problems(prog, C2025, data)) == {("has_returnee_team", "declaration_required")}


def test_the_service_team_of_2025_needs_five_working_days():
    prog = C2025.programme("service_team")
    data = complete(prog, C2025)
    data["service_period"] = {"start": "2025-06-09", "end": "2025-06-12"}
    assert ("service_period", "too_few_working_days") in codes(submission_problems(prog, C2025, data))


def test_a_postdoc_report_needs_a_summary_and_at_least_one_captioned_photo():
    prog = C2025.programme("postdoc_hosting")
    with pytest.raises(ValidationFailed) as e:
        validate_report(prog, {"summary": "总结", "photos": [{"document_id": "d1"}]})
    assert [d["path"] for d in e.value.details] == ["photos[0].caption"]
    validate_report(prog, {"summary": "总结", "photos": [{"document_id": "d1", "caption": "现场义诊"}]})

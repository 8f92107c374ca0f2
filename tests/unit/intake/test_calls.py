import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from grassroots.errors import NotFound
from intake.domain.calls import (CallDefinitionInvalid, bundled_call_years, load_bundled_call, load_call_file,
                                 load_call_text, parse_call)
from intake.domain.model import FIELD_TYPES, Range

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def c2025():
    return load_bundled_call(2025)


@pytest.fixture(scope="module")
def c2023():
    return load_bundled_call(2023)


def minimal(**over):
    call = {
        "year": 2026, "title": "测试通知", "doc_no": "内人社办发〔2026〕1号", "issued_on": "2026-01-05",
        "deadline": "2026-01-30T23:59:59",
        "contacts": [{"name": "张三", "department": "专业技术人员管理处", "phones": ["(0471) 6268105"],
                      "email": "a@b.cn"}],
        "mailing_address": {"recipient": "中心", "address": "呼和浩特市"},
        "programmes": [{
            "code": "p", "name": "项目", "action": "行动", "form_name": "表",
            "eligible_unit_kinds": ["league_city"], "quotas": {"league_city": {"max": 2}},
            "form": {"fields": [{"key": "name", "label": "名称", "type": "text", "max_chars": 10}]},
        }],
    }
    call.update(over)
    return call


def test_both_shipped_calls_are_found():
    assert bundled_call_years() == [2023, 2025]


def test_the_2025_call_carries_the_notices_identity_and_deadline(c2025):
    assert c2025.year == 2025
    assert c2025.doc_no == "内人社办发〔2025〕5号"
    assert c2025.issued_on == dt.date(2025, 1, 10)
    assert c2025.deadline == dt.datetime(2025, 1, 24, 23, 59, 59, tzinfo=SH)
    assert c2025.deadline_utc == dt.datetime(2025, 1, 24, 15, 59, 59, tzinfo=dt.timezone.utc)


def test_the_2025_call_has_the_six_programme_codes_of_the_five_programmes(c2025):
    assert [p.code for p in c2025.programmes] == [
        "service_team", "national_base", "regional_base", "key_expert", "chizi", "postdoc_hosting"]
    assert not any(p.rolling for p in c2025.programmes)


def test_the_2025_quotas_are_those_of_the_notice(c2025):
    st = c2025.programme("service_team")
    assert st.quota_for("league_city") == Range(None, 2)
    assert st.quota_for("national_base") == Range(None, 1) == st.quota_for("regional_base")
    assert c2025.programme("regional_base").quota_for("league_city").max == 2
    assert c2025.programme("national_base").quota_for("league_city").max == 1
    assert c2025.programme("key_expert").quota_for("league_city").max == 10
    chizi = c2025.programme("chizi")
    assert chizi.quota_for("league_city").max == 1
    assert chizi.quota_for("returnee_park").unlimited
    assert c2025.programme("postdoc_hosting").eligible_unit_kinds == ("league_city",)


def test_the_2025_selection_caps_are_those_of_the_notice(c2025):
    st = c2025.programme("service_team")
    assert st.selection_cap("regional").count.max == 10
    assert st.selection_cap("ministry_recommendation").count == Range(2, 3)
    assert c2025.programme("regional_base").selection_cap("regional").count.max == 5
    assert c2025.programme("national_base").selection_cap("ministry_recommendation").count == Range(1, 2)
    assert c2025.programme("key_expert").selection_cap("ministry_pool").count == Range()


def test_the_2025_timing_rules_are_those_of_the_notice(c2025):
    st = c2025.programme("service_team").timing
    assert st.within_call_year and st.min_working_days == 5 and st.window is None
    pd = c2025.programme("postdoc_hosting")
    assert pd.timing.calendar_days == Range(2, 4)
    assert pd.form.field("demands").min_items == 10 and pd.form.field("demands").max_items == 15


def test_the_postdoc_host_reports_within_two_weeks_and_the_service_team_within_thirty_days(c2025):
    assert c2025.programme("postdoc_hosting").report.due_days_after_end == 14
    assert c2025.programme("service_team").report.due_days_after_end == 30
    assert not c2025.programme("chizi").report.required


def test_the_2025_contacts_include_the_repaired_chizi_email(c2025):
    (yan,) = c2025.contacts_for("chizi")
    assert yan.name == "闫璐" and yan.email == "nmgzjc2023@126.com"
    assert {c.name for c in c2025.contacts_for("service_team")} == {"塞夫", "曹磊", "沈婷"}
    assert c2025.mailing_address.address == "呼和浩特市新城区国家大学科技园8号楼610室"
    assert c2025.programme("service_team").paper_copies == 2


def test_the_chizi_form_reproduces_every_field_of_annex_2(c2025):
    f = c2025.programme("chizi").form
    labels = [x.label for x in f.fields]
    for label in ["活动名称", "承办单位", "活动起止时间", "留学人员及回国专家数量", "活动地点", "负责部门", "联系人",
                  "办公电话", "手机", "E-mail", "总预算（元）", "开户行联行号", "账户名", "开户行名称", "账号",
                  "拟采取的活动形式（可多选）", "拟开展的活动内容"]:
        assert label in labels
    forms = f.field("activity_forms")
    assert [o.label for o in forms.options] == ["人才项目交流对接", "创新创业大赛", "技术服务指导", "项目合作洽谈",
                                                "学术交流", "基层服务", "其他"]
    assert forms.option("other").requires_text
    assert f.field("has_returnee_team").type == "declaration" and f.field("has_returnee_team").required


def test_the_postdoc_form_reproduces_every_field_of_annex_3(c2025):
    f = c2025.programme("postdoc_hosting").form
    labels = [x.label for x in f.fields]
    for label in ["申报单位（公章）", "举办地", "举办时间", "联系人", "职务", "固定电话", "手机", "电子邮箱", "活动天数",
                  "承办理由", "活动设想"]:
        assert label in labels
    assert f.field("hosting_reasons").max_chars == 800 and f.field("activity_plan").max_chars == 1500


def test_the_expert_form_checks_id_numbers_and_title_levels(c2025):
    f = c2025.programme("key_expert").form
    assert f.field("id_number").type == "id_number"
    assert [o.label for o in f.field("title_level").options] == ["正高级", "副高级", "中级", "初级", "无"]


def test_every_form_field_of_both_calls_uses_a_known_type_and_text_has_a_limit(c2025, c2023):
    def walk(fields):
        for f in fields:
            yield f
            yield from walk(f.fields)
    for call in (c2025, c2023):
        for p in call.programmes:
            for f in walk(p.form.fields):
                assert f.type in FIELD_TYPES
                if f.type in ("text", "textarea"):
                    assert f.max_chars


def test_the_2023_call_has_a_may_to_september_window_and_at_least_ten_experts(c2023):
    assert c2023.doc_no == "内人社办发〔2023〕18号"
    assert c2023.deadline == dt.datetime(2023, 2, 24, 23, 59, 59, tzinfo=SH)
    assert [p.code for p in c2023.programmes] == ["service_team", "national_base", "key_expert"]
    st = c2023.programme("service_team")
    assert st.timing.window == ((5, 1), (9, 30))
    assert st.form_name == "2023年专家服务基层示范团项目申报表"
    assert st.quota_for("league_city").max == 2
    ke = c2023.programme("key_expert").quota_for("league_city")
    assert ke.min == 10 and ke.max is None
    assert c2023.mailing_address.address == "呼和浩特市新华大街63号6号楼337室"


def test_asking_for_a_programme_the_call_lacks_is_not_found(c2023):
    with pytest.raises(NotFound) as e:
        c2023.programme("chizi")
    assert e.value.code == "programme_not_found"


def test_a_stored_definition_parses_back_to_the_same_call(c2025):
    stored = json.loads(json.dumps(c2025.definition))
    assert parse_call(stored) == c2025


def test_money_bounds_in_a_form_are_exact_decimals(c2025):
    assert c2025.programme("service_team").form.field("budget_total").min == Decimal("0.01")


def test_a_minimal_definition_loads():
    call = parse_call(minimal())
    assert call.programme("p").form.field("name").max_chars == 10


def problems_of(raw):
    with pytest.raises(CallDefinitionInvalid) as e:
        parse_call(raw)
    assert e.value.code == "call_definition_invalid"
    return {(d["path"], d["code"]) for d in e.value.details}


def test_an_unknown_field_type_is_reported_with_its_path():
    raw = minimal()
    raw["programmes"][0]["form"]["fields"][0]["type"] = "colour"
    assert ("programmes[0].form.fields[0].type", "unknown_field_type") in problems_of(raw)


def test_every_problem_of_a_definition_is_reported_at_once():
    raw = minimal(deadline="next friday")
    raw["programmes"][0]["eligible_unit_kinds"] = ["league_city", "village"]
    raw["programmes"][0]["form"]["fields"][0].pop("max_chars")
    del raw["title"]
    found = problems_of(raw)
    assert {("deadline", "invalid_datetime"), ("programmes[0].eligible_unit_kinds[1]", "unknown_unit_kind"),
            ("programmes[0].form.fields[0].max_chars", "missing"), ("title", "missing")} <= found


def test_a_quota_for_a_kind_that_may_not_apply_or_a_missing_quota_is_refused():
    raw = minimal()
    raw["programmes"][0]["quotas"] = {"returnee_park": {}}
    found = problems_of(raw)
    assert ("programmes[0].quotas.returnee_park", "not_eligible") in found
    assert ("programmes[0].quotas", "missing") in found


def test_a_quota_range_with_min_above_max_is_refused():
    raw = minimal()
    raw["programmes"][0]["quotas"] = {"league_city": {"min": 3, "max": 2}}
    assert ("programmes[0].quotas.league_city", "range_reversed") in problems_of(raw)


def test_timing_rules_must_name_an_existing_date_range_field():
    raw = minimal()
    raw["programmes"][0]["timing"] = {"period_field": "name", "min_working_days": 5}
    assert ("programmes[0].timing.period_field", "wrong_field_type") in problems_of(raw)
    raw["programmes"][0]["timing"] = {"min_working_days": 5}
    assert ("programmes[0].timing.period_field", "missing") in problems_of(raw)


def test_duplicate_field_keys_and_programme_codes_are_refused():
    raw = minimal()
    raw["programmes"][0]["form"]["fields"].append(dict(raw["programmes"][0]["form"]["fields"][0]))
    raw["programmes"].append(json.loads(json.dumps(raw["programmes"][0])))
    found = problems_of(raw)
    assert ("programmes[0].form.fields", "duplicate") in found
    assert ("programmes", "duplicate") in found


def test_an_attachment_may_only_allow_pdf_jpeg_or_png():
    raw = minimal()
    raw["programmes"][0]["attachments"] = [{"kind": "scan", "label": "扫描件", "types": ["docx"], "max_bytes": 10}]
    assert ("programmes[0].attachments[0].types[0]", "unknown_file_type") in problems_of(raw)


def test_a_mangled_contact_email_is_refused():
    raw = minimal()
    raw["contacts"][0]["email"] = "nm gzjc2023@ 126.com"
    assert ("contacts[0].email", "invalid_email") in problems_of(raw)


def test_a_deadline_before_the_issue_date_is_refused():
    assert ("deadline", "before_issue") in problems_of(minimal(deadline="2025-12-31T23:59:59"))


def test_unknown_keys_are_refused_but_x_keys_are_ignored():
    assert ("colour", "unknown_key") in problems_of(minimal(colour="red"))
    parse_call(minimal(**{"x-shared": {"anything": 1}}))


def test_a_deadline_given_with_an_offset_is_kept_as_the_same_instant():
    call = parse_call(minimal(deadline="2026-01-30T15:59:59+00:00"))
    assert call.deadline == dt.datetime(2026, 1, 30, 23, 59, 59, tzinfo=SH)


def test_a_file_error_names_the_file_and_the_path(tmp_path: Path):
    raw = minimal()
    raw["programmes"][0]["form"]["fields"][0]["type"] = "colour"
    p = tmp_path / "call_2026.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CallDefinitionInvalid) as e:
        load_call_file(p)
    assert "call_2026.yaml" in e.value.message and "programmes[0].form.fields[0].type" in e.value.message


def test_broken_yaml_is_reported_not_crashed_on():
    with pytest.raises(CallDefinitionInvalid) as e:
        load_call_text("year: [2025", "x.yaml")
    assert e.value.details[0]["code"] == "yaml_syntax"


def test_a_call_may_carry_its_review_settings_and_they_stay_in_its_definition(c2025):
    rubric = {"criteria": [{"code": "need", "label": "需求", "weight": "1", "scale": {"min": 0, "max": 5}}]}
    review = {"rubrics": {"service_team": rubric}, "reviewers_per_application": 5, "load_cap": 12,
              "bonus_policy": {"points": {"border": "2"}, "cap": "2"}}
    call = parse_call({**c2025.definition, "review": review})
    assert call.definition["review"] == review


def test_review_settings_naming_an_unknown_programme_or_a_bad_number_are_refused_with_their_paths(c2025):
    review = {"rubrics": {"no_such": {"criteria": []}, "service_team": "good"}, "reviewers_per_application": 0,
              "panel": 3}
    with pytest.raises(CallDefinitionInvalid) as e:
        parse_call({**c2025.definition, "review": review})
    paths = {p["path"]: p["code"] for p in e.value.details}
    assert paths == {"review.rubrics.no_such": "unknown_programme", "review.rubrics.service_team": "wrong_type",
                     "review.reviewers_per_application": "out_of_range", "review.panel": "unknown_key"}

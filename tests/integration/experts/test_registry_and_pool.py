"""The registry and the key-contact pool on real containers: import, quota, admission, ID secrecy, and the
recommendations that arrive from intake's and review's events."""
import base64
import io

import pytest
from openpyxl import load_workbook

from grassroots.errors import Conflict, Forbidden, ValidationFailed


def test_an_import_with_one_bad_row_reports_every_problem_and_writes_nothing(suite, kit):
    call = suite.open_call()
    rows = [kit.expert_row(1), kit.expert_row(2, id_number="150102197203151230"), kit.expert_row(3, mobile="12345"),
            kit.expert_row(4, id_number=kit.id_number(1))]  # row 5 repeats row 2's person
    with pytest.raises(ValidationFailed) as err:
        suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"], "content_base64": kit.b64(kit.xlsx(rows))})
    assert err.value.code == "import_invalid"
    found = {(p["row"], p["column"], p["code"]) for p in err.value.details}
    assert (3, "身份证号码", "id_number_bad_check_digit") in found
    assert (4, "手机", "invalid_mobile") in found
    assert (5, "身份证号码", "duplicate_in_file") in found
    assert suite.scalar("SELECT count(*) FROM expert") == 0
    assert suite.scalar("SELECT count(*) FROM recommendation") == 0

    done = suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"],
                                                          "content_base64": kit.b64(kit.xlsx([rows[0], kit.expert_row(6)]))})
    assert done["created"] == 2
    page = suite.experts(kit.OFFICER, "list_experts", {"pool_status": "recommended"})
    assert page["total"] == 2 and {e["league_city_code"] for e in page["items"]} == {"150100"}
    assert page["items"][0]["recommendations"][0]["source"] == "import"
    # the same person again in the same call is refused, whole sheet included
    with pytest.raises(ValidationFailed) as err:
        suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"],
                                                      "content_base64": kit.b64(kit.xlsx([kit.expert_row(9), rows[0]]))})
    assert [p["code"] for p in err.value.details] == ["already_recommended"]
    assert suite.scalar("SELECT count(*) FROM expert") == 2


def test_a_sheet_missing_a_required_column_is_refused_as_a_whole(suite, kit):
    call = suite.open_call()
    columns = [c for c in kit.IMPORT_COLUMNS if c[0] != "id_number"]
    with pytest.raises(ValidationFailed) as err:
        suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"],
                                                      "content_base64": kit.b64(kit.xlsx([kit.expert_row(1)], columns))})
    assert err.value.details == [{"row": 1, "column": "身份证号码", "code": "missing_column", "message": "缺少“身份证号码”列"}]


def test_the_league_city_quota_of_the_call_stops_the_eleventh_recommendation(suite, kit):
    call = suite.open_call()   # 2025: key_expert league_city {max: 10}
    ten = [kit.expert_row(i) for i in range(1, 11)]
    suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"], "content_base64": kit.b64(kit.xlsx(ten))})
    with pytest.raises(ValidationFailed) as err:
        suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"],
                                                      "content_base64": kit.b64(kit.xlsx([kit.expert_row(11)]))})
    assert err.value.details[0]["code"] == "recommendation_quota_exceeded"
    # another league/city has its own ten
    other = suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"], "content_base64": kit.b64(
        kit.xlsx([kit.expert_row(12, league_city_code="包头市")]))})
    assert other["created"] == 1
    # registering one by hand with a recommendation counts against the same quota
    with pytest.raises(Conflict) as err:
        suite.experts(kit.OFFICER, "register_expert", {
            "name": "张三", "gender": "male", "id_number": kit.id_number(13), "league_city_code": "150100",
            "unit_name": "内蒙古大学", "title": "教授", "title_level": "正高级", "specialty": "稀土材料",
            "recommendation": {"call_id": call["id"]}})
    assert err.value.code == "recommendation_quota_exceeded"


def test_admission_needs_associate_senior_title_or_a_recorded_exception_and_is_announced(suite, kit):
    call = suite.open_call()
    suite.experts(kit.OFFICER, "import_experts", {"call_id": call["id"], "content_base64": kit.b64(kit.xlsx(
        [kit.expert_row(1, title_level="中级"), kit.expert_row(2, title_level="副高级")]))})
    experts = {e["title_level"]: e for e in suite.experts(kit.OFFICER, "list_experts", {})["items"]}
    with pytest.raises(Conflict) as err:
        suite.experts(kit.OFFICER, "admit_expert", experts["中级"]["id"])
    assert err.value.code == "title_below_pool_minimum"
    with pytest.raises(Forbidden):
        suite.experts(kit.AUDITOR, "admit_expert", experts["副高级"]["id"])
    admitted = suite.experts(kit.OFFICER, "admit_expert", experts["中级"]["id"], "长期扎根基层的乡土专家")
    assert admitted["pool_status"] == "admitted" and admitted["pool_exception_reason"] == "长期扎根基层的乡土专家"
    assert suite.experts(kit.OFFICER, "admit_expert", experts["副高级"]["id"])["pool_status"] == "admitted"
    national = suite.experts(kit.OFFICER, "recommend_national", experts["副高级"]["id"])
    assert national["pool_status"] == "recommended_national"
    with pytest.raises(Conflict) as err:
        suite.experts(kit.OFFICER, "admit_expert", experts["副高级"]["id"])
    assert err.value.code == "invalid_transition"
    events = suite.events("expert_admitted_to_pool")
    assert len(events) == 2
    payload = events[0]["payload"]
    assert payload["expert"]["id"] == experts["中级"]["id"] and payload["expert"]["email"]
    assert payload["call"]["id"] == call["id"] and payload["call"]["contacts"][0]["phone"]
    assert payload["recipients"] == {"unit_contacts": [], "user_ids": []}


def test_a_resident_id_number_is_returned_in_full_to_admins_only_and_never_stored_in_clear(suite, kit):
    number = kit.id_number(77)
    e = suite.experts(kit.OFFICER, "register_expert", {
        "name": "李四", "gender": "male", "id_number": number, "league_city_code": "150200",
        "unit_name": "包头稀土研究院", "title": "正高级工程师", "title_level": "senior", "specialty": "稀土永磁材料"})
    assert "id_number" not in e and e["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert "id_number" not in suite.experts(kit.OFFICER, "get_expert", e["id"])
    assert "id_number" not in suite.experts(kit.AUDITOR, "get_expert", e["id"])
    assert all("id_number" not in x for x in suite.experts(kit.OFFICER, "search_experts", {"q": "稀土"})["items"])
    assert suite.experts(kit.ADMIN, "get_expert", e["id"])["id_number"] == number
    with suite.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT * FROM expert").mappings().one()
    assert number not in " ".join(str(v) for v in row.values())
    # the export shows the masked number
    out = suite.experts(kit.OFFICER, "export_pool", {"pool_status": "registered"})
    ws = load_workbook(io.BytesIO(base64.b64decode(out["content_base64"]))).active
    values = [c.value for c in ws[2]]
    assert e["id_number_masked"] in values and number not in values and ws["F1"].value == "身份证号码"
    with pytest.raises(Conflict) as err:   # one person, one expert
        suite.experts(kit.OFFICER, "register_expert", {
            "name": "李四", "gender": "male", "id_number": number.lower(), "league_city_code": "150200",
            "unit_name": "包头稀土研究院", "title": "教授", "title_level": "senior", "specialty": "稀土"})
    assert err.value.code == "expert_exists"


def test_an_expert_sees_and_edits_only_a_few_fields_of_their_own_profile(suite, kit):
    e = suite.experts(kit.OFFICER, "register_expert", {
        "name": "王五", "gender": "female", "id_number": kit.id_number(5), "league_city_code": "150400",
        "unit_name": "赤峰学院", "title": "教授", "title_level": "senior", "specialty": "蒙医药", "user_id": "u-expert-5"})
    other = suite.experts(kit.OFFICER, "register_expert", {
        "name": "赵六", "gender": "male", "id_number": kit.id_number(6), "league_city_code": "150400",
        "unit_name": "赤峰学院", "title": "教授", "title_level": "senior", "specialty": "中医"})
    me = {"id": "u-expert-5", "role": "expert", "username": "wangwu"}
    assert suite.experts(me, "my_profile")["id"] == e["id"]
    changed = suite.experts(me, "update_expert", e["id"], {"mobile": "13912345678", "tags": ["蒙医"],
                                                           "unavailable": [{"start": "2025-07-01", "end": "2025-07-10"}]})
    assert changed["mobile"] == "13912345678" and changed["tags"] == ["医疗卫生"]
    with pytest.raises(Forbidden) as err:
        suite.experts(me, "update_expert", e["id"], {"title_level": "正高级", "capacity": 9})
    assert err.value.code == "expert_fields_locked"
    with pytest.raises(Forbidden):
        suite.experts(me, "get_expert", other["id"])
    with pytest.raises(Forbidden):
        suite.experts(me, "list_experts", {})


def test_a_key_expert_application_recommends_its_expert_and_review_selection_admits_them(suite, kit):
    call = suite.open_call()
    unit = suite.unit()
    app = suite.submit(call, unit, "key_expert", kit.key_expert_form(31, title_level="intermediate"))
    suite.wait(lambda: suite.scalar("SELECT count(*) FROM recommendation WHERE application_id = :a", a=app["id"]))
    [e] = suite.experts(kit.OFFICER, "list_experts", {})["items"]
    assert e["pool_status"] == "recommended" and e["title_level"] == "中级"
    assert e["recommendations"][0]["unit_id"] == unit["id"] and e["recommendations"][0]["call_id"] == call["id"]

    payload = {"call": {"id": call["id"], "year": 2025, "title": call["title"], "doc_no": call["doc_no"]},
               "application": {"id": app["id"], "programme_code": "key_expert", "unit_id": unit["id"],
                               "form": kit.key_expert_form(31, title_level="intermediate")},
               "recipients": {"unit_contacts": [], "user_ids": []},
               "selection": {"key": "regional_pool", "label": "纳入自治区重点联系专家库"}, "rank": 1}
    first = suite.dispatch("review", "application_selected", payload)
    suite.wait(lambda: suite.handled(first))
    again = suite.dispatch("review", "application_selected", payload)   # a second delivery of the fact
    suite.wait(lambda: suite.handled(again))
    e = suite.experts(kit.OFFICER, "get_expert", e["id"])
    assert e["pool_status"] == "admitted" and "经评审遴选纳入" in e["pool_exception_reason"]
    assert len(suite.events("expert_admitted_to_pool")) == 1
    national = suite.dispatch("review", "application_recommended_to_ministry",
                              {**payload, "selection": {"key": "ministry_pool", "label": "推荐至人社部"}})
    suite.wait(lambda: suite.handled(national))
    assert suite.experts(kit.OFFICER, "get_expert", e["id"])["pool_status"] == "recommended_national"
    # another programme's selection is not the pool's business
    other = suite.dispatch("review", "application_selected", {**payload, "application": {
        **payload["application"], "id": "x" * 32, "programme_code": "service_team"}})
    suite.wait(lambda: suite.handled(other))
    assert suite.experts(kit.OFFICER, "list_experts", {})["total"] == 1

"""Calls as data, the unit registry and who acts for which unit, the officers' views (lists, quota usage,
the 申报汇总表), and the standing per unit that notify asks for."""
import copy
import io

import pytest
from openpyxl import load_workbook

from grassroots.errors import DomainError
from intake.domain.calls import load_bundled_call
from intake.domain.export import HEADERS


@pytest.mark.parametrize("year", [2023, 2025])
def test_the_bundled_calls_load_through_the_service_with_every_programme(intake, kit, year):
    call = intake.call(kit.OFFICER, "create_call", {"template": year})
    got = intake.call(kit.OFFICER, "get_call", call["id"])
    expected = load_bundled_call(year)
    assert (got["year"], got["doc_no"], got["status"]) == (year, expected.doc_no, "draft")
    assert [p["code"] for p in got["definition"]["programmes"]] == [p.code for p in expected.programmes]
    assert got["deadline"] == expected.deadline_utc.isoformat()
    assert call["id"] in [c["id"] for c in intake.call(kit.OFFICER, "list_calls")]


def test_an_officer_edits_a_call_until_it_opens_and_not_after(intake, kit):
    call = intake.call(kit.OFFICER, "create_call", {"template": 2025})
    edited = intake.call(kit.OFFICER, "update_call", call["id"],
                         {"template": 2025, "deadline": "2025-01-31T17:00:00", "title": "2025年通知（修订）"})
    assert edited["title"] == "2025年通知（修订）" and edited["deadline"] == "2025-01-31T09:00:00+00:00"
    intake.call(kit.OFFICER, "open_call", call["id"])
    with pytest.raises(DomainError) as exc:
        intake.call(kit.OFFICER, "update_call", call["id"], {"template": 2025})
    assert exc.value.code == "call_already_open"
    [event] = intake.events("call_opened")
    assert event["payload"]["call"]["deadline"] == "2025-01-31T09:00:00+00:00"
    assert {p["code"] for p in event["payload"]["programmes"]} >= {"service_team", "chizi", "postdoc_hosting"}


def test_a_call_definition_with_errors_is_refused_with_every_problem_and_its_path(intake, web, kit):
    definition = copy.deepcopy(load_bundled_call(2025).definition)
    definition["programmes"][0]["quotas"]["castle"] = {"max": 1}
    definition["programmes"][4]["form"]["fields"][0]["type"] = "hologram"
    officer = web.client("programme_officer")
    r = officer.request("POST", "/api/v1/calls", definition)
    assert r.status_code == 422 and r.json()["code"] == "call_definition_invalid"
    paths = {p["path"] for p in r.json()["details"]}
    assert {"programmes[0].quotas.castle", "programmes[4].form.fields[0].type"} <= paths


def test_only_officers_create_calls_and_units(intake, web):
    unit = intake.unit()
    client = web.client("applicant_unit", unit["id"])
    assert client.request("POST", "/api/v1/calls", {"template": 2025}).status_code == 403
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "create_call", {"template": 2025})
    assert exc.value.code == "forbidden_role"


def test_a_unit_with_a_wrong_credit_code_check_character_or_region_is_refused_with_paths(intake, kit):
    good = kit.uscc(77)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(DomainError) as exc:
        intake.call(kit.OFFICER, "create_unit", {"name": "某单位", "kind": "league_city",
                                                 "league_city_code": "110000", "uscc": wrong})
    assert exc.value.status == 422 and {p["path"] for p in exc.value.details} == {"uscc", "league_city_code"}
    ok = intake.call(kit.OFFICER, "create_unit", {"name": "满洲里市人力资源和社会保障局", "kind": "league_city",
                                                  "league_city_code": "150781", "uscc": good})
    assert ok["league_city_code"] == "150781"


def test_a_unit_user_acts_for_its_own_unit_only(intake, kit):
    call = intake.open_call(2025)
    mine, other = intake.unit(), intake.unit(league_city_code="150200")
    me = mine["user"]
    assert intake.call(me, "get_unit", mine["id"])["id"] == mine["id"]
    with pytest.raises(DomainError) as exc:
        intake.call(me, "get_unit", other["id"])
    assert exc.value.code == "not_your_unit"
    updated = intake.call(me, "update_unit", mine["id"], {"contacts": [{"name": "李华", "mobile": "13900000001"}]})
    assert updated["contacts"][0]["name"] == "李华"
    with pytest.raises(DomainError) as exc:
        intake.call(me, "update_unit", mine["id"], {"name": "改名"})
    assert exc.value.code == "unit_fields_locked"
    with pytest.raises(DomainError) as exc:
        intake.call(me, "update_unit", other["id"], {"contacts": []})
    assert exc.value.code == "not_your_unit"
    theirs = intake.draft(call, other, "service_team")
    for method, args in (("get_application", ()), ("update_application", ({"title": "x"},)),
                         ("submit_application", ()), ("withdraw_application", ("",))):
        with pytest.raises(DomainError) as exc:
            intake.call(me, method, theirs["id"], *args)
        assert exc.value.code == "not_your_unit", method
    intake.draft(call, mine, "service_team")
    assert {a["unit_id"] for a in intake.call(me, "list_applications", {"unit_id": other["id"]})} <= {mine["id"]}
    assert {a["unit_id"] for a in intake.call(me, "list_applications", {})} == {mine["id"]}


def test_a_unit_applies_for_the_unit_on_its_account_and_only_to_programmes_its_kind_may(intake, kit):
    call = intake.open_call(2025)
    park = intake.unit("returnee_park")
    app = intake.draft(call, park, "chizi")
    assert app["unit_id"] == park["id"]
    with pytest.raises(DomainError) as exc:
        intake.draft(call, park, "service_team")
    assert exc.value.code == "unit_kind_not_eligible"


def test_the_clerk_logs_receipt_of_the_paper_copies_and_units_cannot(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit()
    app = intake.ready(call, unit, "key_expert")
    intake.call(unit["user"], "submit_application", app["id"])
    with pytest.raises(DomainError):
        intake.call(unit["user"], "receive_application", app["id"], "")
    got = intake.call(kit.CLERK, "receive_application", app["id"], "两份纸质材料及推荐公函已收到")
    assert got["status"] == "received"
    [event] = intake.events("application_received")
    assert event["payload"]["note"] == "两份纸质材料及推荐公函已收到"


# officer views -----------------------------------------------------------------------------------------
@pytest.fixture
def populated(intake):
    call = intake.open_call(2025)
    hohhot, baotou = intake.unit(league_city_code="150100"), intake.unit(league_city_code="150200")
    park = intake.unit("returnee_park", "150200")
    apps = {}
    for name, unit, prog in (("h1", hohhot, "service_team"), ("h2", hohhot, "service_team"),
                             ("b1", baotou, "key_expert"), ("p1", park, "chizi"), ("p2", park, "chizi")):
        apps[name] = intake.ready(call, unit, prog)
    for name, unit in (("h1", hohhot), ("b1", baotou), ("p1", park), ("p2", park)):
        intake.call(unit["user"], "submit_application", apps[name]["id"])
    return call, {"hohhot": hohhot, "baotou": baotou, "park": park}, apps


def test_officers_filter_applications_by_call_programme_unit_league_city_and_status_page_by_page(
        intake, web, populated):
    call, units, apps = populated
    officer = web.client("programme_officer")
    q = f"/api/v1/applications"
    everything = officer.ok("GET", q, call_id=call["id"])
    assert everything["total"] == 5 and len(everything["items"]) == 5
    baotou = officer.ok("GET", q, call_id=call["id"], league_city_code="150200")
    assert {a["id"] for a in baotou["items"]} == {apps[k]["id"] for k in ("b1", "p1", "p2")}
    drafts = officer.ok("GET", q, call_id=call["id"], status="draft")
    assert [a["id"] for a in drafts["items"]] == [apps["h2"]["id"]]
    chizi = officer.ok("GET", q, call_id=call["id"], programme_code="chizi", unit_id=units["park"]["id"])
    assert chizi["total"] == 2 and {a["unit_name"] for a in chizi["items"]} == {units["park"]["name"]}
    page1 = officer.ok("GET", q, call_id=call["id"], limit="2", offset="0")
    page3 = officer.ok("GET", q, call_id=call["id"], limit="2", offset="4")
    assert (len(page1["items"]), len(page3["items"]), page3["total"]) == (2, 1, 5)
    unit_view = web.client("applicant_unit", units["park"]["id"]).ok("GET", q, call_id=call["id"])
    assert unit_view["total"] == 2


def test_quota_usage_counts_submitted_and_received_applications_per_unit(intake, web, populated):
    call, units, _ = populated
    rows = web.client("intake_clerk").ok("GET", f"/api/v1/calls/{call['id']}/quota-usage")
    by_unit = {r["unit"]["id"]: {p["programme"]: p for p in r["programmes"]} for r in rows}
    team = by_unit[units["hohhot"]["id"]]["service_team"]
    assert (team["max"], team["used"], team["remaining"]) == (2, 1, 1)
    park = by_unit[units["park"]["id"]]["chizi"]
    assert (park["max"], park["used"], park["remaining"]) == (None, 2, None)
    own = web.client("applicant_unit", units["baotou"]["id"]).ok("GET", f"/api/v1/calls/{call['id']}/quota-usage")
    assert [r["unit"]["id"] for r in own] == [units["baotou"]["id"]]


def test_the_summary_table_of_a_call_is_an_xlsx_with_chinese_headers_and_one_row_per_submission(
        intake, web, populated):
    call, units, apps = populated
    r = web.client("programme_officer").request("GET", f"/api/v1/calls/{call['id']}/export.xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r.headers["Content-Disposition"] and ".xlsx" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert len(rows) == 1 + 4                                      # the draft is not a submission
    assert {row[3] for row in rows[1:]} == {units["hohhot"]["name"], units["baotou"]["name"], units["park"]["name"]}
    assert web.client("applicant_unit", units["park"]["id"]).request(
        "GET", f"/api/v1/calls/{call['id']}/export.xlsx").status_code == 403


def test_unit_standing_gives_notify_drafts_and_quota_per_unit_for_the_system_and_officers_only(
        intake, kit, populated):
    call, units, apps = populated
    rows = {r["unit"]["id"]: r for r in intake.call(kit.SYSTEM, "unit_standing", call["id"])}
    hohhot = rows[units["hohhot"]["id"]]
    assert hohhot["drafts"] == 1 and hohhot["drafts_by_programme"] == {"service_team": 1}
    team = next(p for p in hohhot["programmes"] if p["programme"] == "service_team")
    assert (team["used"], team["remaining"]) == (1, 1)
    assert hohhot["unit"]["contacts"]
    assert rows[units["park"]["id"]]["drafts"] == 0
    assert intake.call(kit.OFFICER, "unit_standing", call["id"])
    for who in (units["park"]["user"], kit.CLERK):
        with pytest.raises(DomainError) as exc:
            intake.call(who, "unit_standing", call["id"])
        assert exc.value.code == "forbidden_role"


def test_a_second_call_with_the_same_year_and_document_number_is_refused(intake, kit):
    intake.call(kit.OFFICER, "create_call", {"template": 2025})
    with pytest.raises(DomainError) as exc:
        intake.call(kit.OFFICER, "create_call", {"template": 2025})
    assert exc.value.code == "call_exists" and exc.value.status == 409
    other = intake.call(kit.OFFICER, "create_call", {"template": 2025, "doc_no": "内人社办发〔2025〕6号"})
    assert other["doc_no"] == "内人社办发〔2025〕6号"

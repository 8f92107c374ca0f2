"""Through the gateway over HTTP: a recommended expert is imported, admitted, matched to a postdoc hosting
demand that arrived by event, and the match confirmed; the expert then sees it in their own profile."""
import io

from openpyxl import load_workbook


def test_import_admit_match_a_postdoc_demand_from_an_event_and_confirm_through_http(suite, kit, web):
    call = suite.open_call()
    unit = suite.unit()
    officer = web.client("programme_officer")
    expert_user = web.client("expert")
    demands = [{"title": f"乳制品加工工艺改进{i}", "demand_unit": f"乳企{i}", "field": "食品加工",
                "description": "奶酪发酵工艺与乳制品质量控制需要专家现场指导。"} for i in range(10)]
    app = suite.submit(call, unit, "postdoc_hosting", kit.postdoc_form(unit["name"], demands, venue="150100"))

    sheet = kit.xlsx([kit.expert_row(1, specialty="乳制品加工 奶酪 发酵工艺", tags="食品加工", league_city_code="包头市"),
                      kit.expert_row(2, specialty="光伏发电", tags="新能源", title_level="中级")])
    bad = officer.request("POST", "/api/v1/experts/import", {"call_id": call["id"], "content_base64": "not base64!"})
    assert bad.status_code == 422 and bad.json()["code"] == "import_not_base64"
    imported = officer.ok("POST", "/api/v1/experts/import", {"call_id": call["id"], "content_base64": kit.b64(sheet),
                                                             "unit_name": "包头市人社局"})
    assert imported["created"] == 2
    found = officer.ok("GET", "/api/v1/experts/search", q="奶酪 乳制品")
    assert found["total"] == 1 and found["items"][0]["score"] > 0 and "id_number" not in found["items"][0]
    dairy = found["items"][0]
    officer.ok("PATCH", f"/api/v1/experts/{dairy['id']}", {"user_id": expert_user.user_id})
    refused = officer.request("POST", f"/api/v1/experts/{imported['experts'][1]['id']}/admit", {})
    assert refused.status_code == 409 and refused.json()["code"] == "title_below_pool_minimum"
    admitted = officer.ok("POST", f"/api/v1/experts/{dairy['id']}/admit", {})
    assert admitted["pool_status"] == "admitted"

    suite.wait(lambda: officer.ok("GET", "/api/v1/demands", source_application_id=app["id"])["total"] == 10)
    listed = officer.ok("GET", "/api/v1/demands", source_application_id=app["id"])["items"]
    proposal = officer.ok("POST", "/api/v1/match-proposals", {"demand_ids": [listed[0]["id"], listed[1]["id"]]})
    assert [i["expert_id"] for i in proposal["items"]] == [dairy["id"], dairy["id"]]
    assert "奶酪" in proposal["items"][0]["explanation"]["matched_terms"]
    assert proposal["items"][0]["explanation"]["region_relation"] == "neighbour"   # 包头 borders 呼和浩特
    confirmed = officer.ok("POST", f"/api/v1/match-proposals/{proposal['id']}/confirm", {})
    assert {i["status"] for i in confirmed["items"]} == {"confirmed"}
    assert len(suite.events("expert_matched")) == 2

    mine = expert_user.ok("GET", "/api/v1/matches")
    assert len(mine) == 2 and {m["status"] for m in mine} == {"confirmed"}
    me = expert_user.ok("GET", "/api/v1/experts/me")
    assert me["id"] == dairy["id"] and "id_number" not in me
    history = expert_user.ok("GET", f"/api/v1/experts/{dairy['id']}/history")
    assert len(history) == 2
    officer.ok("POST", f"/api/v1/history/{history[0]['id']}/feedback", {"feedback": "服务认真，效果好", "rating": 5})
    assert expert_user.request("PATCH", "/api/v1/experts/me", {"title_level": "正高级"}).status_code == 422
    assert expert_user.ok("PATCH", "/api/v1/experts/me", {"mobile": "13900001111"})["mobile"] == "13900001111"
    assert expert_user.request("GET", "/api/v1/experts").status_code == 403

    export = officer.request("GET", "/api/v1/experts/pool/export.xlsx")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(export.content)).active
    assert ws["B2"].value == dairy["name"] and ws["F2"].value == dairy["id_number_masked"]
    spec = officer.ok("GET", "/api/v1/openapi.json")
    assert "/api/v1/match-proposals/{proposal_id}/items/{item_id}/swap" in spec["paths"]

"""Demands and matching on real containers: postdoc demands by event, proposals that never break a conflict
or a load cap, confirm / swap / reject, and the reviewer supply contract review depends on."""
import pytest

from grassroots.errors import Conflict, Forbidden

DEMANDS = [
    {"title": "肉羊布病防控技术指导", "demand_unit": "武川县农牧局", "field": "畜牧兽医",
     "description": "基层兽医对布病防控规程掌握不足，需要专家现场培训与指导。"},
    {"title": "奶牛疫病防控", "demand_unit": "和林格尔县奶业合作社", "field": "畜牧兽医",
     "description": "奶牛口蹄疫免疫程序与疫病防控需要专家指导。"},
    *[{"title": f"光伏发电运维需求{i}", "demand_unit": f"新能源企业{i}", "field": "新能源",
       "description": "光伏电站运维与储能系统调试。"} for i in range(8)],
]


def pool_expert(suite, kit, seq, specialty, unit_name="内蒙古农业大学", region="150100", capacity=3, user_id=None,
                level="正高级"):
    e = suite.experts(kit.OFFICER, "register_expert", {
        "name": f"专家{seq}", "gender": "male", "id_number": kit.id_number(seq), "league_city_code": region,
        "unit_name": unit_name, "title": "教授", "title_level": level, "specialty": specialty, "willing": True,
        "healthy": True, "capacity": capacity, "email": f"x{seq}@example.cn",
        **({"user_id": user_id} if user_id else {})})
    suite.experts(kit.OFFICER, "recommend_expert", e["id"], {"call_id": suite.call["id"], "unit_name": "推荐单位"})
    return suite.experts(kit.OFFICER, "admit_expert", e["id"])


@pytest.fixture
def postdoc(suite, kit):
    suite.call = suite.open_call()
    unit = suite.unit()
    app = suite.submit(suite.call, unit, "postdoc_hosting", kit.postdoc_form(unit["name"], DEMANDS))
    suite.wait(lambda: suite.scalar("SELECT count(*) FROM demand WHERE source_application_id = :a", a=app["id"]) == 10)
    return {"unit": unit, "application": app}


def test_a_postdoc_hosting_application_brings_its_demands_and_withdrawing_it_cancels_them(suite, kit, postdoc):
    page = suite.experts(kit.OFFICER, "list_demands", {"source_application_id": postdoc["application"]["id"]})
    assert page["total"] == 10
    first = page["items"][0]
    assert (first["title"], first["demand_unit"], first["field"]) == ("肉羊布病防控技术指导", "武川县农牧局", "畜牧兽医")
    assert (first["league_city_code"], first["place"], first["start"], first["end"]) == \
        ("150100", "呼和浩特市", "2025-08-12", "2025-08-14")
    assert first["tags"] == ["畜牧兽医"] and first["status"] == "open"
    # the unit sees its own demands, another unit none
    assert suite.experts(postdoc["unit"]["user"], "list_demands", {})["total"] == 10
    stranger = {"id": "u-x", "role": "applicant_unit", "unit_id": "another-unit"}
    assert suite.experts(stranger, "list_demands", {})["total"] == 0
    with pytest.raises(Forbidden):
        suite.experts(stranger, "get_demand", first["id"])

    suite.intake(postdoc["unit"]["user"], "withdraw_application", postdoc["application"]["id"], "改期")
    suite.wait(lambda: suite.scalar("SELECT count(*) FROM demand WHERE status = 'cancelled'") == 10)


def test_matching_fills_what_it_can_never_breaks_a_conflict_or_a_load_cap_and_says_why_the_rest_is_unmet(
        suite, kit, postdoc):
    vet = pool_expert(suite, kit, 1, "畜牧兽医 布病 口蹄疫 疫病防控", capacity=1)
    vet2 = pool_expert(suite, kit, 2, "奶牛 疫病防控 兽医", unit_name="和林格尔县奶业合作社")   # the 2nd demand's own unit
    vet3 = pool_expert(suite, kit, 3, "肉羊 布病 兽医", capacity=2)
    solar = pool_expert(suite, kit, 4, "光伏发电 储能系统 运维", capacity=3)
    suite.experts(kit.OFFICER, "declare_conflict", vet3["id"], None, "曾在该需求单位任职",
                  suite.experts(kit.OFFICER, "list_demands", {})["items"][0]["id"])
    demands = suite.experts(kit.OFFICER, "list_demands", {})["items"]
    proposal = suite.experts(kit.OFFICER, "propose_matches", {"demand_ids": [d["id"] for d in demands]})
    pairs = {(i["demand_id"], i["expert_id"]) for i in proposal["items"]}
    by_expert = {}
    for d, e in pairs:
        by_expert[e] = by_expert.get(e, 0) + 1
    assert by_expert.get(vet["id"], 0) <= 1 and by_expert.get(vet3["id"], 0) <= 2 and by_expert.get(solar["id"], 0) <= 3
    assert (demands[0]["id"], vet3["id"]) not in pairs          # declared conflict with that demand
    assert (demands[1]["id"], vet2["id"]) not in pairs          # own unit
    assert proposal["slots_filled"] == len(proposal["items"]) == 2 + 3
    unmet = {u["demand_id"]: u for u in proposal["unmet"]}
    assert len(unmet) == 5 and all(u["reason"] == "candidates_at_load_cap" for u in unmet.values())
    item = proposal["items"][0]
    assert item["explanation"]["matched_terms"] and item["explanation"]["summary"]

    confirmed = suite.experts(kit.OFFICER, "confirm_matches", proposal["id"])
    assert {i["status"] for i in confirmed["items"]} == {"confirmed"}
    events = suite.events("expert_matched")
    assert len(events) == 5
    p = events[0]["payload"]
    assert p["demand"]["dates"] == {"start": "2025-08-12", "end": "2025-08-14"} and p["demand"]["place"] == "呼和浩特市"
    assert p["call"]["id"] == suite.call["id"] and p["application"]["id"] == postdoc["application"]["id"]
    assert p["recipients"]["unit_contacts"][0]["name"] == "王敏"
    history = suite.experts(kit.OFFICER, "service_history", solar["id"])
    assert len(history) == 3 and history[0]["source"] == "match"
    # a second run: every expert is at their cap (or busy on those dates), so nothing more is proposed
    again = suite.experts(kit.OFFICER, "propose_matches", {"demand_ids": [d["id"] for d in demands]})
    assert all(i["expert_id"] != solar["id"] for i in again["items"])
    assert all(i["expert_id"] != vet["id"] for i in again["items"])


def test_an_officer_rejects_and_swaps_items_and_a_swap_in_is_checked_like_a_match(suite, kit, postdoc):
    a = pool_expert(suite, kit, 11, "畜牧兽医 布病 疫病防控")
    b = pool_expert(suite, kit, 12, "兽医 肉羊养殖")
    c = pool_expert(suite, kit, 13, "兽医 奶牛", capacity=0)
    d0 = suite.experts(kit.OFFICER, "list_demands", {})["items"][0]
    proposal = suite.experts(kit.OFFICER, "propose_matches", {"demand_ids": [d0["id"]]})
    [item] = proposal["items"]
    assert item["expert_id"] == a["id"]            # the best fit for one slot
    with pytest.raises(Conflict) as err:
        suite.experts(kit.OFFICER, "swap_match", proposal["id"], item["id"], c["id"])
    assert err.value.code == "at_load_cap"
    suite.experts(kit.OFFICER, "update_expert", b["id"], {"unavailable": [{"start": "2025-08-14", "end": "2025-08-20"}]})
    with pytest.raises(Conflict) as err:
        suite.experts(kit.OFFICER, "swap_match", proposal["id"], item["id"], b["id"])
    assert err.value.code == "expert_unavailable"
    suite.experts(kit.OFFICER, "update_expert", b["id"], {"unavailable": []})
    swapped = suite.experts(kit.OFFICER, "swap_match", proposal["id"], item["id"], b["id"], "专家本人时间冲突", True)
    status = {i["expert_id"]: i["status"] for i in swapped["items"]}
    assert status == {a["id"]: "replaced", b["id"]: "confirmed"}
    assert suite.experts(kit.OFFICER, "get_demand", d0["id"])["experts_confirmed"] == 1
    # the demand is full: another proposal for it proposes nobody, and a's pair is not proposed again
    second = suite.experts(kit.OFFICER, "propose_matches", {"demand_ids": [d0["id"]]})
    assert second["items"] == [] and second["slots_wanted"] == 0
    d1 = suite.experts(kit.OFFICER, "list_demands", {})["items"][1]
    third = suite.experts(kit.OFFICER, "propose_matches", {"demand_ids": [d1["id"]]})
    rejected = suite.experts(kit.OFFICER, "reject_match", third["id"], third["items"][0]["id"], "不合适")
    assert rejected["items"][0]["status"] == "rejected"
    with pytest.raises(Conflict):
        suite.experts(kit.OFFICER, "confirm_matches", third["id"], [third["items"][0]["id"]])
    fourth = suite.experts(kit.OFFICER, "propose_matches", {"demand_ids": [d1["id"]]})
    assert third["items"][0]["expert_id"] not in {i["expert_id"] for i in fourth["items"]}


def test_propose_reviewers_keeps_its_contract_and_its_rules(suite, kit):
    suite.call = suite.open_call()
    r1 = pool_expert(suite, kit, 21, "草原生态 修复 荒漠化", region="150200", user_id="u-r1")
    r2 = pool_expert(suite, kit, 22, "草原生态 退化草原", region="150400", user_id="u-r2", level="副高级")
    r3 = pool_expert(suite, kit, 23, "草原生态", region="150100", user_id="u-r3")          # applicant's region
    pool_expert(suite, kit, 24, "草原生态 修复", region="150600")                           # no login: never
    r5 = pool_expert(suite, kit, 25, "草原生态 修复", region="150500", user_id="u-r5")
    suite.experts(kit.OFFICER, "declare_conflict", r5["id"], "unit-a", "曾在申报单位任职")
    apps = [{"id": "app-1", "unit_id": "unit-a", "league_city_code": "150100", "text": "草原生态修复示范",
             "tags": ["草原生态"]},
            {"id": "app-2", "unit_id": "unit-b", "league_city_code": "150300", "text": "稀土永磁材料", "wanted": 1}]
    out = suite.experts(kit.SYSTEM, "propose_reviewers", apps, 3, [[r2["id"], "app-1"]], {r1["id"]: 0})
    assert set(out) == {"matches", "unmet"}
    [m] = out["matches"]
    assert m["application_id"] == "app-1" and m["expert_id"] == r1["id"]
    assert set(m) == {"application_id", "expert_id", "fit", "explanation", "reviewer"}
    assert m["reviewer"]["user_id"] == "u-r1" and m["reviewer"]["league_city_code"] == "150200"
    assert {"expert_id", "user_id", "name", "unit_id", "league_city_code", "email", "mobile"} <= set(m["reviewer"])
    unmet = {u["application_id"]: u for u in out["unmet"]}
    assert unmet["app-1"]["missing"] == 2 and unmet["app-2"] == {
        "application_id": "app-2", "missing": 1, "reason": "no_specialty_match", "message": unmet["app-2"]["message"]}
    assert r3["id"] not in {x["expert_id"] for x in out["matches"]}
    # the round's own cap (lower than the reviewer's capacity) keeps them out too
    round_capped = suite.experts(kit.OFFICER, "propose_reviewers", apps[:1], 1, [[r2["id"], "app-1"]],
                                 {r1["id"]: 1}, 1)
    assert round_capped["matches"] == [] and round_capped["unmet"][0]["reason"] == "candidates_at_load_cap"
    # loads at the reviewer's cap keep them out
    suite.experts(kit.OFFICER, "update_expert", r1["id"], {"review_capacity": 2})
    capped = suite.experts(kit.OFFICER, "propose_reviewers", apps[:1], 1, [[r2["id"], "app-1"]], {r1["id"]: 2})
    assert capped["matches"] == [] and capped["unmet"][0]["reason"] == "candidates_at_load_cap"
    with pytest.raises(Forbidden):
        suite.experts(kit.AUDITOR, "propose_reviewers", apps, 3)

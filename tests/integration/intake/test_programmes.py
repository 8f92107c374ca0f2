"""Every programme of the 2025 call, end to end through the gateway: drafted, completed with documents and
submitted; the form's checks reach the HTTP client as 422 with every problem's path."""
import pytest

PROGRAMMES = [("service_team", "league_city"), ("national_base", "regional_base"), ("regional_base", "league_city"),
              ("key_expert", "league_city"), ("chizi", "returnee_park"), ("postdoc_hosting", "league_city")]


@pytest.mark.parametrize("programme,kind", PROGRAMMES)
def test_an_application_of_each_2025_programme_is_drafted_completed_and_submitted_through_the_gateway(
        intake, web, forms, programme, kind):
    call = intake.open_call(2025)
    unit = intake.unit(kind)
    client = web.client("applicant_unit", unit["id"])
    app = client.ok("POST", "/api/v1/applications", {"call_id": call["id"], "programme_code": programme,
                                                     "form": forms(programme, unit["name"])})
    assert app["status"] == "draft"
    definition = client.ok("GET", f"/api/v1/calls/{call['id']}")["definition"]
    prog = next(p for p in definition["programmes"] if p["code"] == programme)
    required = [a["kind"] for a in prog["attachments"] if a.get("required", True)]
    for kind_ in required:
        doc = client.upload(f"/api/v1/applications/{app['id']}/documents", kind_)
        assert doc["status"] == "stored"
    submitted = client.ok("POST", f"/api/v1/applications/{app['id']}/submit")
    assert submitted["status"] == "submitted"
    assert sorted(d["kind"] for d in submitted["documents"]) == sorted(required)
    [event] = intake.events("application_submitted")
    assert event["payload"]["application"]["id"] == app["id"]
    assert event["payload"]["application"]["programme_code"] == programme


def test_submitting_an_incomplete_form_answers_422_with_every_problem_and_its_path(intake, web, forms):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    client = web.client("applicant_unit", unit["id"])
    form = forms("postdoc_hosting", unit["name"])
    form["demands"] = form["demands"][:9]                       # fewer than the 10-15 demands
    del form["hosting_reasons"]                                  # required
    form["held_period"] = {"start": "2025-08-12", "end": "2025-08-16"}   # five days on site: 2-4 allowed
    app = client.ok("POST", "/api/v1/applications", {"call_id": call["id"], "programme_code": "postdoc_hosting",
                                                     "form": form})
    client.upload(f"/api/v1/applications/{app['id']}/documents", "stamped_form_scan")
    r = client.request("POST", f"/api/v1/applications/{app['id']}/submit")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "form_invalid"
    codes = {(p["path"], p["code"]) for p in body["details"]}
    assert {("demands", "too_few_items"), ("hosting_reasons", "required"), ("held_period", "days_out_of_range"),
            ("activity_days", "days_mismatch")} <= codes, codes
    assert intake.status_of(app["id"]) == "draft"


def test_wrong_phone_mobile_and_email_formats_answer_422_with_their_paths(intake, web, forms):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    client = web.client("applicant_unit", unit["id"])
    app = client.ok("POST", "/api/v1/applications", {"call_id": call["id"], "programme_code": "postdoc_hosting",
                                                     "form": forms("postdoc_hosting", unit["name"])})
    form = dict(app["form"], mobile="1380047123", email="hr-demo@example", landline="6601234")
    r = client.request("PATCH", f"/api/v1/applications/{app['id']}", {"form": form})
    assert r.status_code == 422
    assert {(p["path"], p["code"]) for p in r.json()["details"]} == {
        ("mobile", "invalid_mobile"), ("email", "invalid_email"), ("landline", "invalid_phone")}


def test_a_draft_may_be_incomplete_but_not_wrong(intake, web):
    call = intake.open_call(2025)
    unit = intake.unit("returnee_park")
    client = web.client("applicant_unit", unit["id"])
    partial = client.request("POST", "/api/v1/applications", {"call_id": call["id"], "programme_code": "chizi",
                                                               "form": {"activity_name": "赤子行"}})
    assert partial.status_code == 201
    wrong = client.request("POST", "/api/v1/applications", {
        "call_id": call["id"], "programme_code": "chizi",
        "form": {"total_budget": 1200.5, "interbank_code": "10219100001", "account_no": "62-22",
                 "activity_forms": ["other"], "returnee_count": "many"}})
    assert wrong.status_code == 422
    paths = {p["path"] for p in wrong.json()["details"]}
    assert {"total_budget", "interbank_code", "account_no", "activity_forms_other", "returnee_count"} <= paths


def test_money_is_kept_as_the_exact_decimal_string_it_was_given(intake, forms):
    call = intake.open_call(2025)
    unit = intake.unit("returnee_park")
    form = forms("chizi", unit["name"])
    form["total_budget"] = "300000.10"
    app = intake.draft(call, unit, "chizi", form)
    assert intake.call(unit["user"], "get_application", app["id"])["form"]["total_budget"] == "300000.10"
    form["total_budget"] = "300000.105"
    with pytest.raises(Exception) as exc:
        intake.call(unit["user"], "update_application", app["id"], {"form": form})
    assert exc.value.code == "form_invalid" and exc.value.details[0]["path"] == "total_budget"


def test_a_service_period_over_the_spring_festival_has_too_few_working_days(intake, forms):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    form = forms("service_team", unit["name"])
    # 2025-01-28 .. 2025-02-04 is the Spring Festival holiday: no working day at all
    form["service_period"] = {"start": "2025-01-28", "end": "2025-02-04"}
    app = intake.draft(call, unit, "service_team", form)
    intake.complete(unit, app)
    with pytest.raises(Exception) as exc:
        intake.call(unit["user"], "submit_application", app["id"])
    assert exc.value.status == 422
    assert [p["code"] for p in exc.value.details] == ["too_few_working_days"]


def test_a_submission_without_the_required_documents_is_refused_naming_each(intake, forms):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.draft(call, unit, "service_team")
    intake.upload(unit, app["id"], "stamped_form_scan")
    with pytest.raises(Exception) as exc:
        intake.call(unit["user"], "submit_application", app["id"])
    assert exc.value.code == "documents_missing"
    assert [p["path"] for p in exc.value.details] == ["recommendation_letter"]
    assert intake.status_of(app["id"]) == "draft"


def test_a_submission_answers_and_announces_the_application_as_it_is_then_stored(intake):
    """The submission reads its rows without the ORM and leaves the call's definition out of the read; a
    process that has not parsed the call yet (just started, or the call was opened through another replica)
    reads the definition then. What it answers is what a read of the application gives afterwards, and its
    event carries the call's contacts, which come from the definition."""
    from intake import rules
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "service_team")
    rules._OPEN_CALLS.clear()
    rules._parse_cached.cache_clear()
    submitted = intake.call(unit["user"], "submit_application", app["id"])
    assert call["id"] in rules._OPEN_CALLS                      # parsed once, kept for the next submission
    stored = intake.call(unit["user"], "get_application", app["id"])
    assert submitted == stored
    assert submitted["status"] == "submitted" and submitted["report_due_on"] and submitted["documents"]
    [event] = intake.events("application_submitted")
    sent = event["payload"]
    assert sent["application"]["id"] == app["id"] and sent["application"]["unit_name"] == unit["name"]
    assert sent["application"]["submitted_at"] == stored["submitted_at"]
    assert sent["call"]["id"] == call["id"] and sent["call"]["contacts"]
    assert sent["recipients"]["unit_contacts"] == intake.call(unit["user"], "get_unit", unit["id"])["contacts"]

"""Documents (versions, who may download, per-kind counts, type by content) and post-activity reports
(form, photos with captions, due dates, late and overdue, the report_filed / report_overdue events)."""
import copy
import uuid

import pytest
import requests

from grassroots.errors import DomainError


def test_a_reupload_supersedes_the_previous_version_which_stays_downloadable_by_officers_only(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.draft(call, unit, "service_team")
    v1 = intake.upload(unit, app["id"], "stamped_form_scan", kit.PDF + b"% v1\n")
    v2 = intake.upload(unit, app["id"], "stamped_form_scan", kit.PDF + b"% v2\n")
    docs = {d["id"]: d for d in intake.call(unit["user"], "get_application", app["id"])["documents"]}
    assert (docs[v1["id"]]["status"], docs[v2["id"]]["status"]) == ("superseded", "stored")
    assert docs[v2["id"]]["replaces_id"] == v1["id"]
    url = intake.call(unit["user"], "document_download", v2["id"])["url"]
    assert requests.get(url, timeout=10).content == kit.PDF + b"% v2\n"
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "document_download", v1["id"])
    assert exc.value.status == 403
    old = intake.call(kit.OFFICER, "document_download", v1["id"])["url"]
    assert requests.get(old, timeout=10).content == kit.PDF + b"% v1\n"
    assert [e["payload"]["document"]["id"] for e in intake.events("document_stored")] == [v1["id"], v2["id"]]


def test_a_unit_cannot_see_or_download_another_units_documents_through_the_gateway(intake, web, kit):
    call = intake.open_call(2025)
    mine, theirs = intake.unit("league_city"), intake.unit("league_city", "150200")
    app = intake.draft(call, theirs, "service_team")
    doc = intake.upload(theirs, app["id"], "stamped_form_scan")
    me = web.client("applicant_unit", mine["id"])
    r = me.request("GET", f"/api/v1/documents/{doc['id']}/download")
    assert r.status_code == 403 and r.json()["code"] == "not_your_unit"
    assert me.request("GET", f"/api/v1/applications/{app['id']}").status_code == 403
    owner = web.client("applicant_unit", theirs["id"])
    assert owner.request("GET", f"/api/v1/documents/{doc['id']}/download").status_code == 200
    clerk = web.client("intake_clerk")
    assert clerk.request("GET", f"/api/v1/documents/{doc['id']}/download").status_code == 200


def test_a_file_that_is_no_pdf_jpeg_or_png_is_rejected_and_does_not_count(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("returnee_park")
    app = intake.draft(call, unit, "chizi")
    with pytest.raises(DomainError) as exc:
        intake.upload(unit, app["id"], "stamped_form_scan", b"MZ\x90\x00" + b"\0" * 200, filename="scan.pdf")
    assert exc.value.code == "document_rejected"
    assert "type_not_allowed" in [p["code"] for p in exc.value.details]
    with pytest.raises(DomainError) as exc:
        intake.upload(unit, app["id"], "stamped_form_scan", kit.PDF, declared=kit.PDF + b"x")
    assert [p["code"] for p in exc.value.details] == ["checksum_mismatch"]
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "submit_application", app["id"])
    assert exc.value.code == "documents_missing"
    assert intake.status_of(app["id"]) == "draft"     # refused after its UPDATE was sent: rolled back
    assert intake.events("application_submitted") == []


def _call_with_extra_attachment(intake, kit):
    """The 2025 call as a full definition (calls are data), with an optional material allowed twice."""
    definition = copy.deepcopy(intake.call(kit.OFFICER, "get_call", intake.open_call(2025)["id"])["definition"])
    definition["doc_no"] = f"内人社办发〔2025〕测{uuid.uuid4().hex[:4]}号"
    chizi = next(p for p in definition["programmes"] if p["code"] == "chizi")
    chizi["attachments"].append({"kind": "supporting_material", "label": "证明材料", "types": ["pdf"],
                                 "max_bytes": 1048576, "required": False, "max_count": 2})
    call = intake.call(kit.OFFICER, "create_call", definition)
    return intake.call(kit.OFFICER, "open_call", call["id"])


def test_a_kind_takes_at_most_its_max_count_of_files_and_a_new_version_replaces_one(intake, kit):
    call = _call_with_extra_attachment(intake, kit)
    unit = intake.unit("returnee_park")
    app = intake.draft(call, unit, "chizi")
    a = intake.upload(unit, app["id"], "supporting_material", kit.PDF + b"a")
    intake.upload(unit, app["id"], "supporting_material", kit.PDF + b"b")
    with pytest.raises(DomainError) as exc:
        intake.upload(unit, app["id"], "supporting_material", kit.PDF + b"c")
    assert exc.value.status == 422 and exc.value.details[0]["code"] == "too_many_files"
    c = intake.upload(unit, app["id"], "supporting_material", kit.PDF + b"c", replaces=a["id"])
    stored = [d for d in intake.call(unit["user"], "get_application", app["id"])["documents"]
              if d["kind"] == "supporting_material" and d["status"] == "stored"]
    assert len(stored) == 2 and c["id"] in {d["id"] for d in stored} and a["id"] not in {d["id"] for d in stored}


# post-activity reports ---------------------------------------------------------------------------------
def _submitted_postdoc(intake):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "postdoc_hosting")      # held 2025-08-12 .. 2025-08-14
    intake.call(unit["user"], "submit_application", app["id"])
    return call, unit, app


def test_a_postdoc_host_files_its_summary_and_captioned_photos_within_two_weeks_through_the_gateway(
        intake, web, kit):
    call, unit, app = _submitted_postdoc(intake)
    assert intake.call(unit["user"], "get_application", app["id"])["report_due_on"] == "2025-08-28"
    intake.at(kit.local(2025, 8, 20, 9, 0, 0))
    client = web.client("applicant_unit", unit["id"])
    view = client.ok("GET", f"/api/v1/applications/{app['id']}/report")
    assert view["status"]["state"] == "due" and view["status"]["due_on"] == "2025-08-28"
    base = f"/api/v1/applications/{app['id']}/report/documents"
    client.upload(base, "work_summary")
    p1 = client.upload(base, "activity_photo", kit.JPEG, "现场.jpg")
    p2 = client.upload(base, "activity_photo", kit.PNG, "合影.png")
    report = client.ok("POST", f"/api/v1/applications/{app['id']}/report", {"form": {
        "summary": "服务团在呼和浩特市开展了三天现场服务，对接需求十二项。",
        "photos": [{"document_id": p1["id"], "caption": "专家在乳企车间指导"},
                   {"document_id": p2["id"], "caption": "服务团与企业代表合影"}]}})
    assert report["late"] is False and report["due_on"] == "2025-08-28"
    again = client.request("POST", f"/api/v1/applications/{app['id']}/report", {"form": {"summary": "再报"}})
    assert again.status_code == 409 and again.json()["code"] == "report_already_filed"
    [event] = intake.events("report_filed")
    p = event["payload"]
    assert (p["report_id"], p["activity_end"], p["due_on"], p["late"]) == (report["id"], "2025-08-14", "2025-08-28",
                                                                            False)
    assert p["filed_at"] and p["call"]["contacts"][0]["name"] == "闫璐"
    assert p["application"]["id"] == app["id"] and p["recipients"]["unit_contacts"]
    assert [ph["caption"] for ph in p["report"]["form"]["photos"]] == ["专家在乳企车间指导", "服务团与企业代表合影"]
    assert client.ok("GET", f"/api/v1/applications/{app['id']}/report")["status"]["state"] == "filed"


def test_a_report_needs_its_documents_and_photos_uploaded_for_it(intake, kit):
    call, unit, app = _submitted_postdoc(intake)
    intake.at(kit.local(2025, 8, 20, 9, 0, 0))
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "file_report", app["id"], {"form": {
            "summary": "总结", "photos": [{"document_id": "not-uploaded", "caption": "说明"}]}})
    assert exc.value.code == "report_invalid"
    assert {(p["path"], p["code"]) for p in exc.value.details} == {
        ("photos[0].document_id", "photo_not_uploaded"), ("work_summary", "document_missing"),
        ("activity_photo", "document_missing")}
    assert intake.events("report_filed") == []


def test_a_report_filed_after_the_due_date_is_marked_late(intake, kit):
    call, unit, app = _submitted_postdoc(intake)
    intake.at(kit.local(2025, 8, 29, 0, 0, 1))
    intake.upload(unit, app["id"], "work_summary", purpose="report")
    photo = intake.upload(unit, app["id"], "activity_photo", kit.JPEG, purpose="report", filename="a.jpg")
    report = intake.call(unit["user"], "file_report", app["id"], {"form": {
        "summary": "总结", "photos": [{"document_id": photo["id"], "caption": "现场"}]}})
    assert report["late"] is True
    assert intake.events("report_filed")[0]["payload"]["late"] is True


def test_the_overdue_timer_emits_report_overdue_once_after_the_due_day(intake, kit, container_factory):
    from nameko.testing.services import entrypoint_hook
    call, unit, app = _submitted_postdoc(intake)

    def tick():
        with entrypoint_hook(intake.container, "flag_overdue_reports") as hook:
            return hook()

    intake.at(kit.local(2025, 8, 28, 23, 59, 59))            # the due day is still on time
    assert tick() == []
    intake.at(kit.local(2025, 8, 29, 0, 0, 0))
    assert tick() == [app["id"]]
    assert tick() == []
    [event] = intake.events("report_overdue")
    assert event["payload"]["due_on"] == "2025-08-28" and event["payload"]["due_at"].startswith("2025-08-28T15:59:59")
    assert intake.call(unit["user"], "get_report", app["id"])["status"]["state"] == "overdue"


def test_no_overdue_event_for_a_report_filed_on_time(intake, kit):
    from nameko.testing.services import entrypoint_hook
    call, unit, app = _submitted_postdoc(intake)
    intake.at(kit.local(2025, 8, 27, 12, 0, 0))
    intake.upload(unit, app["id"], "work_summary", purpose="report")
    photo = intake.upload(unit, app["id"], "activity_photo", kit.PNG, purpose="report", filename="a.png")
    intake.call(unit["user"], "file_report", app["id"], {"form": {
        "summary": "总结", "photos": [{"document_id": photo["id"], "caption": "现场"}]}})
    intake.at(kit.local(2025, 9, 30, 0, 0, 0))
    with entrypoint_hook(intake.container, "flag_overdue_reports") as hook:
        assert hook() == []


def test_a_programme_without_a_report_rule_takes_no_report(intake):
    call = intake.open_call(2025)
    unit = intake.unit("returnee_park")
    app = intake.ready(call, unit, "chizi")
    intake.call(unit["user"], "submit_application", app["id"])
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "file_report", app["id"], {"form": {"summary": "x"}})
    assert exc.value.code == "report_not_required"


def test_a_report_cannot_be_filed_for_a_draft(intake):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "postdoc_hosting")
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "file_report", app["id"], {"form": {"summary": "x"}})
    assert exc.value.code == "not_submitted"


def test_a_service_team_files_its_project_summary_within_thirty_days_of_the_last_service_day(intake, kit):
    call = intake.open_call(2025)
    unit = intake.unit("league_city")
    app = intake.ready(call, unit, "service_team")          # service period ends 2025-06-20
    intake.call(unit["user"], "submit_application", app["id"])
    assert intake.call(unit["user"], "get_application", app["id"])["report_due_on"] == "2025-07-20"
    intake.at(kit.local(2025, 7, 1, 10, 0, 0))
    form = {"summary": "服务团在武川县开展服务十天。", "results": "培训基层技术人员210人次。", "experts_count": 6,
            "people_served": 210}
    with pytest.raises(DomainError) as exc:
        intake.call(unit["user"], "file_report", app["id"], {"form": form})
    assert [p["path"] for p in exc.value.details] == ["project_summary"]      # photos are optional here
    intake.upload(unit, app["id"], "project_summary", purpose="report")
    report = intake.call(unit["user"], "file_report", app["id"], {"form": form})
    assert (report["due_on"], report["late"]) == ("2025-07-20", False)


def test_a_user_of_role_applicant_unit_without_a_unit_cannot_apply(intake, kit):
    call = intake.open_call(2025)
    with pytest.raises(DomainError) as exc:
        intake.call({"id": "u-x", "role": "applicant_unit"}, "create_application",
                    {"call_id": call["id"], "programme_code": "chizi", "form": {}})
    assert exc.value.code == "no_unit" and exc.value.status == 403

import pytest

from grassroots.errors import BadRequest, ValidationFailed
from intake.domain.calls import load_bundled_call
from intake.domain.documents import check_document, check_required_documents, missing_documents

C2025 = load_bundled_call(2025)
TEAM = C2025.programme("service_team")
CHIZI = C2025.programme("chizi")
POSTDOC = C2025.programme("postdoc_hosting")


def test_a_service_team_project_needs_the_stamped_form_and_the_recommendation_letter():
    with pytest.raises(ValidationFailed) as e:
        check_required_documents(TEAM, ["stamped_form_scan"])
    assert e.value.code == "documents_missing" and "书面推荐公函" in e.value.message
    check_required_documents(TEAM, ["stamped_form_scan", "recommendation_letter"])


def test_a_chizi_application_needs_only_the_stamped_scan():
    assert [a.kind for a in missing_documents(CHIZI, [])] == ["stamped_form_scan"]


def test_a_pdf_scan_within_the_size_limit_may_be_stored():
    assert check_document(TEAM, "stamped_form_scan", file_type="pdf", size=20 * 1048576).kind == "stamped_form_scan"


def test_a_file_that_is_not_an_allowed_type_or_too_large_is_refused_with_both_reasons():
    with pytest.raises(ValidationFailed) as e:
        check_document(TEAM, "recommendation_letter", file_type="png", size=20 * 1048576 + 1)
    assert {d["code"] for d in e.value.details} == {"file_type_not_allowed", "file_too_large"}
    assert "PDF" in e.value.message


def test_a_kind_the_programme_does_not_ask_for_is_refused():
    with pytest.raises(BadRequest) as e:
        check_document(CHIZI, "recommendation_letter", file_type="pdf", size=1)
    assert e.value.code == "unknown_document_kind"


def test_report_photos_are_limited_in_number_by_the_report_rule():
    photos = POSTDOC.report.attachments
    check_document(POSTDOC, "activity_photo", file_type="jpeg", size=1024, already_stored=29, attachments=photos)
    with pytest.raises(ValidationFailed) as e:
        check_document(POSTDOC, "activity_photo", file_type="jpeg", size=1024, already_stored=30, attachments=photos)
    assert e.value.details[0]["code"] == "too_many_files"
    assert [a.kind for a in missing_documents(POSTDOC, ["activity_photo"], photos)] == ["work_summary"]

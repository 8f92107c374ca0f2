"""Profile checks, the import sheet, postdoc demands and the ID vault: pure rules, no broker, no database."""
import io

import pytest
from cryptography.fernet import Fernet
from openpyxl import Workbook

from experts.domain import demands, profile, roster
from experts.idvault import IdVault, fernet_for
from grassroots.errors import Forbidden, ValidationFailed
from grassroots.validators import id_check_char


def number(seq=123, birth="19720315"):
    first = "150102" + birth + f"{seq:03d}"
    return first + id_check_char(first)


BASE = {"name": "李秀兰", "gender": "女", "id_number": number(), "league_city_code": "150100", "unit_name": "农科院",
        "title": "研究员", "title_level": "associate_senior", "specialty": "草原生态"}


def test_a_profile_is_cleaned_and_its_birth_year_taken_from_the_id_number():
    clean = profile.clean_profile({**BASE, "tags": ["草原"]})
    assert clean["gender"] == "female" and clean["title_level"] == "副高级" and clean["birth_year"] == 1972
    assert clean["tags"] == ["草原生态"]


def test_every_problem_of_a_profile_is_reported_at_once():
    with pytest.raises(ValidationFailed) as err:
        profile.clean_profile({**BASE, "id_number": number()[:-1] + "0" if number()[-1] != "0" else number()[:-1] + "1",
                               "mobile": "123", "gender": "x", "birth_year": 1980, "league_city_code": "999999",
                               "unknown": 1})
    codes = {p["path"]: p["code"] for p in err.value.details}
    assert codes == {"id_number": "id_number_bad_check_digit", "mobile": "invalid_mobile", "gender": "invalid_choice",
                     "league_city_code": "invalid_region", "unknown": "unknown_field"}


def test_a_birth_year_that_contradicts_the_id_number_is_refused():
    with pytest.raises(ValidationFailed) as err:
        profile.clean_profile({**BASE, "birth_year": 1980})
    assert err.value.details[0]["code"] == "birth_year_mismatch"


def test_an_expert_may_edit_contact_and_specialty_but_not_title_or_caps():
    profile.check_self_edit({"mobile": "13912345678", "unavailable": []})
    with pytest.raises(Forbidden):
        profile.check_self_edit({"title_level": "正高级"})
    with pytest.raises(Forbidden):
        profile.check_self_edit({"capacity": 9})


def sheet(rows, headers=None):
    wb = Workbook()
    ws = wb.active
    ws.append(headers or [h for _, h, _ in roster.IMPORT_COLUMNS])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def row(**over):
    values = {"name": "张三", "gender": "男", "id_number": number(5), "league_city_code": "包头市",
              "unit_name": "包头稀土研究院", "title": "正高级工程师", "title_level": "正高级", "specialty": "稀土永磁",
              "tags": "稀土、冶金", "service_record": "多次服务", "healthy": "是", "willing": "是",
              "mobile": 13947112345.0, "email": "z@example.cn", **over}
    return [values.get(f, "") for f, _, _ in roster.IMPORT_COLUMNS]


def test_an_import_sheet_reads_names_of_leagues_yes_no_and_numbers_stored_as_floats():
    rows, problems = roster.read_import(sheet([row()]))
    assert problems == []
    [(excel_row, clean)] = rows
    assert excel_row == 2 and clean["league_city_code"] == "150200" and clean["healthy"] is True
    assert clean["mobile"] == "13947112345" and clean["tags"] == ["稀土", "冶金"]


def test_import_problems_name_the_excel_row_and_the_chinese_column():
    rows, problems = roster.read_import(sheet([row(), [], row(healthy="也许", league_city_code="北京市")]))
    assert rows[0][0] == 2
    assert {(p["row"], p["column"], p["code"]) for p in problems} == {
        (4, "本人身体健康，能适应基层环境", "invalid_choice"), (4, "所在盟市", "invalid_region")}


def test_a_file_that_is_not_xlsx_is_refused_clearly():
    with pytest.raises(ValidationFailed) as err:
        roster.read_import(b"name,id\n")
    assert err.value.code == "import_not_xlsx"


def test_the_pool_export_has_chinese_headers_and_shows_what_it_is_given():
    data = roster.build_pool_xlsx([{"name": "张三", "gender": "male", "league_city_code": "150200",
                                    "id_number_masked": "150102********1234", "tags": ["稀土"],
                                    "recommendations": [{"unit_name": "包头市人社局"}]}])
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[1]][:6] == ["序号", "姓名", "性别", "出生年份", "民族", "身份证号码"]
    assert ws["C2"].value == "男" and ws["F2"].value == "150102********1234" and ws["G2"].value == "包头市"


def test_postdoc_demands_map_the_form_items_venue_and_dates():
    payload = {"application": {"id": "a1", "league_city_code": "150200", "form": {
        "venue": "150100", "held_period": {"start": "2025-08-12", "end": "2025-08-14"},
        "demands": [{"title": "奶牛疫病防控", "demand_unit": "某合作社", "field": "畜牧兽医", "description": "口蹄疫"},
                    {"title": "", "field": "x"}]}}}
    [d] = demands.postdoc_demands(payload)
    assert (d["title"], d["demand_unit"], d["field"], d["league_city_code"], d["place"]) == \
        ("奶牛疫病防控", "某合作社", "畜牧兽医", "150100", "呼和浩特市")
    assert str(d["start"]) == "2025-08-12" and str(d["end"]) == "2025-08-14" and d["tags"] == ["畜牧兽医"]
    assert d["experts_wanted"] == 1


def test_a_posted_demand_needs_its_place_and_dates_in_order():
    with pytest.raises(ValidationFailed) as err:
        demands.clean_demand({"title": "t", "description": "d", "league_city_code": "150100",
                              "start": "2025-08-14", "end": "2025-08-12", "experts_wanted": 0})
    assert {p["code"] for p in err.value.details} == {"end_before_start", "out_of_range"}


def test_the_vault_hashes_by_key_encrypts_reversibly_and_masks():
    vault = IdVault("hash-key", ["a-secret-that-is-not-a-fernet-key"])
    sealed = vault.seal(number(7).lower())
    assert sealed.hash == vault.hash(number(7)) != IdVault("other-key", ["x"]).hash(number(7))
    assert vault.reveal(sealed.encrypted) == number(7) and number(7) not in sealed.encrypted
    assert sealed.masked == number(7)[:6] + "********" + number(7)[-4:] and number(7) not in repr(sealed)
    key = Fernet.generate_key().decode()
    assert fernet_for(key).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"   # a real Fernet key is used as is
    rotated = IdVault("hash-key", ["new-secret", "a-secret-that-is-not-a-fernet-key"])
    assert rotated.reveal(sealed.encrypted) == number(7)


def test_without_configured_keys_the_vault_uses_development_keys_and_says_so(monkeypatch):
    import structlog
    from structlog.testing import capture_logs

    from experts import idvault
    with capture_logs() as logs:
        # a fresh logger: the module's may already be bound (loggers are cached on first use)
        monkeypatch.setattr(idvault, "log", structlog.get_logger("experts.idvault"))
        vault = IdVault.from_config({})
    assert vault.reveal(vault.seal(number(8)).encrypted) == number(8)
    assert any(e["event"] == "experts_id_keys_not_configured" and e["log_level"] == "warning" for e in logs)

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from intake.domain.calls import load_bundled_call
from intake.domain.export import HEADERS, build_summary_xlsx, summary_row

C2025 = load_bundled_call(2025)


def test_the_summary_table_has_chinese_headers_and_one_row_per_application():
    prog = C2025.programme("service_team")
    app = {"unit_name": "呼和浩特市人力资源和社会保障局", "league_city_code": "150100", "status": "submitted",
           "submitted_at": dt.datetime(2025, 1, 20, 2, 30, tzinfo=dt.timezone.utc),
           "form": {"project_name": "草原畜牧业专家服务团", "budget_total": "120000.50",
                    "service_period": {"start": "2025-06-09", "end": "2025-06-13"}}}
    data = build_summary_xlsx([summary_row(C2025, prog, app)], title="2025年申报汇总表")
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "2025年申报汇总表"
    assert [c.value for c in ws[1]] == HEADERS
    assert "申报单位" in HEADERS and "所属盟市" in HEADERS and "提交时间（北京时间）" in HEADERS
    row = {h: c.value for h, c in zip(HEADERS, ws[2])}
    assert row["序号"] == 1
    assert row["项目类别"] == "专家服务团项目"
    assert row["所属盟市"] == "呼和浩特市"
    assert row["状态"] == "已提交"
    assert row["提交时间（北京时间）"] == dt.datetime(2025, 1, 20, 10, 30)  # shown in Beijing time
    assert row["项目（活动、基地、专家）名称"] == "草原畜牧业专家服务团"
    assert row["开始日期"].date() == dt.date(2025, 6, 9) and row["结束日期"].date() == dt.date(2025, 6, 13)
    assert Decimal(str(row["预算（元）"])) == Decimal("120000.50")
    assert ws.max_row == 2


def test_programmes_without_period_or_budget_leave_those_cells_empty():
    prog = C2025.programme("key_expert")
    row = summary_row(C2025, prog, {"unit_name": "满洲里市人社局", "league_city_code": "150781", "status": "draft",
                                    "form": {"name": "张三"}})
    assert row["title"] == "张三" and row["league_city"] == "满洲里市"
    assert row["start"] is None and row["budget"] is None
    ws = load_workbook(io.BytesIO(build_summary_xlsx([row]))).active
    values = {h: c.value for h, c in zip(HEADERS, ws[2])}
    assert values["状态"] == "草稿" and values["提交时间（北京时间）"] is None


def test_a_region_field_used_as_title_is_shown_by_name():
    prog = C2025.programme("postdoc_hosting")
    row = summary_row(C2025, prog, {"form": {"applicant_unit": "包头市人社局",
                                             "held_period": {"start": "2025-06-10", "end": "2025-06-12"}}})
    assert row["title"] == "包头市人社局" and row["end"] == dt.date(2025, 6, 12)

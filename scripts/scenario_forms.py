"""Sample form data for the demo scenario, filled in against the bundled call's form definitions."""
from __future__ import annotations

import datetime as dt

from grassroots.validators import uscc_check_char


def demo_uscc(seed: int) -> str:
    """A well-formed unified social credit code (GB 32100 check character) for demo units."""
    body = f"11150100MB{seed % 10**7:07d}"  # 11 = 机关, 150100 = 呼和浩特市
    return body + uscc_check_char(body)


def service_period(year: int) -> dict:
    """Six consecutive working weeks' worth of days in the call's year, starting a month from today."""
    start = max(dt.date.today() + dt.timedelta(days=1), dt.date(year, 1, 5))
    start = min(start, dt.date(year, 12, 1))
    return {"start": start.isoformat(), "end": (start + dt.timedelta(days=13)).isoformat()}


def service_team_form_2025(unit_name: str, year: int) -> dict:
    return {
        "project_name": "草原生态修复与畜牧业提质增效专家服务团",
        "applicant_unit": unit_name[:50],
        "applicant_region": "150100",
        "themes": ["rural_revitalisation", "local_industries"],
        "service_places": [{"region": "150100", "county": "武川县", "place": "武川县上秃亥乡",
                            "priority_areas": ["rural_revitalisation_key_county"]}],
        "demands": [{"title": "肉羊布病防控技术指导", "demand_unit": "武川县农牧和科技局",
                     "description": "基层兽医对布病防控规程掌握不足，需要专家现场培训与指导。"}],
        "experts": [{"name": "张建国", "unit": "内蒙古农业大学", "title": "教授", "title_level": "senior",
                     "specialty": "畜牧兽医", "mobile": "13904711234"}],
        "service_period": service_period(year),
        "service_days": 10,
        "background": "武川县为自治区乡村振兴重点帮扶旗县，肉羊产业是主导产业，疫病防控和草场退化是主要难题。",
        "activity_plan": "组织畜牧兽医、草原生态专家分三组深入乡镇，开展现场诊断、技术培训和示范指导。",
        "expected_results": "培训基层技术人员200人次，建立示范户30户，形成防控技术规程1套。",
        "budget_total": "120000.00",
        "budget_items": [{"item": "专家劳务费", "amount": "60000.00"}, {"item": "差旅费", "amount": "60000.00"}],
        "unit_opinion": "同意推荐。",
        "contact_person": "王敏", "contact_phone": "(0471) 6601234", "contact_mobile": "13800471234",
        "contact_email": "hr-demo@example.cn",
        "account_name": unit_name[:100], "account_no": "6222021234567890123", "bank_name": "中国工商银行呼和浩特新城支行",
        "interbank_code": "102191000011",
    }

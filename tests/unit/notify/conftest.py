"""Sample events as the other services publish them (see notify/domain/EVENTS.md)."""
from __future__ import annotations

import copy

import pytest

from notify.domain.model import Recipient

CALL = {
    "id": "call-2025",
    "year": 2025,
    "title": "关于做好2025年各类专家人才服务基层有关工作的通知",
    "doc_no": "内人社办发〔2025〕5号",
    "deadline": "2025-01-24T15:59:59+00:00",
    "contacts": [
        {"name": "塞夫", "department": "专业技术人员管理处", "phone": "(0471) 6268105",
         "email": "rstzjc2021@126.com"},
        {"name": "沈婷", "department": "内蒙古人事人才公共服务中心", "phone": "(0471) 6601325",
         "email": "zhuanjiazhongxinst@126.com"},
    ],
}

APPLICATION = {
    "id": "app-17",
    "title": "草原畜牧业科技服务团",
    "programme_code": "expert_team",
    "programme_name": "专家服务团项目",
    "unit_id": "unit-hlbe",
    "unit_name": "呼伦贝尔市人力资源和社会保障局",
    "league_city_code": "150700",
}

UNIT_CONTACT = {"name": "王丽", "email": "wangli@hlbe.example.cn", "mobile": "13812341234",
                "user_id": "u-wangli"}

EXPERT = {"id": "exp-3", "name": "李强", "email": "liqiang@imau.example.cn", "mobile": "13998765432",
          "user_id": "u-liqiang"}

REVIEWER = {"id": "rev-8", "name": "赵敏", "email": "zhaomin@imu.example.cn", "user_id": "u-zhaomin",
            "mobile": "13700001111"}

EXTRA = {
    "document_stored": {"document": {"id": "doc-1", "filename": "推荐公函.pdf", "kind": "recommendation_letter"}},
    "report_overdue": {"due_at": "2025-09-30T15:59:59+00:00"},
    "review_round_opened": {"round": {"id": "round-1", "name": "第一轮评审", "close_at": "2025-03-10T09:00:00+00:00"}},
    "reviewer_assigned": {"reviewer": REVIEWER, "round": {"id": "round-1", "close_at": "2025-03-10T09:00:00+00:00"}},
    "ministry_decided": {"approved": True, "doc_ref": "人社厅函〔2025〕88号"},
    "expert_admitted_to_pool": {"expert": EXPERT},
    "expert_matched": {"expert": EXPERT, "demand": {"id": "dem-5", "title": "牧草病虫害防治指导",
                                                    "place": "新巴尔虎右旗",
                                                    "dates": {"start": "2025-06-10", "end": "2025-06-16"}}},
    "budget_created": {"amount": "200000.00"},
    "disbursement_requested": {"amount": "150000.00"},
    "disbursement_approved": {"amount": "150000.00"},
    "disbursement_paid": {"amount": "1234567.5", "bank_ref": "NX20250601001"},
    "disbursement_failed": {"reason": "开户行联行号有误"},
    "funds_returned": {"amount": "12000"},
    "budget_withdrawn": {"amount": "300000.00", "source": "ministry", "reason": "部里来函更正为不予资助",
                         "cancelled_disbursements": [{"id": "d-2", "tranche": 2, "amount": "80000.00",
                                                      "status": "cancelled"}]},
    "budget_withdrawal_blocked": {"amount": "300000.00", "source": "ministry", "reason": "部里来函更正为不予资助",
                                  "outstanding": "50000.00",
                                  "disbursements": [{"id": "d-1", "tranche": 1, "amount": "50000.00",
                                                     "status": "paid"}]},
    "deadline_reminder": {"days_left": 7, "deadline": "2025-01-24T15:59:59+00:00",
                          "unit": {"id": "unit-hlbe", "name": "呼伦贝尔市人力资源和社会保障局"},
                          "drafts": 1, "quota_left": 1},
    "report_due_reminder": {"due_at": "2025-09-30T15:59:59+00:00"},
    "report_overdue_reminder": {"due_at": "2025-09-30T15:59:59+00:00"},
    "scoring_reminder": {"reviewer": REVIEWER, "unscored_count": 3,
                         "round": {"id": "round-1", "close_at": "2025-03-10T09:00:00+00:00"}},
}

WITHOUT_APPLICATION = {"call_opened", "review_round_opened", "expert_admitted_to_pool", "deadline_reminder",
                       "scoring_reminder"}


def build_envelope(event_type: str, event_id: str = "evt-0001", **payload_overrides) -> dict:
    payload = {"call": copy.deepcopy(CALL),
               "recipients": {"unit_contacts": [dict(UNIT_CONTACT)], "user_ids": []}}
    if event_type not in WITHOUT_APPLICATION:
        payload["application"] = dict(APPLICATION)
    payload.update(copy.deepcopy(EXTRA.get(event_type, {})))
    payload.update(payload_overrides)
    return {
        "id": event_id,
        "type": event_type,
        "source": "test",
        "occurred_at": "2025-01-20T02:30:00+00:00",
        "correlation_id": "corr-1",
        "actor": {"id": "u-actor", "role": "programme_officer", "unit_id": None},
        "schema_version": 1,
        "payload": payload,
    }


OFFICERS = {
    "programme_officer": [Recipient(name="塞夫", user_id="u-saifu", email="saifu@nmg.example.cn"),
                          Recipient(name="曹磊", user_id="u-caolei", email="caolei@nmg.example.cn")],
    "finance_officer": [Recipient(name="刘会计", user_id="u-liu", email="liu@nmg.example.cn",
                                  mobile="13600002222")],
    "intake_clerk": [Recipient(name="沈婷", user_id="u-shenting", email="zhuanjiazhongxinst@126.com")],
}


def users_of_role(role: str):
    return list(OFFICERS.get(role, []))


@pytest.fixture
def envelope():
    return build_envelope


@pytest.fixture
def officers():
    return users_of_role


@pytest.fixture
def samples():
    """The sample data above, for tests that build their own payloads."""
    import types
    return types.SimpleNamespace(call=copy.deepcopy(CALL), application=dict(APPLICATION),
                                 unit_contact=dict(UNIT_CONTACT), expert=dict(EXPERT), reviewer=dict(REVIEWER),
                                 officers=OFFICERS, without_application=WITHOUT_APPLICATION)

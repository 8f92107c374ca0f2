"""Post-evaluation (后评估): an officer scores how a finished project was implemented, once its report
(工作总结) was filed, and the unit's history is summarised when it applies again.

Scoring uses a rubric like review scoring (default ``rubrics/post_evaluation.yaml``: 目标完成度,
服务成效, 经费使用, 群众满意度; total on 0-100). Grades from the total (2 places):

    优秀 ≥ 90,  良好 ≥ 75,  合格 ≥ 60,  不合格 < 60

The history summary gives the latest grade (by report year, then evaluation time), the average total over
all evaluations and the grade that average falls in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from grassroots.errors import Conflict

from ._common import q2, require_aware, require_text
from .rubrics import Rubric, validate_score_sheet, weighted_total

GRADE_THRESHOLDS = ((Decimal(90), "优秀"), (Decimal(75), "良好"), (Decimal(60), "合格"))
FAIL_GRADE = "不合格"


def grade_for(total: Decimal) -> str:
    for threshold, grade in GRADE_THRESHOLDS:
        if total >= threshold:
            return grade
    return FAIL_GRADE


@dataclass(frozen=True)
class PostEvaluation:
    report_id: str
    application_id: str
    unit_id: str
    programme: str
    year: int
    scores: Mapping[str, Decimal]
    comments: Mapping[str, str]
    total: Decimal
    grade: str
    evaluated_by: str
    evaluated_at: dt.datetime
    remark: str | None = None

    def to_dict(self) -> dict:
        return {"report_id": self.report_id, "application_id": self.application_id, "unit_id": self.unit_id,
                "programme": self.programme, "year": self.year,
                "scores": {k: str(v) for k, v in self.scores.items()}, "comments": dict(self.comments),
                "total": str(self.total), "grade": self.grade, "evaluated_by": self.evaluated_by,
                "evaluated_at": self.evaluated_at.isoformat(), "remark": self.remark}


def evaluate_implementation(rubric: Rubric, *, report_id: str, report_filed: bool, application_id: str,
                            unit_id: str, programme: str, year: int, scores: Mapping[str, Any],
                            comments: Mapping[str, Any] | None, evaluator: str, now: dt.datetime,
                            remark: str | None = None) -> PostEvaluation:
    require_aware(now, "now")
    if not report_filed:
        raise Conflict("report_not_filed", "项目单位报送工作总结后才能进行后评估",
                       {"report_id": report_id, "application_id": application_id})
    parsed, clean = validate_score_sheet(rubric, scores, comments)
    total = q2(weighted_total(rubric, parsed))
    return PostEvaluation(report_id=report_id, application_id=application_id, unit_id=unit_id,
                          programme=programme, year=year, scores=parsed, comments=clean, total=total,
                          grade=grade_for(total), evaluated_by=evaluator, evaluated_at=now,
                          remark=require_text(remark))


def summarise_history(evaluations: Iterable[PostEvaluation]) -> dict:
    """What to show beside a unit's new application: count, latest grade, average total and its grade."""
    items = sorted(evaluations, key=lambda e: (e.year, e.evaluated_at))
    if not items:
        return {"count": 0, "latest": None, "average_total": None, "average_grade": None, "history": [],
                "text": "暂无后评估记录"}
    latest = items[-1]
    average = q2(sum((e.total for e in items), Decimal(0)) / len(items))
    return {
        "count": len(items),
        "latest": {"year": latest.year, "grade": latest.grade, "total": str(latest.total),
                   "programme": latest.programme, "application_id": latest.application_id},
        "average_total": str(average),
        "average_grade": grade_for(average),
        "history": [{"year": e.year, "programme": e.programme, "application_id": e.application_id,
                     "total": str(e.total), "grade": e.grade} for e in items],
        "text": f"共{len(items)}次后评估，最近一次（{latest.year}年）为“{latest.grade}”，平均{average}分（{grade_for(average)}）",
    }

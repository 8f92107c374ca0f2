"""Rubrics (评审细则): criteria, weights, scales, comment rules; and the score sheets reviewers fill in.

A rubric is data. Defaults per programme ship as YAML in ``review/rubrics/<programme>.yaml``; a call may
carry its own rubric for a programme (same shape), which then replaces the default for that call.

YAML / dict shape::

    programme: service_team
    name: 专家服务团项目评审细则
    criteria:
      - code: demand_precision        # snake_case, unique
        label: 需求精准度
        weight: "0.20"                 # weights sum to 1 (checked with Decimal, tolerance 1e-9)
        scale: {min: 0, max: 10}       # min < max
        comment: below                 # optional | always | below
        comment_below: 6               # with ``below``: a comment is required when the score is < this
        description: ...               # optional guidance for reviewers

A sheet's weighted total is normalised to 0-100: sum(weight * (score - min) / (max - min)) * 100, so
criteria on different scales weigh exactly their weight.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from typing import Any, Mapping

import yaml

from grassroots.errors import Forbidden, NotFound, ValidationFailed

from ._common import PROGRAMMES, is_code, problem, q4, require_aware, require_text, to_decimal

COMMENT_OPTIONAL = "optional"
COMMENT_ALWAYS = "always"
COMMENT_BELOW = "below"
COMMENT_RULES = (COMMENT_OPTIONAL, COMMENT_ALWAYS, COMMENT_BELOW)
WEIGHT_TOLERANCE = Decimal("1e-9")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    weight: Decimal
    scale_min: Decimal
    scale_max: Decimal
    comment: str = COMMENT_OPTIONAL
    comment_below: Decimal | None = None
    description: str = ""

    def comment_required(self, score: Decimal) -> bool:
        if self.comment == COMMENT_ALWAYS:
            return True
        return self.comment == COMMENT_BELOW and self.comment_below is not None and score < self.comment_below

    def to_dict(self) -> dict:
        body = {"code": self.code, "label": self.label, "weight": str(self.weight),
                "scale": {"min": str(self.scale_min), "max": str(self.scale_max)}, "comment": self.comment}
        if self.comment_below is not None:
            body["comment_below"] = str(self.comment_below)
        if self.description:
            body["description"] = self.description
        return body


@dataclass(frozen=True)
class Rubric:
    programme: str
    name: str
    criteria: tuple[Criterion, ...]

    def criterion(self, code: str) -> Criterion:
        for c in self.criteria:
            if c.code == code:
                return c
        raise KeyError(code)

    def to_dict(self) -> dict:
        return {"programme": self.programme, "name": self.name, "criteria": [c.to_dict() for c in self.criteria]}


def _invalid(problems: list[dict]) -> ValidationFailed:
    return ValidationFailed("rubric_invalid", f"评审细则有 {len(problems)} 处问题", problems)


def rubric_problems(rubric: Rubric) -> list[dict]:
    """Every problem of a rubric: codes, labels, weights (sum to 1 within 1e-9), scales, comment rules."""
    problems: list[dict] = []
    if not rubric.criteria:
        problems.append(problem("criteria", "empty", "评审细则至少要有一项评审指标"))
    seen: set[str] = set()
    total = Decimal(0)
    for i, c in enumerate(rubric.criteria):
        path = f"criteria[{i}]"
        if not is_code(c.code):
            problems.append(problem(f"{path}.code", "invalid_code", "指标代码须为小写英文字母、数字和下划线"))
        elif c.code in seen:
            problems.append(problem(f"{path}.code", "duplicate_code", f"指标代码 {c.code} 重复"))
        seen.add(c.code)
        if not require_text(c.label):
            problems.append(problem(f"{path}.label", "required", "请填写指标名称"))
        if c.weight <= 0 or c.weight > 1:
            problems.append(problem(f"{path}.weight", "invalid_weight", "权重须大于0且不大于1"))
        total += c.weight
        if c.scale_min < 0 or c.scale_max <= c.scale_min:
            problems.append(problem(f"{path}.scale", "invalid_scale", "分值范围须满足 0 ≤ 最低分 < 最高分"))
        if c.comment not in COMMENT_RULES:
            problems.append(problem(f"{path}.comment", "invalid_comment_rule",
                                    "评语要求须为 optional、always 或 below"))
        elif c.comment == COMMENT_BELOW:
            if c.comment_below is None:
                problems.append(problem(f"{path}.comment_below", "required", "请填写需要评语的分数线"))
            elif not (c.scale_min < c.comment_below <= c.scale_max):
                problems.append(problem(f"{path}.comment_below", "out_of_scale", "需要评语的分数线须在分值范围内"))
    if rubric.criteria and abs(total - 1) > WEIGHT_TOLERANCE:
        problems.append(problem("criteria", "weights_not_one", f"各指标权重之和为 {total}，应为 1"))
    return problems


def validate_rubric(rubric: Rubric) -> Rubric:
    problems = rubric_problems(rubric)
    if problems:
        raise _invalid(problems)
    return rubric


def rubric_from_dict(data: Mapping[str, Any], programme: str | None = None) -> Rubric:
    """Parse and validate a rubric; every malformed field is reported with its path."""
    problems: list[dict] = []
    prog = data.get("programme", programme) if isinstance(data, Mapping) else programme
    if prog not in PROGRAMMES and prog != "post_evaluation":
        problems.append(problem("programme", "unknown_programme", f"未知的项目类别：{prog}"))
    raw = data.get("criteria") if isinstance(data, Mapping) else None
    if not isinstance(raw, list):
        raise _invalid(problems + [problem("criteria", "required", "评审细则须列出评审指标")])
    criteria = []
    for i, item in enumerate(raw):
        path = f"criteria[{i}]"
        if not isinstance(item, Mapping):
            problems.append(problem(path, "invalid", "评审指标格式不正确"))
            continue
        numbers: dict[str, Decimal | None] = {}
        scale = item.get("scale") if isinstance(item.get("scale"), Mapping) else {}
        for key, value, sub in (("weight", item.get("weight"), "weight"), ("min", scale.get("min"), "scale.min"),
                                ("max", scale.get("max"), "scale.max"),
                                ("comment_below", item.get("comment_below"), "comment_below")):
            if value is None and key == "comment_below":
                numbers[key] = None
                continue
            try:
                numbers[key] = to_decimal(value)
            except ValueError:
                numbers[key] = None
                problems.append(problem(f"{path}.{sub}", "not_a_number", "须填写数字"))
        if None in (numbers["weight"], numbers["min"], numbers["max"]):
            continue
        criteria.append(Criterion(code=item.get("code"), label=item.get("label"), weight=numbers["weight"],
                                  scale_min=numbers["min"], scale_max=numbers["max"],
                                  comment=item.get("comment", COMMENT_OPTIONAL),
                                  comment_below=numbers["comment_below"],
                                  description=item.get("description") or ""))
    rubric = Rubric(programme=prog, name=str(data.get("name") or ""), criteria=tuple(criteria))
    problems += [] if problems else rubric_problems(rubric)
    if problems:
        raise _invalid(problems)
    return rubric


def load_default_rubric(programme: str) -> Rubric:
    """The shipped default rubric of a programme (or ``post_evaluation``)."""
    if programme not in PROGRAMMES and programme != "post_evaluation":
        raise NotFound("rubric_not_found", f"没有项目类别“{programme}”的评审细则", {"programme": programme})
    text = resources.files("review.rubrics").joinpath(f"{programme}.yaml").read_text(encoding="utf-8")
    return rubric_from_dict(yaml.safe_load(text), programme)


def rubric_for_call(programme: str, call_definition: Mapping[str, Any] | None = None) -> Rubric:
    """The rubric a call uses for a programme: ``definition["rubrics"][programme]`` if set, else the default."""
    custom = ((call_definition or {}).get("rubrics") or {}).get(programme)
    if custom:
        return rubric_from_dict(custom, programme)
    return load_default_rubric(programme)


# --- score sheets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreSheet:
    """One reviewer's scores on one application; ``revision`` counts submissions (1 = first)."""

    application_id: str
    reviewer_id: str
    scores: Mapping[str, Decimal]
    comments: Mapping[str, str] = field(default_factory=dict)
    submitted_at: dt.datetime | None = None
    revision: int = 1
    assignment_id: str | None = None

    def to_dict(self) -> dict:
        return {"application_id": self.application_id, "reviewer_id": self.reviewer_id,
                "assignment_id": self.assignment_id, "revision": self.revision,
                "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
                "scores": {k: str(v) for k, v in self.scores.items()}, "comments": dict(self.comments)}


def check_scores(rubric: Rubric, scores: Mapping[str, Any], comments: Mapping[str, Any] | None = None
                 ) -> tuple[dict[str, Decimal], dict[str, str], list[dict]]:
    """Parse a sheet against its rubric; returns (scores, comments, problems) with every problem listed."""
    comments = comments or {}
    problems: list[dict] = []
    parsed: dict[str, Decimal] = {}
    clean_comments: dict[str, str] = {}
    known = {c.code for c in rubric.criteria}
    for code in scores:
        if code not in known:
            problems.append(problem(f"scores.{code}", "unknown_criterion", f"评审细则中没有指标 {code}"))
    for code in comments:
        if code not in known:
            problems.append(problem(f"comments.{code}", "unknown_criterion", f"评审细则中没有指标 {code}"))
    for c in rubric.criteria:
        text = require_text(comments.get(c.code))
        if text:
            clean_comments[c.code] = text
        if c.code not in scores or scores[c.code] in (None, ""):
            problems.append(problem(f"scores.{c.code}", "required", f"请为“{c.label}”打分"))
            continue
        try:
            value = to_decimal(scores[c.code])
        except ValueError:
            problems.append(problem(f"scores.{c.code}", "not_a_number", f"“{c.label}”的分数须为数字"))
            continue
        if not (c.scale_min <= value <= c.scale_max):
            problems.append(problem(f"scores.{c.code}", "out_of_scale",
                                    f"“{c.label}”的分数须在 {c.scale_min} 至 {c.scale_max} 之间"))
            continue
        parsed[c.code] = value
        if c.comment_required(value) and not text:
            why = "须填写评语" if c.comment == COMMENT_ALWAYS else f"低于 {c.comment_below} 分须填写评语"
            problems.append(problem(f"comments.{c.code}", "comment_required", f"“{c.label}”{why}"))
    return parsed, clean_comments, problems


def validate_score_sheet(rubric: Rubric, scores: Mapping[str, Any], comments: Mapping[str, Any] | None = None
                         ) -> tuple[dict[str, Decimal], dict[str, str]]:
    parsed, clean, problems = check_scores(rubric, scores, comments)
    if problems:
        raise ValidationFailed("score_sheet_invalid", f"评分表有 {len(problems)} 处问题，请修改后提交", problems)
    return parsed, clean


def weighted_total(rubric: Rubric, scores: Mapping[str, Decimal]) -> Decimal:
    """The sheet's total on 0-100, rounded to 4 places (the figure shown and averaged)."""
    total = Decimal(0)
    for c in rubric.criteria:
        total += c.weight * (to_decimal(scores[c.code]) - c.scale_min) / (c.scale_max - c.scale_min)
    return q4(total * HUNDRED)


def submit_score(rnd, assignment, rubric: Rubric, reviewer_id: str, scores: Mapping[str, Any],
                 comments: Mapping[str, Any] | None, now: dt.datetime, previous: ScoreSheet | None = None
                 ) -> ScoreSheet:
    """A reviewer scores (or revises the score of) one of their active assignments while the round is open.

    After the round closes: Conflict ``round_closed``. Another reviewer's assignment: Forbidden.
    """
    from .assignments import ACTIVE
    from .rounds import ensure_open_for_review

    ensure_open_for_review(rnd)
    require_aware(now, "now")
    if assignment.reviewer_id != reviewer_id:
        raise Forbidden("not_your_assignment", "只能为分配给本人的项目评分", {"assignment_id": assignment.id})
    if assignment.status != ACTIVE:
        raise Forbidden("assignment_not_active", "该评审任务已回避或已取消，不能评分",
                        {"assignment_id": assignment.id, "status": assignment.status})
    parsed, clean = validate_score_sheet(rubric, scores, comments)
    sheet = ScoreSheet(application_id=assignment.application_id, reviewer_id=reviewer_id, scores=parsed,
                       comments=clean, submitted_at=now, revision=1, assignment_id=assignment.id)
    if previous is not None:
        sheet = replace(sheet, revision=previous.revision + 1)
    return sheet

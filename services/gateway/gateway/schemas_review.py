"""JSON schemas of the review routes (validated at the edge; the service checks every rule again)."""
from __future__ import annotations

STR = {"type": "string"}
TIME = {"type": "string", "description": "带时区的时间，如 2025-03-01T18:00:00+08:00"}
AMOUNT = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "description": "元，最多两位小数"}
CRITERION = {"type": "object", "required": ["code", "label", "weight", "scale"], "properties": {
    "code": STR, "label": STR, "weight": {"type": ["string", "number"]},
    "scale": {"type": "object", "properties": {"min": {"type": ["string", "number"]},
                                               "max": {"type": ["string", "number"]}}},
    "comment": {"enum": ["optional", "always", "below"]}, "comment_below": {"type": ["string", "number"]},
    "description": STR}}
RUBRIC = {"type": "object", "required": ["criteria"], "properties": {
    "name": STR, "programme": STR, "criteria": {"type": "array", "items": CRITERION}}}
BONUS_POLICY = {"type": "object", "properties": {
    "points": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    "cap": {"type": ["string", "number"]}}}
ROUND_CREATE = {"type": "object", "additionalProperties": False, "required": ["call_id", "programme_code", "close_at"],
                "properties": {"call_id": STR, "programme_code": STR, "close_at": TIME, "name": STR,
                               "reviewers_per_application": {"type": "integer", "minimum": 1},
                               "load_cap": {"type": "integer", "minimum": 1},
                               "rubric": RUBRIC, "bonus_policy": BONUS_POLICY}}
ROUND_PATCH = {"type": "object", "additionalProperties": False, "properties": {
    "close_at": TIME, "reviewers_per_application": {"type": "integer", "minimum": 1},
    "load_cap": {"type": "integer", "minimum": 1}, "rubric": RUBRIC, "bonus_policy": BONUS_POLICY}}
ROUND_OUT = {"type": "object", "required": ["id", "state"], "properties": {
    "id": STR, "call_id": STR, "programme_code": STR, "name": STR, "state": STR, "state_label": STR,
    "close_at": STR, "reviewers_per_application": {"type": "integer"}, "load_cap": {"type": "integer"},
    "caps": {"type": "object"}, "applications": {"type": "integer"}}}
CONFLICT = {"type": "object", "additionalProperties": False, "required": ["reason"],
            "properties": {"reason": {"type": "string", "minLength": 1}}}
SCORE = {"type": "object", "additionalProperties": False, "required": ["scores"], "properties": {
    "scores": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    "comments": {"type": "object", "additionalProperties": STR}}}
SELECTION = {"type": "object", "additionalProperties": False, "required": ["lines"], "properties": {
    "note": STR,
    "lines": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                         "required": ["application_id", "outcome"], "properties": {
        "application_id": STR, "outcome": {"enum": ["selected", "recommended_national", "not_selected"]},
        "reason": STR, "amount": AMOUNT}}}}}
APPROVE = {"type": "object", "additionalProperties": False,
           "properties": {"reason": STR, "publish": {"type": "boolean", "description": "批准后立即公布结果"}}}
REASON = {"type": "object", "additionalProperties": False, "required": ["reason"],
          "properties": {"reason": {"type": "string", "minLength": 1}}}
MINISTRY = {"type": "object", "additionalProperties": False, "required": ["approved", "document_ref", "decided_on"],
            "properties": {"approved": {"type": "boolean"}, "document_ref": STR,
                           "decided_on": {"type": "string", "format": "date"}, "amount": AMOUNT, "reason": STR}}
EVALUATION = {"type": "object", "additionalProperties": False, "required": ["scores"], "properties": {
    "scores": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    "comments": {"type": "object", "additionalProperties": STR}, "remark": STR}}
PRIORITY_LIST = {"type": "object", "required": ["counties"], "properties": {
    "source": STR, "version": STR,
    "counties": {"type": "array", "items": {"type": "object", "required": ["county", "categories"], "properties": {
        "county": STR, "league_code": {"type": ["string", "null"]},
        "categories": {"type": "array", "items": {"enum": ["rural_revitalisation_key", "border",
                                                           "old_revolutionary"]}}}}}}}
OUTCOME = {"type": "object", "required": ["application_id", "published"], "properties": {
    "application_id": STR, "published": {"type": "boolean"}, "status": STR, "outcome": STR, "outcome_label": STR}}

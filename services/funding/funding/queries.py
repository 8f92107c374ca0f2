"""The auditors' API: disbursements, ledger entries and audit records, filtered, paginated, totalled, exported.

Every query is itself written to the audit trail (who asked, when, for what, why: the optional ``reason``),
in the same transaction that reads.

Filters (all optional; unknown keys are refused so that a typo never silently widens a query):
    call_id, programme (programme_code), unit_id, league_city (league_city_code), project_id (application_id)
                      the budget the row belongs to
    date_from, date_to  YYYY-MM-DD (a day in Beijing time, both ends inclusive) or an ISO time with zone
    amount_min, amount_max   yuan, e.g. "1000.00" (audit records: the ``amount`` in the record's data)
    status            disbursements: status (comma-separated); ledger: transfer kind; audit: action
    budget_id, account (ledger), entity, entity_id, actor_id (audit)
    limit (1-500, default 50), offset, reason
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grassroots.context import Actor
from grassroots.errors import Conflict, ValidationFailed

from . import audit
from .domain import exports
from .domain.disbursement import STATUS_LABELS, Status
from .domain.money import ZERO, parse_yuan, to_wire
from .models import AuditRecord, Budget, Disbursement, LedgerEntry, LedgerTransfer

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDIT_READERS = ("auditor", "finance_officer", "programme_officer", "admin")
KINDS = ("disbursements", "ledger", "audit")
KIND_LABELS = {"disbursements": "拨付记录", "ledger": "账簿分录", "audit": "审计记录"}
ALIASES = {"programme_code": "programme", "league_city_code": "league_city", "application_id": "project_id"}
COMMON = {"call_id", "programme", "unit_id", "league_city", "project_id", "date_from", "date_to", "amount_min",
          "amount_max", "status", "limit", "offset", "reason", "budget_id"}
EXTRA = {"disbursements": set(), "ledger": {"account"}, "audit": {"entity", "entity_id", "actor_id"}}
BUDGET_FILTERS = ("call_id", "programme", "unit_id", "league_city", "project_id")
MAX_LIMIT = 500
EXPORT_MAX = 100_000
KIND_OF_TRANSFER = {"allocation": "预算下达", "payment": "拨付", "return": "退回", "reversal": "冲销"}


def _problem(path: str, code: str, message: str) -> dict:
    return {"path": path, "code": code, "message": message}


def _time(value: str, path: str, end: bool, problems: list) -> dt.datetime | None:
    text = str(value).strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), SHANGHAI)
            return start.astimezone(dt.timezone.utc)
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if t.tzinfo is None:
            t = t.replace(tzinfo=SHANGHAI)
        return t.astimezone(dt.timezone.utc)
    except ValueError:
        problems.append(_problem(path, "invalid_date", "日期格式应为 2025-03-01 或带时区的时间"))
        return None


def parse_filters(kind: str, filters: dict | None) -> dict:
    """Normalised filters or ValidationFailed naming every bad one."""
    if kind not in KINDS:
        raise ValidationFailed("unknown_query", "查询类别无效，应为 disbursements、ledger 或 audit",
                               [_problem("kind", "unknown_query", "查询类别无效")])
    out: dict[str, Any] = {}
    problems: list[dict] = []
    allowed = COMMON | EXTRA[kind]
    for raw_key, value in (filters or {}).items():
        key = ALIASES.get(raw_key, raw_key)
        if key not in allowed:
            problems.append(_problem(raw_key, "unknown_filter", f"不支持的查询条件“{raw_key}”"))
            continue
        if value is None or str(value).strip() == "":
            continue
        value = str(value).strip()
        if key in ("date_from", "date_to"):
            out[key] = _time(value, raw_key, key == "date_to", problems)
            if key == "date_to" and out[key] is not None and len(value) != 10:
                out[key] = out[key] + dt.timedelta(microseconds=1)   # an exact end time is inclusive too
        elif key in ("amount_min", "amount_max"):
            try:
                out[key] = parse_yuan(value, raw_key)
            except ValidationFailed as exc:
                problems.extend(exc.details)
        elif key in ("limit", "offset"):
            if not value.isdigit():
                problems.append(_problem(raw_key, "invalid_number", "应为非负整数"))
                continue
            out[key] = int(value)
        elif key == "status":
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
            if kind == "disbursements":
                bad = [v for v in out[key] if v not in {s.value for s in Status}]
                if bad:
                    problems.append(_problem(raw_key, "unknown_status", f"拨付状态无效：{'、'.join(bad)}"))
        else:
            out[key] = value
    limit = out.get("limit", 50)
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(_problem("limit", "invalid_limit", f"每页条数应为1至{MAX_LIMIT}"))
    if out.get("date_from") and out.get("date_to") and out["date_from"] >= out["date_to"]:
        problems.append(_problem("date_to", "invalid_range", "结束日期不能早于开始日期"))
    if out.get("amount_min") is not None and out.get("amount_max") is not None and out["amount_min"] > out["amount_max"]:
        problems.append(_problem("amount_max", "invalid_range", "金额上限不能小于下限"))
    if problems:
        raise ValidationFailed("invalid_filters", "查询条件有误，请核对", problems)
    out.setdefault("limit", 50)
    out.setdefault("offset", 0)
    return out


def _budget_where(f: dict, budget_col) -> list:
    conds = [getattr(Budget, k) == f[k] for k in BUDGET_FILTERS if k in f]
    if "budget_id" in f:
        conds.append(budget_col == f["budget_id"])
    return conds


def _needs_budget(f: dict) -> bool:
    return any(k in f for k in BUDGET_FILTERS)


# -- the three queries ------------------------------------------------------------------------------

def _disbursement_query(f: dict):
    d = Disbursement.__table__
    b = Budget.__table__
    conds = _budget_where(f, d.c.budget_id)
    if "date_from" in f:
        conds.append(d.c.requested_at >= f["date_from"])
    if "date_to" in f:
        conds.append(d.c.requested_at < f["date_to"])
    if "amount_min" in f:
        conds.append(d.c.amount >= f["amount_min"])
    if "amount_max" in f:
        conds.append(d.c.amount <= f["amount_max"])
    if "status" in f:
        conds.append(d.c.status.in_(f["status"]))
    return d, b, conds


def _ledger_query(f: dict):
    e = LedgerEntry.__table__
    conds = []
    joined = e
    if _needs_budget(f):
        joined = joined.join(Budget.__table__, Budget.id == e.c.budget_id)
    conds += _budget_where(f, e.c.budget_id)
    if "account" in f:
        conds.append(e.c.account == f["account"])
    if "date_from" in f:
        conds.append(e.c.created_at >= f["date_from"])
    if "date_to" in f:
        conds.append(e.c.created_at < f["date_to"])
    if "amount_min" in f:
        conds.append(sa.func.abs(e.c.amount) >= f["amount_min"])
    if "amount_max" in f:
        conds.append(sa.func.abs(e.c.amount) <= f["amount_max"])
    if "status" in f:
        conds.append(e.c.kind.in_(f["status"]))
    return e, joined, conds


def _audit_query(f: dict):
    a = AuditRecord.__table__
    joined = a.join(Budget.__table__, Budget.id == a.c.budget_id) if _needs_budget(f) else a
    conds = _budget_where(f, a.c.budget_id)
    for key in ("entity", "entity_id", "actor_id"):
        if key in f:
            conds.append(a.c[key] == f[key])
    if "status" in f:
        conds.append(a.c.action.in_(f["status"]))
    if "date_from" in f:
        conds.append(a.c.at >= f["date_from"])
    if "date_to" in f:
        conds.append(a.c.at < f["date_to"])
    amount = AuditRecord.data["amount"].as_string()
    if "amount_min" in f:
        conds.append(sa.cast(amount, sa.Numeric(18, 2)) >= f["amount_min"])
    if "amount_max" in f:
        conds.append(sa.cast(amount, sa.Numeric(18, 2)) <= f["amount_max"])
    return a, joined, conds


# Up to this many matching rows, a page is sorted after filtering. Beyond it, matches are dense enough that
# walking the time index backwards finds a page at once. Below it, that walk can cross most of the table
# before it has 50 matches (a rare kind in a small budget set), so the ordering is hidden from the planner
# (coalesce) and it starts from the budgets instead. The totals query runs first and gives the count.
SORT_IN_MEMORY = 5000


def _newest_first(time_col, id_col, count: int) -> tuple:
    if count > SORT_IN_MEMORY:
        return time_col.desc(), id_col.desc()
    return sa.func.coalesce(time_col, time_col).desc(), id_col.desc()


def _dec(v) -> Decimal:
    return Decimal(v if v is not None else 0).quantize(Decimal("0.01"))


def _rows(session: Session, kind: str, f: dict, limit: int | None, offset: int) -> tuple[list[dict], dict]:
    """Raw rows (Decimal, datetime) and the totals over the whole filtered set."""
    if kind == "disbursements":
        d, b, conds = _disbursement_query(f)
        where = sa.and_(sa.true(), *conds)
        j = d.join(b, b.c.id == d.c.budget_id)
        totals_row = session.execute(sa.select(sa.func.count(), sa.func.sum(d.c.amount), sa.func.sum(d.c.returned_amount))
                                     .select_from(j).where(where)).one()
        stmt = (sa.select(d, b.c.call_id, b.c.programme, b.c.unit_name, b.c.unit_id, b.c.league_city, b.c.project_id,
                          b.c.title, b.c.source)
                .select_from(j).where(where).order_by(d.c.requested_at.desc(), d.c.id.desc()).offset(offset))
        if limit is not None:
            stmt = stmt.limit(limit)
        items = []
        for r in session.execute(stmt).mappings():
            row = dict(r)
            row["net_amount"] = row["amount"] - row["returned_amount"]
            row["status_label"] = STATUS_LABELS[Status(row["status"])]
            row.pop("idempotency_key", None)
            row.pop("request_fingerprint", None)
            items.append(row)
        amount, returned = _dec(totals_row[1]), _dec(totals_row[2])
        return items, {"count": totals_row[0], "amount": amount, "returned_amount": returned,
                       "net_amount": amount - returned}
    if kind == "ledger":
        e, joined, conds = _ledger_query(f)
        where = sa.and_(sa.true(), *conds)
        totals_row = session.execute(sa.select(
            sa.func.count(), sa.func.sum(sa.case((e.c.amount > 0, e.c.amount), else_=0)),
            sa.func.sum(sa.case((e.c.amount < 0, -e.c.amount), else_=0))).select_from(joined).where(where)).one()
        if totals_row[0] == 0:
            return [], {"count": 0, "debit": ZERO, "credit": ZERO}
        page = sa.select(e).select_from(joined).where(where).order_by(*_newest_first(e.c.created_at, e.c.id,
                                                                                     totals_row[0])).offset(offset)
        if limit is not None:
            page = page.limit(limit)
        page = page.subquery()
        t = LedgerTransfer.__table__
        b = Budget.__table__
        stmt = (sa.select(page, t.c.memo, t.c.reverses, b.c.unit_name, b.c.project_id, b.c.call_id,
                          b.c.programme, b.c.league_city)
                .select_from(page.join(t, t.c.id == page.c.transfer_id).outerjoin(b, b.c.id == page.c.budget_id))
                .order_by(page.c.created_at.desc(), page.c.id.desc()))
        items = []
        for r in session.execute(stmt).mappings():
            row = dict(r)
            row["debit"] = row["amount"] if row["amount"] > 0 else None
            row["credit"] = -row["amount"] if row["amount"] < 0 else None
            row["kind_label"] = KIND_OF_TRANSFER.get(row["kind"], row["kind"])
            items.append(row)
        return items, {"count": totals_row[0], "debit": _dec(totals_row[1]), "credit": _dec(totals_row[2])}
    a, joined, conds = _audit_query(f)
    where = sa.and_(sa.true(), *conds)
    count = session.execute(sa.select(sa.func.count()).select_from(joined).where(where)).scalar()
    if count == 0:
        return [], {"count": 0}
    order = a.c.seq if count > SORT_IN_MEMORY else sa.func.coalesce(a.c.seq, a.c.seq)
    stmt = sa.select(a).select_from(joined).where(where).order_by(order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    items = [dict(r) for r in session.execute(stmt).mappings()]
    return items, {"count": count}


def _wire(value):
    if isinstance(value, Decimal):
        return to_wire(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if hasattr(value, "hex") and not isinstance(value, (str, bytes)):   # uuid.UUID
        return str(value)
    return value


def _filters_for_audit(f: dict) -> dict:
    return {k: _wire(v) for k, v in f.items() if k != "reason"}


def search(session: Session, actor: Actor, kind: str, filters: dict | None) -> dict:
    """One page of ``kind`` with totals over every matching row; recorded in the audit trail."""
    actor.require(*AUDIT_READERS)
    f = parse_filters(kind, filters)
    items, totals = _rows(session, kind, f, f["limit"], f["offset"])
    audit.append(session, actor, "auditor_query", "query", kind, reason=f.get("reason", ""),
                 data={"filters": _filters_for_audit(f), "total": totals["count"], "returned": len(items)})
    return {"items": _wire(items), "total": totals["count"], "totals": _wire(totals), "limit": f["limit"],
            "offset": f["offset"]}


COLUMNS = {
    "disbursements": [("id", "拨付编号"), ("tranche", "批次"), ("call_id", "申报通知"), ("programme", "项目类别"),
                      ("unit_name", "单位名称"), ("league_city", "盟市"), ("project_id", "申报项目编号"),
                      ("title", "项目名称"), ("amount", "拨付金额"), ("returned_amount", "退回金额"),
                      ("net_amount", "净拨付金额"), ("status_label", "状态"), ("purpose", "用途"),
                      ("requested_by", "申请人"), ("requested_at", "申请时间"), ("approved_by", "审批人"),
                      ("approved_at", "审批时间"), ("paid_at", "支付时间"), ("bank_reference", "银行流水号"),
                      ("failed_reason", "失败原因")],
    "ledger": [("id", "分录号"), ("created_at", "记账时间"), ("transfer_id", "转账编号"), ("kind_label", "业务类型"),
               ("account", "科目"), ("debit", "借方金额"), ("credit", "贷方金额"), ("memo", "摘要"),
               ("unit_name", "单位名称"), ("project_id", "申报项目编号"), ("budget_id", "预算编号")],
    "audit": [("seq", "序号"), ("at", "时间"), ("actor_id", "操作人"), ("actor_role", "角色"), ("action", "操作"),
              ("entity", "对象类型"), ("entity_id", "对象编号"), ("reason", "原因"), ("data_text", "内容"),
              ("prev_hash", "前序哈希"), ("hash", "哈希")],
}
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def export(session: Session, actor: Actor, kind: str, fmt: str, filters: dict | None) -> dict:
    """Every matching row (up to EXPORT_MAX) as CSV or .xlsx, base64 in the RPC reply."""
    actor.require(*AUDIT_READERS)
    if fmt not in FORMATS:
        raise ValidationFailed("unknown_format", "导出格式应为 csv 或 xlsx",
                               [_problem("format", "unknown_format", "导出格式应为 csv 或 xlsx")])
    f = parse_filters(kind, {k: v for k, v in (filters or {}).items() if k not in ("limit", "offset")})
    items, totals = _rows(session, kind, f, EXPORT_MAX + 1, 0)
    if len(items) > EXPORT_MAX:
        raise Conflict("export_too_large", f"符合条件的记录超过{EXPORT_MAX}条，请缩小查询范围后再导出",
                       {"total": totals["count"], "max": EXPORT_MAX})
    for row in items:
        if kind == "audit":
            row["data_text"] = json.dumps(row.get("data"), ensure_ascii=False, sort_keys=True)
        for k, v in list(row.items()):
            if hasattr(v, "hex") and not isinstance(v, (str, bytes, Decimal, int, dt.datetime)):
                row[k] = str(v)
    columns = COLUMNS[kind]
    content = (exports.to_csv(columns, items) if fmt == "csv"
               else exports.to_xlsx(columns, items, sheet_title=KIND_LABELS[kind]))
    audit.append(session, actor, "auditor_export", "query", kind, reason=f.get("reason", ""),
                 data={"filters": _filters_for_audit(f), "format": fmt, "rows": len(items)})
    stamp = dt.datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
    return {"filename": f"{KIND_LABELS[kind]}-{stamp}.{fmt}", "mimetype": FORMATS[fmt], "rows": len(items),
            "content_base64": base64.b64encode(content).decode()}


def final_accounts(session: Session, actor: Actor, filters: dict | None) -> dict:
    """The latest final accounts per budget, flagged ones first (officer and auditor view)."""
    from .models import FinalAccount
    from .usecases import final_account_dict
    actor.require(*AUDIT_READERS)
    f = dict(filters or {})
    latest = (sa.select(FinalAccount.budget_id, sa.func.max(FinalAccount.version).label("v"))
              .group_by(FinalAccount.budget_id).subquery())
    q = (sa.select(FinalAccount, Budget).join(latest, sa.and_(latest.c.budget_id == FinalAccount.budget_id,
                                                              latest.c.v == FinalAccount.version))
         .join(Budget, Budget.id == FinalAccount.budget_id)
         .order_by(FinalAccount.flagged.desc(), FinalAccount.reported_at.desc()))
    for raw_key, value in f.items():
        key = ALIASES.get(raw_key, raw_key)
        if key in BUDGET_FILTERS and value:
            q = q.where(getattr(Budget, key) == str(value))
    if str(f.get("flagged", "")).lower() in ("1", "true", "yes"):
        q = q.where(FinalAccount.flagged.is_(True))
    items = [final_account_dict(fa, b) for fa, b in session.execute(q)]
    audit.append(session, actor, "auditor_query", "query", "final_accounts", reason=str(f.get("reason") or ""),
                 data={"filters": {k: str(v) for k, v in f.items() if k != "reason"}, "total": len(items)})
    return {"items": items, "total": len(items), "flagged": sum(1 for i in items if i["flagged"])}

"""Who acts: an (id, role) pair and the role check shared by the funding rules."""
from __future__ import annotations

from dataclasses import dataclass

from grassroots.errors import Forbidden

FINANCE_OFFICER = "finance_officer"
AUDITOR = "auditor"
PROGRAMME_OFFICER = "programme_officer"
SYSTEM = "system"

ROLE_LABELS = {FINANCE_OFFICER: "财务人员", AUDITOR: "审计人员", PROGRAMME_OFFICER: "业务处室人员", SYSTEM: "系统"}


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    role: str


def require_role(actor: Actor, *roles: str) -> None:
    if not actor or not actor.id:
        raise Forbidden("actor_required", "无法确认操作人身份")
    if actor.role not in roles:
        wanted = "、".join(ROLE_LABELS.get(r, r) for r in roles)
        raise Forbidden("role_not_permitted", f"此操作仅限{wanted}执行")

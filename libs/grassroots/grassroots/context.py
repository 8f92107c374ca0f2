"""The acting user and the correlation id, carried through every RPC and event.

The gateway authenticates a person and writes ``user`` (a dict: id, username, role, unit_id, name) and
``correlation_id`` into the worker's context data; Nameko sends context data as AMQP headers on every RPC
and our outbox copies them onto every event, so a service always authorises by the originating user,
not by whichever service called it.

Usage (in a service):
    actor = Actor.from_worker(worker_ctx)      # or the ``CurrentActor`` dependency: self.actor
    actor.require("programme_officer")
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from nameko.extensions import DependencyProvider

from .errors import Forbidden, Unauthenticated

ROLES = {
    "applicant_unit": "申报单位",
    "intake_clerk": "人事人才公共服务中心（受理）",
    "programme_officer": "专业技术人员管理处（项目处室）",
    "reviewer": "评审专家",
    "expert": "专家",
    "finance_officer": "财务人员",
    "auditor": "审计人员",
    "admin": "系统管理员",
    "system": "系统",
}

USER_KEY = "user"
CORRELATION_KEY = "correlation_id"


@dataclass(frozen=True)
class Actor:
    id: str
    role: str
    unit_id: str | None = None
    username: str | None = None
    name: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    SYSTEM_ID = "system"

    @classmethod
    def system(cls) -> "Actor":
        return cls(id=cls.SYSTEM_ID, role="system", username="system", name="系统")

    @classmethod
    def from_dict(cls, data) -> "Actor | None":
        if not data:
            return None
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        return cls(id=str(data["id"]), role=data["role"], unit_id=data.get("unit_id"),
                   username=data.get("username"), name=data.get("name"))

    def to_dict(self) -> dict:
        # spelled out: dataclasses.asdict deep-copies recursively and was a tenth of notify's event handling
        return {"id": self.id, "role": self.role, "unit_id": self.unit_id, "username": self.username,
                "name": self.name}

    @classmethod
    def from_worker(cls, worker_ctx) -> "Actor | None":
        return cls.from_dict(worker_ctx.data.get(USER_KEY))

    def has(self, *roles: str) -> bool:
        return self.role in roles or self.role == "system" or (self.role == "admin" and "admin" in roles)

    def require(self, *roles: str) -> "Actor":
        if self.role in roles or self.role == "system":
            return self
        names = "、".join(ROLES.get(r, r) for r in roles)
        raise Forbidden("forbidden_role", f"当前账号无权执行此操作，需要以下角色之一：{names}",
                        {"required": list(roles), "role": self.role})

    def require_unit(self, unit_id: str | None) -> "Actor":
        """An applicant unit acts only for its own unit; other roles pass."""
        if self.role == "applicant_unit" and (self.unit_id is None or str(self.unit_id) != str(unit_id)):
            raise Forbidden("not_your_unit", "只能查看或修改本单位的申报材料")
        return self


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class CurrentActor(DependencyProvider):
    """Injects a callable returning the acting ``Actor`` of this worker (raises 401 if there is none)."""

    def get_dependency(self, worker_ctx):
        def current(optional: bool = False) -> Actor | None:
            actor = Actor.from_worker(worker_ctx)
            if actor is None and not optional:
                raise Unauthenticated("not_authenticated", "请先登录")
            return actor
        return current


def correlation_id_of(worker_ctx) -> str:
    """The request's correlation id: set by the gateway, else derived from the first call in the chain."""
    cid = worker_ctx.data.get(CORRELATION_KEY)
    if cid:
        return cid
    origin = worker_ctx.origin_call_id or worker_ctx.call_id
    worker_ctx.data[CORRELATION_KEY] = origin
    return origin

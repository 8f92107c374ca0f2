"""Experts' Nameko entrypoints."""
from __future__ import annotations

import sqlalchemy as sa

from grassroots.db import Database
from grassroots.errors import ValidationFailed
from grassroots.events import event_handler
from grassroots.service import ServiceBase, rpc

from .models import Base, Demand, Expert

LEVELS = ("正高级", "副高级", "中级", "初级", "无")


def _expert(e: Expert) -> dict:
    return {"id": e.id, "name": e.name, "unit_id": e.unit_id, "unit_name": e.unit_name,
            "league_city_code": e.league_city_code, "title": e.title, "title_level": e.title_level,
            "specialty": e.specialty, "tags": e.tags, "pool_status": e.pool_status}


class ExpertsService(ServiceBase):
    name = "experts"
    db = Database(Base)

    @rpc
    def register_expert(self, data):
        actor = self.current_actor().require("programme_officer", "admin")
        problems = []
        if not (data.get("name") or "").strip():
            problems.append({"path": "name", "code": "required", "message": "请填写专家姓名"})
        if data.get("title_level") not in LEVELS:
            problems.append({"path": "title_level", "code": "invalid_choice", "message": "职称级别不正确"})
        if not data.get("league_city_code"):
            problems.append({"path": "league_city_code", "code": "required", "message": "请选择所属盟市"})
        if problems:
            raise ValidationFailed("expert_invalid", "专家信息有误，请按提示修改", problems)
        with self.db.transaction() as uow:
            e = Expert(name=data["name"].strip(), unit_id=data.get("unit_id"), unit_name=data.get("unit_name", ""),
                       league_city_code=data["league_city_code"], title=data.get("title", ""),
                       title_level=data["title_level"], specialty=data.get("specialty", ""),
                       tags=data.get("tags") or [])
            uow.session.add(e)
            uow.session.flush()
            result = _expert(e)
            uow.publish("expert_registered", {"expert": result, "by": actor.id})
        return result

    @rpc
    def list_experts(self, filters=None):
        self.current_actor().require("programme_officer", "admin", "auditor")
        with self.db.session() as s:
            return [_expert(e) for e in s.scalars(sa.select(Expert).order_by(Expert.created_at))]

    @event_handler("intake", "application_submitted")
    def on_application_submitted(self, envelope):
        """The 10-15 service demands of a postdoc hosting application become grassroots demands."""
        with self.db.transaction(handling=envelope) as uow:
            if uow.duplicate:
                return
            app = envelope["payload"]["application"]
            for item in (app.get("form") or {}).get("demands") or []:
                uow.session.add(Demand(source_application_id=app["id"], unit_id=app["unit_id"],
                                       league_city_code=app["league_city_code"],
                                       title=str(item.get("title") or "")[:200],
                                       description=str(item.get("description") or ""),
                                       experts_wanted=int(item.get("experts_wanted") or 1)))

    @rpc
    def list_demands(self, filters=None):
        self.current_actor().require("programme_officer", "admin")
        with self.db.session() as s:
            q = sa.select(Demand).order_by(Demand.created_at)
            if (filters or {}).get("source_application_id"):
                q = q.where(Demand.source_application_id == filters["source_application_id"])
            return [{"id": d.id, "source_application_id": d.source_application_id, "title": d.title,
                     "description": d.description, "league_city_code": d.league_city_code,
                     "experts_wanted": d.experts_wanted} for d in s.scalars(q)]


SERVICE = ExpertsService

"""The people directory over RPC: who holds a role, who belongs to a unit, one person's addresses.

The gateway owns the user table, so other services (notify) ask it who to tell instead of reading it.
Only active users are returned, in the shape ``{user_id, name, email, mobile, role, unit_id}``.

Usage (from another service):
    gateway = RpcProxy("gateway")
    gateway.users_with_role("finance_officer")   # -> [{user_id, name, email, mobile, role, unit_id}]
    gateway.users_of_unit(unit_id)
    gateway.user(user_id)                        # -> dict or None (unknown or inactive)
"""
from __future__ import annotations

import sqlalchemy as sa

from grassroots.service import rpc

from ..models import User


def directory_entry(u: User) -> dict:
    return {"user_id": u.id, "name": u.name, "email": u.email, "mobile": u.mobile, "role": u.role,
            "unit_id": u.unit_id}


class DirectoryRpc:
    @rpc
    def users_with_role(self, role):
        with self.db.session() as s:
            rows = s.scalars(sa.select(User).where(User.role == str(role), User.active.is_(True))
                             .order_by(User.username))
            return [directory_entry(u) for u in rows]

    @rpc
    def users_of_unit(self, unit_id):
        if not unit_id:
            return []
        with self.db.session() as s:
            rows = s.scalars(sa.select(User).where(User.unit_id == str(unit_id), User.active.is_(True))
                             .order_by(User.username))
            return [directory_entry(u) for u in rows]

    @rpc
    def user(self, user_id):
        with self.db.session() as s:
            u = s.get(User, str(user_id))
            return directory_entry(u) if u is not None and u.active else None

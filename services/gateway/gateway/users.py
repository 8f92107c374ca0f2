"""Users of the gateway: creation (admin route and CLI) and their public shape."""
from __future__ import annotations

import sqlalchemy as sa

from grassroots.errors import Conflict, ValidationFailed

from .auth import check_new_user, hash_password
from .models import User


def user_dict(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "unit_id": u.unit_id, "name": u.name,
            "email": u.email, "mobile": u.mobile, "active": u.active}


def create_user(db, data: dict) -> dict:
    """Used by the admin route and by ``python -m gateway.admin``; ``db`` has ``transaction()``."""
    problems = check_new_user(data)
    if problems:
        raise ValidationFailed("user_invalid", "用户信息有误，请按提示修改", problems)
    with db.transaction() as uow:
        if uow.session.scalar(sa.select(User.id).where(User.username == data["username"])):
            raise Conflict("username_taken", "用户名已被占用")
        user = User(username=data["username"], password_hash=hash_password(data["password"]), role=data["role"],
                    unit_id=data.get("unit_id"), name=data.get("name") or data["username"],
                    email=data.get("email"), mobile=data.get("mobile"))
        uow.session.add(user)
        uow.session.flush()
        return user_dict(user)

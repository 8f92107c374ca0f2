"""Routes: log in, who am I, users."""
from __future__ import annotations

import sqlalchemy as sa

from grassroots.errors import Unauthenticated

from .. import schemas as S
from ..api import route
from ..auth import DUMMY_HASH, issue_token, verify_password
from ..models import User
from ..users import create_user


class AuthRoutes:
    @route("POST", "/api/v1/auth/token", summary="登录，换取访问令牌", tags=("auth",), auth=False,
           body=S.TOKEN_REQUEST, response=S.TOKEN_RESPONSE)
    def token(self, req):
        with self.db.session() as s:
            user = s.scalar(sa.select(User).where(User.username == req.body["username"]))
        if user is None:
            verify_password(DUMMY_HASH, req.body["password"])
            raise Unauthenticated("bad_credentials", "用户名或密码错误")
        if not verify_password(user.password_hash, req.body["password"]) or not user.active:
            raise Unauthenticated("bad_credentials", "用户名或密码错误")
        return issue_token(user, self.config["JWT_SECRET"], int(self.config.get("JWT_TTL_SECONDS", 3600)))

    @route("GET", "/api/v1/me", summary="当前登录用户", tags=("auth",), response=S.USER)
    def me(self, req):
        return req.actor

    @route("POST", "/api/v1/users", summary="创建用户（管理员）", tags=("auth",), roles=("admin",),
           body=S.NEW_USER, response=S.USER, status=201)
    def create_user(self, req):
        return create_user(self.db, req.body)

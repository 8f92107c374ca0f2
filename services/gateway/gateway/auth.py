"""Passwords (argon2) and access tokens (signed JWT with expiry)."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from grassroots.context import ROLES
from grassroots.errors import Unauthenticated, ValidationFailed

_hasher = PasswordHasher()
ALGORITHM = "HS256"
ISSUER = "grassroots-gateway"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A dummy hash to spend the same time on unknown usernames (no user enumeration by timing).
DUMMY_HASH = _hasher.hash("not-a-real-password")


def check_new_user(data: dict) -> list[dict]:
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{3,80}", data.get("username") or ""):
        problems.append({"path": "username", "code": "invalid",
                         "message": "用户名须为 3-80 位字母、数字或 _ . @ -"})
    if len(data.get("password") or "") < 10:
        problems.append({"path": "password", "code": "too_short", "message": "密码至少 10 位"})
    if data.get("role") not in ROLES or data.get("role") == "system":
        problems.append({"path": "role", "code": "invalid_choice", "message": "角色不正确"})
    if data.get("role") == "applicant_unit" and not data.get("unit_id"):
        problems.append({"path": "unit_id", "code": "required", "message": "申报单位账号须关联一个申报单位"})
    return problems


def issue_token(user, secret: str, ttl_seconds: int) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": user.id, "username": user.username, "role": user.role, "unit_id": user.unit_id,
              "name": user.name, "iat": now, "nbf": now, "exp": now + dt.timedelta(seconds=ttl_seconds),
              "iss": ISSUER, "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, secret, algorithm=ALGORITHM)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl_seconds}


# Tokens whose signature was verified, with the secrets that verified them: a client sends the same token
# on every request, and checking an HMAC and parsing the claims each time is a tenth of the gateway's CPU.
# Only the time window is checked again on a hit; a changed secret is a different key, so a rotated-out
# secret's tokens are verified afresh (and refused). Bounded: cleared when full.
_VERIFIED: dict[tuple, dict] = {}
_VERIFIED_MAX = 10_000


def decode_token(token: str, secrets: list[str], now: float | None = None) -> dict:
    """Verify with the current secret, then the previous one (key rotation without logging everyone out)."""
    secrets = tuple(s for s in secrets if s)
    key = (token, secrets)
    claims = _VERIFIED.get(key)
    if claims is not None:
        now = dt.datetime.now(dt.timezone.utc).timestamp() if now is None else now
        if now >= claims["exp"]:
            raise Unauthenticated("token_expired", "登录已过期，请重新登录")
        if now >= claims.get("nbf", 0):
            return claims
    last_error = None
    for secret in secrets:
        try:
            claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "role"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token_expired", "登录已过期，请重新登录") from None
        except jwt.InvalidTokenError as exc:
            last_error = exc
            continue
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[key] = claims
        return claims
    raise Unauthenticated("token_invalid", "登录凭证无效，请重新登录") from last_error


def require_fields(data, *names):
    missing = [n for n in names if not data.get(n)]
    if missing:
        raise ValidationFailed("invalid_request", "请求缺少必填项",
                               [{"path": n, "code": "required", "message": f"缺少 {n}"} for n in missing])

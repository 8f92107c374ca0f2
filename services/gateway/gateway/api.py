"""A small routing layer over Nameko's HTTP entrypoint: authentication, role checks, JSON-schema validation
at the edge, one error table, and an OpenAPI 3 document generated from the same route declarations.

Usage:
    class Gateway:
        @route("POST", "/api/v1/calls", summary="创建申报通知", roles=OFFICERS, body=CALL_SCHEMA, status=201)
        def create_call(self, req):
            return req.rpc("intake", "create_call", req.body)
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

import eventlet
import structlog
from jsonschema import Draft202012Validator
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.wrappers import Response

from grassroots.context import CORRELATION_KEY, USER_KEY, new_correlation_id
from grassroots.errors import (BadRequest, DomainError, Forbidden, Unauthenticated, ValidationFailed,
                               from_wire)
from grassroots.logging import get_logger
from grassroots.service import http

from .auth import decode_token

log = get_logger("gateway")
ERROR_SCHEMA = {"type": "object", "required": ["code", "message"], "properties": {
    "code": {"type": "string", "description": "稳定的机器可读错误码"},
    "message": {"type": "string", "description": "可直接展示给用户的中文说明"},
    "details": {"description": "补充信息；表单校验时为问题列表 [{path, code, message}]"}}}
STATUS_TEXT = {200: "成功", 201: "已创建", 400: "请求有误", 401: "未登录或登录已过期", 403: "无权操作", 404: "不存在",
               409: "与当前状态冲突", 422: "校验未通过", 503: "服务暂不可用"}


class ServiceUnavailable(DomainError):
    status = 503


@dataclass
class RouteSpec:
    method: str
    path: str
    name: str
    summary: str
    tags: tuple
    roles: tuple | None
    auth: bool
    body: dict | None
    response: dict | None
    status: int
    query: dict = field(default_factory=dict)
    description: str = ""


ROUTES: list[RouteSpec] = []
_PARAM = re.compile(r"\{(\w+)\}")


class Request:
    """What a route handler gets."""

    def __init__(self, service, http_request, params: dict, body, actor):
        self.service = service
        self.http = http_request
        self.params = params
        self.body = body
        self.actor = actor
        self.query = {k: v for k, v in http_request.args.items()}

    def rpc(self, service: str, method: str, *args, **kwargs):
        proxy = getattr(self.service, f"{service}_rpc")
        timeout = float(self.service.config.get("RPC_TIMEOUT_SECONDS", 30))
        # the timeout's error is built only when it fires: building a DomainError (its wire JSON) on every
        # call was a tenth of the gateway's CPU
        timer = eventlet.Timeout(timeout)
        try:
            return getattr(proxy, method).call_async(*args, **kwargs).result()
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            raise ServiceUnavailable("service_timeout", f"服务（{service}）响应超时，请稍后重试") from None
        except RemoteError as exc:
            err = from_wire(exc.exc_type, exc.value)
            if err is not None:
                raise err from None
            raise
        except UnknownService:
            raise ServiceUnavailable("service_unavailable", f"服务（{service}）暂不可用，请稍后重试") from None
        finally:
            timer.cancel()


def _json_response(status: int, payload, headers=None) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json", headers=headers or {})


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict) -> Draft202012Validator:
    # Compiling a schema costs more than validating a body: once per route, not once per request.
    v = _VALIDATORS.get(id(schema))
    if v is None:
        v = _VALIDATORS[id(schema)] = Draft202012Validator(schema)
    return v


def _validation_problems(schema: dict, body) -> list[dict]:
    problems = []
    for err in sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.path)):
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err.absolute_path).replace(".[", "[")
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            path = f"{path}.{missing}" if path else missing
            problems.append({"path": path, "code": "required", "message": f"缺少必填项「{missing}」"})
        elif err.validator == "type":
            problems.append({"path": path or "$", "code": "wrong_type", "message": f"类型不正确，应为 {err.validator_value}"})
        elif err.validator == "additionalProperties":
            problems.append({"path": path or "$", "code": "unknown_field", "message": f"不认识的字段：{err.message}"})
        else:
            problems.append({"path": path or "$", "code": err.validator, "message": f"取值不符合要求（{err.validator}）"})
    return problems


def route(method: str, path: str, *, summary: str, tags=("misc",), roles=None, auth=True, body=None,
          response=None, status=200, query=None, description=""):
    """Declare a route: registers it for OpenAPI and wraps the handler with auth, validation and errors."""
    nameko_path = _PARAM.sub(r"<\1>", path)

    def decorator(fn):
        spec = RouteSpec(method, path, fn.__name__, summary, tuple(tags), tuple(roles) if roles else None, auth,
                         body, response, status, query or {}, description)
        ROUTES.append(spec)

        @functools.wraps(fn)
        def wrapper(self, request, **params):
            return dispatch(self, spec, fn, request, params)

        return http(method, nameko_path)(wrapper)

    return decorator


def dispatch(service, spec: RouteSpec, fn, request, params) -> Response:
    worker_ctx = service.request_context.worker_ctx
    cid = request.headers.get("X-Request-Id") or new_correlation_id()
    worker_ctx.data[CORRELATION_KEY] = cid
    structlog.contextvars.bind_contextvars(correlation_id=cid)
    headers = {"X-Request-Id": cid}
    try:
        actor = None
        if spec.auth:
            actor = authenticate(service, request)
            worker_ctx.data[USER_KEY] = actor
            if spec.roles and actor["role"] not in spec.roles:
                raise Forbidden("forbidden_role", "当前账号无权执行此操作", {"required": list(spec.roles)})
        body = None
        if spec.body is not None:
            try:
                body = json.loads(request.get_data(as_text=True) or "null")
            except ValueError:
                raise BadRequest("invalid_json", "请求体不是合法的 JSON") from None
            problems = _validation_problems(spec.body, body)
            if problems:
                raise ValidationFailed("invalid_request", f"请求有 {len(problems)} 处不符合要求", problems)
        result = fn(service, Request(service, request, params, body, actor))
        if isinstance(result, Response):
            result.headers.update(headers)
            return result
        return _json_response(spec.status, result, headers)
    except DomainError as exc:
        return _json_response(exc.status, exc.to_dict(), headers)
    except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
        log.exception("unhandled_error", route=spec.path, error=repr(exc))
        return _json_response(500, {"code": "internal_error", "message": "系统内部错误，请稍后重试或联系管理员",
                                    "details": {"request_id": cid}}, headers)


def authenticate(service, request) -> dict:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthenticated("not_authenticated", "请先登录（缺少 Authorization: Bearer 令牌）")
    cfg = service.config
    claims = decode_token(header[7:].strip(), [cfg.get("JWT_SECRET"), cfg.get("JWT_SECRET_PREVIOUS")])
    return {"id": claims["sub"], "role": claims["role"], "unit_id": claims.get("unit_id"),
            "username": claims.get("username"), "name": claims.get("name")}


def openapi_document(title: str, version: str) -> dict:
    paths: dict = {}
    for spec in ROUTES:
        op: dict = {"summary": spec.summary, "operationId": spec.name, "tags": list(spec.tags),
                    "responses": {}}
        if spec.description:
            op["description"] = spec.description
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in _PARAM.findall(spec.path)]
        params += [{"name": k, "in": "query", "required": False, "schema": v} for k, v in spec.query.items()]
        if params:
            op["parameters"] = params
        if spec.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec.body}}}
        ok = {"description": STATUS_TEXT.get(spec.status, "成功")}
        if spec.response is not None:
            ok["content"] = {"application/json": {"schema": spec.response}}
        op["responses"][str(spec.status)] = ok
        errors = [400, 404, 409, 422, 503] + ([401, 403] if spec.auth else [])
        for code in errors:
            op["responses"][str(code)] = {"description": STATUS_TEXT[code], "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        if spec.auth:
            op["security"] = [{"bearerAuth": []}]
            if spec.roles:
                op["x-roles"] = list(spec.roles)
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": title, "version": version}, "paths": paths,
            "components": {"schemas": {"Error": ERROR_SCHEMA},
                           "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                              "bearerFormat": "JWT"}}}}

"""The gateway: the HTTP API under /api/v1 that web clients use; every call goes to a service over RPC."""
from __future__ import annotations

import json

from kombu import Connection
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from grassroots.db import Database
from grassroots.metrics import MetricsServer, Observability
from grassroots.rpc import RpcProxy
from grassroots.service import http

from .api import openapi_document
from .models import Base
from .routes.auth import AuthRoutes
from .routes.directory import DirectoryRpc
from .routes.experts import ExpertsRoutes
from .routes.funding import FundingRoutes
from .routes.intake import IntakeRoutes
from .routes.notify import NotifyRoutes
from .routes.review import ReviewRoutes

VERSION = "0.1.0"


class RequestContext(DependencyProvider):
    """Gives a route the worker context, so it can set the acting user for the RPCs it makes."""

    class _Ctx:
        def __init__(self, worker_ctx):
            self.worker_ctx = worker_ctx

    def get_dependency(self, worker_ctx):
        return self._Ctx(worker_ctx)


class Config(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return self.container.config


class GatewayService(AuthRoutes, IntakeRoutes, ReviewRoutes, ExpertsRoutes, FundingRoutes, NotifyRoutes,
                     DirectoryRpc):
    name = "gateway"
    db = Database(Base)
    obs = Observability()
    metrics = MetricsServer()
    request_context = RequestContext()
    config = Config()
    intake_rpc = RpcProxy("intake")
    review_rpc = RpcProxy("review")
    experts_rpc = RpcProxy("experts")
    funding_rpc = RpcProxy("funding")
    notify_rpc = RpcProxy("notify")

    # health and docs ------------------------------------------------------------------------------------
    @http("GET", "/healthz")
    def healthz(self, request):
        return Response('{"ok": true}', mimetype="application/json")

    @http("GET", "/readyz")
    def readyz(self, request):
        """Ready only when the broker and every service answer."""
        import eventlet
        checks = {}
        try:
            with Connection(self.config["AMQP_URI"], connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"down: {type(exc).__name__}"
        for svc in ("intake", "review", "experts", "funding", "notify"):
            try:
                with eventlet.Timeout(2):
                    getattr(self, f"{svc}_rpc").health.call_async().result()
                checks[svc] = "ok"
            except BaseException as exc:  # noqa: BLE001 - eventlet.Timeout is a BaseException
                checks[svc] = f"down: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return Response(json.dumps({"ready": ok, "checks": checks}), status=200 if ok else 503,
                        mimetype="application/json")

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return Response(json.dumps(openapi_document("专家服务基层管理系统 API", VERSION), ensure_ascii=False),
                        mimetype="application/json")


SERVICE = GatewayService

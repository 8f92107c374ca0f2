"""RPC to other services: transient messages, and calls made as the system.

``RpcProxy`` is Nameko's, sending its requests transient (AMQP delivery mode 1) instead of persistent. A
request is worth nothing once the broker restarts: the caller's reply queue goes with its connection and the
caller's timeout has answered the user, so a request kept on disk could only take effect after its caller gave
up. Persisting each one costs the broker a disk write per call. Requests still go with publisher confirms, so a
call to a service that is not running fails at once (``UnknownService``). Events stay persistent
(``grassroots.events``); replies are transient too (``grassroots.service``).

A service that has already decided its caller may do something sometimes needs another service's RPC that
authorises by role (intake's ``unit_standing``, experts' ``propose_reviewers``). ``SystemRpcProxy`` is an
``RpcProxy`` whose calls carry ``user=system`` instead of the end user's identity, keeping the call id
stack and correlation of the worker.

Usage:
    class ReviewService(ServiceBase):
        experts = SystemRpcProxy("experts")
        ...
        self.experts.propose_reviewers(...)

``call_remote(fn, *args, **kwargs)`` turns a remote DomainError back into the same DomainError here.
"""
from __future__ import annotations

from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy as NamekoRpcProxy
from nameko.rpc import ServiceProxy

from .context import USER_KEY, Actor
from .errors import from_wire


class _SystemContext:
    """A worker context seen through the system actor: RPCs made with it carry user=system."""

    def __init__(self, worker_ctx):
        self._ctx = worker_ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    @property
    def context_data(self):
        data = dict(self._ctx.context_data)
        data[USER_KEY] = Actor.system().to_dict()
        return data


TRANSIENT = 1


class RpcProxy(NamekoRpcProxy):
    def __init__(self, target_service, **options):
        options.setdefault("delivery_mode", TRANSIENT)
        super().__init__(target_service, **options)


class SystemRpcProxy(RpcProxy):
    def get_dependency(self, worker_ctx):
        return ServiceProxy(_SystemContext(worker_ctx), self.target_service, self.rpc_reply_listener,
                            **self.options)


def call_remote(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except RemoteError as exc:
        domain = from_wire(exc.exc_type, exc.value)
        if domain is not None:
            raise domain from None
        raise

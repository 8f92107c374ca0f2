"""RPC to other services: transient messages on kept producers, and calls made as the system.

``RpcProxy`` is Nameko's, sending its requests transient (AMQP delivery mode 1) instead of persistent. A
request is worth nothing once the broker restarts: the caller's reply queue goes with its connection and the
caller's timeout has answered the user, so a request kept on disk could only take effect after its caller gave
up. Persisting each one costs the broker a disk write per call. Requests still go with publisher confirms, so a
call to a service that is not running fails at once (``UnknownService``). Events stay persistent
(``grassroots.events``); replies are transient too (``grassroots.service``).

Requests and replies go out on producers kept open and reused (``KeptProducers``, one per publish in flight):
Nameko's publisher builds a kombu ``Connection`` on every publish to find its pooled producer, 0.2 ms of CPU per
message against 0.1 with a producer kept.

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

import functools

from amqp.exceptions import ChannelError
from kombu import Connection, Producer
from nameko.amqp.publish import DEFAULT_RETRY_POLICY, UndeliverableMessage
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import RemoteError
from nameko.extensions import SharedExtension
from nameko.rpc import MethodProxy, ServiceProxy
from nameko.rpc import RpcProxy as NamekoRpcProxy

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


class KeptProducers:
    """Producers kept open and reused: one per publish in flight, each on a connection of its own.

    ``confirms``: each publish waits for the broker's confirm (requests: an unroutable one fails at once) or
    not (replies). A producer whose publish failed is closed, not reused; kombu retries a publish on a lost
    connection as Nameko's publisher does (``DEFAULT_RETRY_POLICY``). Messages are transient unless told.
    """

    def __init__(self, amqp_uri, *, confirms: bool, ssl=None, login_method=None):
        self._connect = functools.partial(Connection, amqp_uri, ssl=ssl, login_method=login_method,
                                          transport_options={"confirm_publish": confirms})
        self._free: list[Producer] = []

    def publish(self, body, **kwargs) -> None:
        kwargs.setdefault("delivery_mode", TRANSIENT)
        producer = self._free.pop() if self._free else Producer(self._connect())
        try:
            producer.publish(body, retry=True, retry_policy=DEFAULT_RETRY_POLICY, **kwargs)
        except BaseException:
            self._release(producer)
            raise
        self._free.append(producer)

    def close(self) -> None:
        while self._free:
            self._release(self._free.pop())

    @staticmethod
    def _release(producer) -> None:
        try:
            producer.connection.release()
        except Exception:  # noqa: BLE001 - it is being thrown away
            pass


def kept_producers(config: dict, *, confirms: bool) -> KeptProducers:
    return KeptProducers(config[AMQP_URI_CONFIG_KEY], confirms=confirms, ssl=config.get(AMQP_SSL_CONFIG_KEY),
                         login_method=config.get(LOGIN_METHOD_CONFIG_KEY))


class _RequestProducers(SharedExtension):
    """The producers every RpcProxy of a service sends its requests on (confirmed), closed with the service."""

    kept = None

    def setup(self):
        self.kept = kept_producers(self.container.config, confirms=True)

    def stop(self):
        if self.kept is not None:
            self.kept.close()

    kill = stop


class _RequestPublisher:
    """What Nameko's ``MethodProxy`` publishes a request with, on the service's kept producers: mandatory and
    confirmed, so that a request no queue takes is returned and raised as ``UndeliverableMessage`` (which the
    proxy turns into ``UnknownService``)."""

    def __init__(self, amqp_uri, *, producers: KeptProducers, serializer, ssl=None, login_method=None,
                 delivery_mode=TRANSIENT):
        self.producers, self.serializer, self.delivery_mode = producers, serializer, delivery_mode

    def publish(self, payload, *, extra_headers=None, **kwargs):
        try:
            self.producers.publish(payload, serializer=self.serializer, delivery_mode=self.delivery_mode,
                                   headers=extra_headers or {}, **kwargs)
        except ChannelError as exc:
            if "NO_ROUTE" in str(exc):
                raise UndeliverableMessage() from None
            raise


class _MethodProxy(MethodProxy):
    publisher_cls = _RequestPublisher


class _ServiceProxy(ServiceProxy):
    def __getattr__(self, name):
        return _MethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, **self.options)


class RpcProxy(NamekoRpcProxy):
    request_producers = _RequestProducers()

    def __init__(self, target_service, **options):
        options.setdefault("delivery_mode", TRANSIENT)
        super().__init__(target_service, **options)

    def caller_context(self, worker_ctx):
        return worker_ctx

    def get_dependency(self, worker_ctx):
        return _ServiceProxy(self.caller_context(worker_ctx), self.target_service, self.rpc_reply_listener,
                             producers=self.request_producers.kept, **self.options)


class SystemRpcProxy(RpcProxy):
    def caller_context(self, worker_ctx):
        return _SystemContext(worker_ctx)


def call_remote(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except RemoteError as exc:
        domain = from_wire(exc.exc_type, exc.value)
        if domain is not None:
            raise domain from None
        raise

"""What every service class shares: health, observability, metrics, and RPC error conventions.

Usage:
    class IntakeService(ServiceBase):
        name = "intake"
        db = Database(Base)

        @rpc(expected_exceptions=EXPECTED)
        def submit(self, ...): ...
"""
from __future__ import annotations

import functools
import inspect
import sys

import kombu.serialization
from nameko.exceptions import IncorrectSignature, UnserializableValueError, serialize
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange
from nameko.web.handlers import HttpRequestHandler

from .context import CurrentActor
from .errors import EXPECTED
from .metrics import MetricsServer, Observability
from .rpc import KeptProducers, kept_producers
from .topology import Topology


class _Responder:
    """Sends a worker's reply as Nameko's responder does, serialising it once.

    Nameko serialises a result twice: once to check that it can be (a result that cannot would otherwise
    kill the container when published), and again to publish it. Here the reply is serialised once and
    published as it is; a result that cannot be serialised still reaches the caller as Nameko's
    ``UnserializableValueError``, as before. For a submission, whose reply carries the whole form, the second
    serialisation was a few percent of intake's CPU.
    """
    def __init__(self, producers: KeptProducers, exchange, message):
        self.producers, self.exchange, self.message = producers, exchange, message

    def send_response(self, result, exc_info):
        error = serialize(exc_info[1]) if exc_info is not None else None
        # the reply is encoded as the request was
        serializer = kombu.serialization.registry.type_to_name[self.message.properties["content_type"]]
        try:
            content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:  # noqa: BLE001 - any failure to serialise is the caller's error, not the container's
            exc_info = sys.exc_info()
            error, result = serialize(UnserializableValueError(result)), None
            content_type, encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
        self.producers.publish(body, content_type=content_type, content_encoding=encoding, exchange=self.exchange,
                               routing_key=self.message.properties["reply_to"],
                               correlation_id=self.message.properties.get("correlation_id"))
        return result, exc_info


class _RpcConsumer(RpcConsumer):
    """Nameko's RPC consumer, whose replies are published without waiting for the broker's confirm.

    A confirm on a reply buys nothing: the reply goes to the caller's non-durable reply queue, and if the
    broker lost it the caller's timeout says so whether or not the responder learnt it. Not waiting saves a
    broker round trip on every RPC (requests keep their confirms: an unroutable request fails at once).
    """

    _producers = None

    def handle_result(self, message, result, exc_info):
        if self._producers is None:
            # replies are not confirmed: see the class's docstring
            self._producers = kept_producers(self.container.config, confirms=False)
            self._exchange = get_rpc_exchange(self.container.config)
        result, exc_info = _Responder(self._producers, self._exchange, message).send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def stop(self):
        super().stop()
        if self._producers is not None:
            self._producers.close()


class _SignatureOnce:
    """An entrypoint whose arguments are checked against the method's signature read once, not on every
    call: Nameko's ``check_signature`` inspects the method per call (``inspect.getcallargs``), 1.5 to 2% of
    the gateway's and intake's CPU per submission. Same rule, same ``IncorrectSignature``."""

    def check_signature(self, args, kwargs):
        signature = self.__dict__.get("_signature")
        if signature is None:
            # as getcallargs: the method itself, not what a functools.wraps wrapper says it wraps
            fn = getattr(self.container.service_cls, self.method_name)
            signature = self._signature = inspect.signature(fn, follow_wrapped=False)
        try:
            signature.bind(None, *args, **kwargs)   # None: the unbound method's self
        except TypeError as exc:
            raise IncorrectSignature(str(exc))


class _Rpc(_SignatureOnce, Rpc):
    rpc_consumer = _RpcConsumer()


class _Http(_SignatureOnce, HttpRequestHandler):
    pass


def rpc(fn=None, **kwargs):
    """Nameko's rpc with our DomainErrors declared as expected (serialised, not logged as crashes), replies
    sent without publisher confirms (``_RpcConsumer``) and serialised once, and arguments checked against a
    signature read once (``_SignatureOnce``)."""
    kwargs.setdefault("expected_exceptions", EXPECTED)
    if fn is None:
        return functools.partial(rpc, **kwargs)
    return _Rpc.decorator(fn, **kwargs)


# Nameko's http entrypoint, with arguments checked against a signature read once
http = _Http.decorator


class ServiceBase:
    topology = Topology()
    obs = Observability()
    metrics = MetricsServer()
    current_actor = CurrentActor()

    @rpc
    def health(self):
        """Readiness probe over RPC: answers when the container consumes and its database answers."""
        db = getattr(self, "db", None)
        if db is not None:
            import sqlalchemy as sa
            with db.session() as session:
                session.execute(sa.text("SELECT 1"))
        return {"service": self.name, "ok": True}

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

from nameko.rpc import rpc as _nameko_rpc

from .context import CurrentActor
from .errors import EXPECTED
from .metrics import MetricsServer, Observability
from .topology import Topology


def rpc(fn=None, **kwargs):
    """Nameko's rpc with our DomainErrors declared as expected (serialised, not logged as crashes)."""
    kwargs.setdefault("expected_exceptions", EXPECTED)
    if fn is None:
        return functools.partial(rpc, **kwargs)
    return _nameko_rpc(fn, **kwargs)


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

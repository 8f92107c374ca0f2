"""Time for services: the clock as a Nameko dependency, and timers whose interval comes from the config.

``Clock``: ``self.clock()`` is the current UTC time. Tests set ``provider.now`` (a callable) on the
container's ``Clock`` to stand on a chosen second instead of waiting; in production it is
``grassroots.db.utcnow``.

``config_timer(key, default)``: Nameko's ``timer`` with its interval read from the config key in
``setup()`` (tests and deployments tune it without code changes)::

    @config_timer("NOTIFY_DELIVERY_SECONDS", 2.0)
    def deliver_due(self): ...
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from .db import utcnow


class Clock(DependencyProvider):
    def __init__(self):
        self.now = None

    def get_dependency(self, worker_ctx):
        return self.now or utcnow


class ConfigTimer(Timer):
    """Nameko's timer with its interval read from the config in ``setup()`` (``key``, else ``default``)."""

    def __init__(self, key: str, default: float, **kwargs):
        self.key, self.default = key, default
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.key) or self.default)
        super().setup()


config_timer = ConfigTimer.decorator

"""The service's clock as a Nameko dependency: ``self.clock()`` is the current UTC time.

Tests set ``provider.now`` (a callable) on the container's ``Clock`` to stand on a chosen second instead
of waiting; in production it is ``grassroots.db.utcnow``.
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from .db import utcnow


class Clock(DependencyProvider):
    def __init__(self):
        self.now = None

    def get_dependency(self, worker_ctx):
        return self.now or utcnow

"""Shared library of the suite: what every service needs, in one place.

Modules:
    config   - settings from the environment, with local defaults
    errors   - DomainError and its HTTP-mapped subclasses
    db       - SQLAlchemy base, engine, the UnitOfWork dependency provider (outbox in the same transaction)
    events   - the event envelope, the outbox relay, the inbox (idempotent handlers), durable topology
    logging  - structlog set-up with call/correlation ids and PII masking
    storage  - MinIO client adapter: presigned PUT/GET, stat, SHA-256 verification, magic bytes
    auth     - the acting user carried in Nameko context data through every RPC and event
"""

import warnings as _warnings

# eventlet announces its bugfix-only status at import: a known risk of the stack (STACK.md), not news per process.
_warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

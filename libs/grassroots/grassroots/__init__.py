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

"""Alembic migrations per service, driven from one place.

Each service keeps its migrations in ``<service>/migrations`` (``env.py`` calls ``run_env``). Apply them
with ``python -m grassroots.migrate upgrade <service>`` (uses the service's DATABASE_URL, see config),
create one with ``python -m grassroots.migrate revision <service> -m "why"``, and check that the models
and the migrations agree with ``python -m grassroots.migrate check <service>``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from . import config as settings


def alembic_config(service: str, url: str | None = None) -> Config:
    pkg = importlib.import_module(service)
    script_location = Path(pkg.__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", (url or settings.database_url(service)).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def run_env(target_metadata) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grassroots.migrate")
    parser.add_argument("action", choices=["upgrade", "revision", "check", "upgrade-all"])
    parser.add_argument("service", nargs="?")
    parser.add_argument("-m", "--message", default="change")
    parser.add_argument("--url")
    args = parser.parse_args(argv)
    if args.action == "upgrade-all":
        for svc in settings.SERVICES:
            upgrade(svc)
            print(f"migrated {svc}")
        return 0
    cfg = alembic_config(args.service, args.url)
    if args.action == "upgrade":
        command.upgrade(cfg, "head")
    elif args.action == "revision":
        command.revision(cfg, message=args.message, autogenerate=True)
    elif args.action == "check":
        command.check(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())

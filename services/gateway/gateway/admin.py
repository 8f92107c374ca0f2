"""Administration commands: ``python -m gateway.admin create-user --username U --password P --role R [--unit-id ID]``."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys

from grassroots import config as settings
from grassroots.db import create_engine
from grassroots.errors import DomainError
from sqlalchemy.orm import sessionmaker

from .users import create_user


class UserDb:
    """Just enough of the Database dependency for ``create_user`` outside a running service."""

    def __init__(self, url):
        self.maker = sessionmaker(bind=create_engine(url), expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self):
        session = self.maker()
        with session.begin():
            yield type("Uow", (), {"session": session})()
        session.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.admin")
    sub = parser.add_subparsers(dest="cmd", required=True)
    cu = sub.add_parser("create-user")
    for name in ("username", "password", "role"):
        cu.add_argument(f"--{name}", required=True)
    cu.add_argument("--unit-id")
    cu.add_argument("--name")
    cu.add_argument("--email")
    args = parser.parse_args(argv)
    db = UserDb(settings.database_url("gateway"))
    try:
        user = create_user(db, {"username": args.username, "password": args.password, "role": args.role,
                                "unit_id": args.unit_id, "name": args.name, "email": args.email})
    except DomainError as exc:
        print(json.dumps(exc.to_dict(), ensure_ascii=False), file=sys.stderr)
        return 2
    print(json.dumps(user, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The gateway's own tables: the people who log in."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grassroots.db import UtcDateTime, make_base, new_id, utcnow

Base = make_base()


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    # indexed for the people directory (who holds a role, who belongs to a unit), which notify asks (caching 30 s)
    role: Mapped[str] = mapped_column(sa.String(30), nullable=False, index=True)
    unit_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(sa.String(200))
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

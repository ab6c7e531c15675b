"""The declarative base, its MetaData and the column types shared by all tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradewind.metastore.types import UtcDateTime, utcnow

# Stable constraint names, so that later migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids are keys of composite indexes; 250 characters of utf8mb4 keeps MySQL's index keys under
# its 3072-byte limit even with three of them in one key.
ID_LENGTH = 250

# Our own name for Alembic's version table, so a database shared with another Alembic
# application keeps the two histories apart.
VERSION_TABLE = "tradewind_alembic_version"

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Base class of every tradewind table."""

    metadata = metadata


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), nullable=False, default=utcnow)


def updated_at_column() -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

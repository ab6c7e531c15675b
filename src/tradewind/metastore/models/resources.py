"""What DAGs draw on at run time: variables, connections and pools."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.metastore.models.base import ID_LENGTH, Base
from tradewind.metastore.types import LongText


class Variable(Base):
    """A key/value setting for DAGs; ``val`` is encrypted at rest when ``is_encrypted``."""

    __tablename__ = "variable"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, unique=True)
    val: Mapped[str | None] = mapped_column(LongText)
    description: Mapped[str | None] = mapped_column(Text)
    is_encrypted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Connection(Base):
    """How to reach an external system; password and extra are encrypted at rest."""

    __tablename__ = "connection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conn_id: Mapped[str] = mapped_column(String(ID_LENGTH), nullable=False, unique=True)
    conn_type: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(500))
    # The column keeps Airflow's name; the attribute is schema_ so it never reads like
    # SQLAlchemy's own `schema` arguments (a database schema, not this connection's).
    schema_: Mapped[str | None] = mapped_column("schema", String(500))
    login: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(Text)
    port: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[str | None] = mapped_column(Text)
    is_encrypted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_extra_encrypted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Pool(Base):
    """A named number of slots that limits how many task instances run at once."""

    __tablename__ = "slot_pool"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    slots: Mapped[int] = mapped_column(Integer, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    include_deferred: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

"""Fixtures shared by every test: settings, and fresh databases on each dialect.

- ``make_settings(tmp_path, db_url=None, **sections)`` builds Settings without reading the real
  environment; ``settings`` is one of them on a SQLite file in ``tmp_path``.
- ``db_url``: an empty database, once per dialect (sqlite, postgres, mysql).
- ``migrated_db_url`` / ``engine`` / ``session``: a database at the schema head, per dialect.
- ``sqlite_engine``: the same on SQLite only, for unit tests.

PostgreSQL and MariaDB tests create a database with a unique name on the local server and
drop it afterwards. A server that is not running skips those tests, or fails them when the
environment variable CI is "true".
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tradewind.metastore import engine as engine_module
from tradewind.metastore import schema
from tradewind.settings import DatabaseSettings, Settings, load_settings

# Only this file (and no test) reads the environment: where the servers are, and whether
# a missing server is a failure.
SERVER_URLS = {
    "postgres": os.environ.get(
        "TRADEWIND_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("TRADEWIND_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
IN_CI = os.environ.get("CI") == "true"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

DIALECTS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def build_settings(
    tmp_path: Path, db_url: str | None = None, **sections: Mapping[str, Any]
) -> Settings:
    """Settings with home ``tmp_path``, built from defaults and ``sections`` only."""
    overrides = {name: dict(values) for name, values in sections.items()}
    if db_url is not None:
        overrides.setdefault("database", {})["url"] = db_url
    return load_settings(environ={}, home=tmp_path, overrides=overrides)


@pytest.fixture(name="make_settings")
def make_settings_fixture() -> Callable[..., Settings]:
    return build_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return build_settings(tmp_path)


def unique_name(kind: str) -> str:
    return f"tw_{kind}_{WORKER}_{uuid.uuid4().hex[:10]}".lower()


class Server:
    """A local database server on which tests create and drop databases of their own."""

    def __init__(self, kind: str, admin_url: str) -> None:
        self.kind = kind
        self.admin_url = sa.make_url(admin_url)
        self._admin: Engine | None = None
        self._problem: str | None = None
        self._probed = False

    def require(self) -> None:
        """Skip the test (fail it under CI) when the server does not answer."""
        if not self._probed:
            self._probed = True
            try:
                with self.admin().connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
            except sa.exc.SQLAlchemyError as error:
                self._problem = (
                    f"{self.kind} server at {self.admin_url} is not reachable: "
                    + (str(error).splitlines()[0])
                )
        if self._problem is not None:
            if IN_CI:
                pytest.fail(self._problem)
            pytest.skip(self._problem)

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = sa.create_engine(
                self.admin_url,
                isolation_level="AUTOCOMMIT",
                poolclass=NullPool,
                connect_args={"connect_timeout": 5},
            )
        return self._admin

    def dispose(self) -> None:
        if self._admin is not None:
            self._admin.dispose()

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        statement = f"CREATE DATABASE {name}"
        if template is not None:
            statement += f" TEMPLATE {template}"
        with self.admin().connect() as connection:
            connection.exec_driver_sql(statement)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        # FORCE ends sessions a test left open (an engine it did not dispose).
        force = " WITH (FORCE)" if self.kind == "postgres" else ""
        with self.admin().connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")


class Databases:
    """Per test session: the servers, and the databases at head that tests are copied from."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers = {kind: Server(kind, url) for kind, url in SERVER_URLS.items()}
        self._templates: dict[str, str] = {}

    def empty(self, dialect: str, tmp_path: Path) -> tuple[str, Callable[[], None]]:
        """A URL to a new empty database, and how to drop it."""
        if dialect == "sqlite":
            return f"sqlite:///{tmp_path / 'tradewind.db'}", lambda: None
        server = self.servers[dialect]
        server.require()
        name = unique_name("test")
        return server.create(name), lambda: server.drop(name)

    def migrated(self, dialect: str, tmp_path: Path) -> tuple[str, Callable[[], None]]:
        """A URL to a new database with the schema at head, and how to drop it."""
        if dialect == "sqlite":
            target = tmp_path / "tradewind.db"
            shutil.copyfile(self._template("sqlite"), target)
            return f"sqlite:///{target}", lambda: None
        if dialect == "postgres":
            server = self.servers[dialect]
            server.require()
            name = unique_name("test")
            return server.create(name, template=self._template(dialect)), lambda: server.drop(name)
        # MariaDB has no template databases; running the migration takes a fraction of a second.
        url, drop = self.empty(dialect, tmp_path)
        migrate(url)
        return url, drop

    def _template(self, dialect: str) -> str:
        if dialect not in self._templates:
            if dialect == "sqlite":
                path = self.tmp / "template.db"
                migrate(f"sqlite:///{path}")
                self._templates[dialect] = str(path)
            else:
                name = unique_name("template")
                migrate(self.servers[dialect].create(name))
                self._templates[dialect] = name
        return self._templates[dialect]

    def close(self) -> None:
        for dialect, name in self._templates.items():
            if dialect in self.servers:
                self.servers[dialect].drop(name)
        for server in self.servers.values():
            server.dispose()


def migrate(url: str) -> None:
    engine = engine_module.create_engine(DatabaseSettings(url=url))
    try:
        schema.init_db(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("databases"))
    yield found
    found.close()


@pytest.fixture(params=DIALECTS)
def db_dialect(request: pytest.FixtureRequest) -> str:
    """The dialect a database fixture is made on: sqlite, postgres or mysql."""
    dialect: str = request.param
    return dialect


@pytest.fixture
def db_url(db_dialect: str, databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh, empty database of its own."""
    url, drop = databases.empty(db_dialect, tmp_path)
    yield url
    drop()


@pytest.fixture
def migrated_db_url(db_dialect: str, databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh database of its own with the schema at head (default_pool seeded)."""
    url, drop = databases.migrated(db_dialect, tmp_path)
    yield url
    drop()


def _engine(url: str) -> Iterator[Engine]:
    engine = engine_module.create_engine(DatabaseSettings(url=url))
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_db_url: str) -> Iterator[Engine]:
    """A tradewind engine on a fresh database at head, on each dialect."""
    yield from _engine(migrated_db_url)


@pytest.fixture
def sqlite_engine(databases: Databases, tmp_path: Path) -> Iterator[Engine]:
    """A tradewind engine on a fresh SQLite database at head (no server needed)."""
    url, _ = databases.migrated("sqlite", tmp_path)
    yield from _engine(url)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on ``engine``; whatever the test left uncommitted is rolled back."""
    with engine_module.session_factory(engine)() as opened:
        yield opened

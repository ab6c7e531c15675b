"""The first start of ``tradewind standalone``: the home and DAGs folders, the schema, the
fernet key and an admin user with a generated password, each made only if missing.

:func:`tradewind.standalone.service.get_ready` calls :func:`prepare`; then the components run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from tradewind import passwords
from tradewind.metastore import crypto, revision
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow
from tradewind.settings import Settings

ADMIN = "admin"
PASSWORD_FILE = "standalone_admin_password.txt"


@dataclass(frozen=True)
class Prepared:
    created_schema: bool
    admin_password: str | None  # set only when the admin user was created just now
    password_file: Path


def prepare(settings: Settings, engine: Engine) -> Prepared:
    """Create the schema if needed and an admin user with a generated password (once)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.core.dags_folder.mkdir(parents=True, exist_ok=True)
    # Already at head (every start but the first): no need for the migration machinery.
    created = False
    if not revision.at_head(engine):
        from tradewind.metastore import schema

        created = schema.init_db(engine).created
    if not settings.core.fernet_key:
        crypto.ensure_fernet_key(settings.home)
    password_file = settings.home / PASSWORD_FILE
    sessions = engine_module.session_factory(engine)
    with sessions.begin() as session:
        if user_store.get_user(session, ADMIN) is not None:
            return Prepared(created, None, password_file)
        password = passwords.generate_password()
        user_store.create_user(
            session,
            username=ADMIN,
            password_hash=passwords.hash_password(password),
            role="admin",
            email=None,
            now=utcnow(),
        )
    # Kept readable by its owner only, for whoever missed the one time it is printed.
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return Prepared(created, password, password_file)

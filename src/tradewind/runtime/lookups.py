"""Where lookups by name that DAG code makes itself read from: Airflow's ``Variable.get``,
``Connection.get``, ``BaseHook.get_connection`` and ``conf`` (see :mod:`.variables`,
:mod:`.connections`, :mod:`.config`).

While a task runs, the try's own :class:`~tradewind.runtime.context.Source` answers (the
runner and ``tasks test`` hand it over with :func:`reading_from`): reads are cached for the
try and their secrets masked in its log, as for ``var`` and ``conn`` in templates. Anywhere
else (a DAG file's top level while it is parsed or imported by a try, a script), the
metastore of the settings this process was started with (:func:`~tradewind.settings.load_settings`,
which a process tradewind started inherits from its parent exactly) is opened on first use,
once per process. Airflow reads them as globally; tradewind confines that to this module.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import variables as variable_store
from tradewind.runtime.context import Source
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.settings import Settings, load_settings


@dataclass(frozen=True)
class _Scope:
    source: Source
    settings: Settings | None


_current: ContextVar[_Scope | None] = ContextVar("tradewind_lookups", default=None)
# The process's own reader: (pid, settings, reader); a forked child makes its own.
_process: tuple[int, Settings, MetastoreReader] | None = None
# Readers of the processes this one was forked from: never closed here (their connections
# are the parent's), only kept from the garbage collector.
_inherited: list[MetastoreReader] = []


@contextmanager
def reading_from(source: Source, settings: Settings | None = None) -> Iterator[None]:
    """Answer lookups from ``source`` (and ``conf`` from ``settings``) inside this block."""
    token = _current.set(_Scope(source, settings))
    try:
        yield
    finally:
        _current.reset(token)


def _own() -> tuple[Settings, MetastoreReader]:
    global _process  # noqa: PLW0603 - one reader per process, made on first use
    if _process is None or _process[0] != os.getpid():
        if _process is not None:
            _inherited.append(_process[2])
        settings = load_settings()
        cipher = crypto.Cipher(settings.core.fernet_key)
        make = functools.partial(engine_module.create_engine, settings.database)
        _process = (os.getpid(), settings, MetastoreReader(make, cipher, SecretsMasker()))
    return _process[1], _process[2]


def source() -> Source:
    """What answers a lookup made now: the running try's source, else this process's."""
    scope = _current.get()
    return scope.source if scope is not None else _own()[1]


def settings() -> Settings:
    """The settings a lookup made now reads: the running try's, else this process's."""
    scope = _current.get()
    if scope is not None and scope.settings is not None:
        return scope.settings
    return _own()[0]


def write_variable(key: str, value: Any, description: str | None = None) -> None:
    """Create or replace a variable in the metastore (non-string values as JSON)."""
    current = settings()
    cipher = crypto.Cipher(current.core.fernet_key)
    engine = engine_module.create_engine(current.database)
    try:
        engine_module.write(
            engine_module.session_factory(engine),
            lambda session: variable_store.set_variable(
                session,
                key,
                value,
                cipher,
                description=description,
                max_mb=current.core.max_variable_mb,
            ),
        )
    finally:
        engine.dispose()
    reader = source()
    if isinstance(reader, MetastoreReader):
        reader.forget_variable(key)

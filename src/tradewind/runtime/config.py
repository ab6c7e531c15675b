"""Airflow's ``conf`` (``airflow.configuration.conf``), read-only, over tradewind's settings.

``conf.get(section, key)`` answers from the settings of the running try, else of this process
(see :mod:`tradewind.runtime.lookups`). A key means what it means in Airflow where tradewind
has a setting for it (``core.dags_folder``, ``core.default_timezone``, ``core.executor`` as
Airflow names executors...), and tradewind's own ``section.key`` names work too; secrets
(database URL, keys, broker URLs) are never given out. Any other key gives the ``fallback``
(``default``), or raises :class:`~tradewind.exceptions.ConfigNotFound`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradewind.exceptions import ConfigNotFound
from tradewind.metastore import crypto
from tradewind.runtime import lookups

_MISSING: Any = object()

# Airflow's (section, key) -> tradewind's, where the names differ.
ALIASES = {
    ("logging", "logging_level"): ("logging", "level"),
    ("core", "dagbag_import_timeout"): ("dag_processor", "file_parse_timeout"),
    ("scheduler", "dag_dir_list_interval"): ("dag_processor", "refresh_interval"),
    ("scheduler", "parsing_processes"): ("dag_processor", "parsing_processes"),
    ("dag_processor", "refresh_interval"): ("dag_processor", "refresh_interval"),
    ("webserver", "web_server_host"): ("webserver", "host"),
    ("webserver", "web_server_port"): ("webserver", "port"),
    ("api", "host"): ("webserver", "host"),
    ("api", "port"): ("webserver", "port"),
    ("api", "base_url"): ("webserver", "base_url"),
    ("database", "sql_alchemy_pool_size"): ("database", "pool_size"),
}
# Never given out: what they hold opens the metastore, the broker or the secrets.
HIDDEN = {
    ("database", "url"),
    ("celery", "broker_url"),
    ("celery", "result_backend"),
    ("core", "fernet_key"),
    ("webserver", "secret_key"),
    ("smtp", "smtp_password"),
}
EXECUTORS = {
    "sequential": "SequentialExecutor",
    "local": "LocalExecutor",
    "celery": "CeleryExecutor",
    "kubernetes": "KubernetesExecutor",
}
_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, Path):
        return str(value)
    return value if isinstance(value, str) else str(value)


class AirflowConfig:
    """Airflow's configuration reader, answering from tradewind's settings."""

    def _lookup(self, section: str, key: str) -> str | None:
        name = (section.lower(), key.lower())
        name = ALIASES.get(name, name)
        if name in HIDDEN or crypto.looks_secret(name[1]):
            return None
        values = lookups.settings().sections().get(name[0], {})
        if name[1] not in values:
            return None
        value = values[name[1]]
        if name == ("core", "executor"):
            return EXECUTORS.get(str(value), str(value))
        return _text(value)

    def has_option(self, section: str, key: str) -> bool:
        return self._lookup(section, key) is not None

    def get(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> Any:
        """The value as text; ``fallback`` (or ``default``) when tradewind has none."""
        value = self._lookup(section, key)
        if value is not None:
            return value
        fallback = kwargs.get("default", fallback)
        if fallback is _MISSING:
            raise ConfigNotFound(f"section/key [{section}/{key}] not found in config")
        return fallback

    def getboolean(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> Any:
        value = self.get(section, key, fallback, **kwargs)
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"[{section}] {key} is not a boolean: {value!r}")

    def getint(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> Any:
        value = self.get(section, key, fallback, **kwargs)
        if not isinstance(value, str):
            return value
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"[{section}] {key} is not an integer: {value!r}")
        return int(number)

    def getfloat(self, section: str, key: str, fallback: Any = _MISSING, **kwargs: Any) -> Any:
        value = self.get(section, key, fallback, **kwargs)
        return float(value) if isinstance(value, str) else value


conf = AirflowConfig()

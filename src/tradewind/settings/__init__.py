"""One frozen Settings object: built-in defaults < tradewind.toml < TRADEWIND__SECTION__KEY.

This is the only module of tradewind that reads ``os.environ``. Entry points call
:func:`load_settings` once and pass the result (or objects built from it) down. Each section's
keys, defaults and checks are in :mod:`tradewind.settings.sections`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tradewind.settings.alerts import EmailSettings, SmtpSettings
from tradewind.settings.metrics import MetricsSettings
from tradewind.settings.observing import OpenLineageSettings, TracesSettings
from tradewind.settings.sections import (
    EXECUTOR_NAMES,
    CelerySettings,
    CoreSettings,
    DagProcessorSettings,
    DatabaseSettings,
    KubernetesSettings,
    LoggingSettings,
    SchedulerSettings,
    Section,
    TriggererSettings,
    WebserverSettings,
)

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "EXECUTOR_NAMES",
    "HOME_ENV",
    "SECTIONS",
    "SETTINGS_JSON_ENV",
    "CelerySettings",
    "CoreSettings",
    "DagProcessorSettings",
    "DatabaseSettings",
    "EmailSettings",
    "KubernetesSettings",
    "LoggingSettings",
    "MetricsSettings",
    "OpenLineageSettings",
    "SchedulerSettings",
    "Settings",
    "SettingsError",
    "SmtpSettings",
    "TracesSettings",
    "TriggererSettings",
    "WebserverSettings",
    "child_environ",
    "default_home",
    "load_settings",
]

ENV_PREFIX = "TRADEWIND__"
HOME_ENV = "TRADEWIND_HOME"
# Internal: a process started by tradewind (a task try, a fork server) gets its parent's exact
# Settings through this variable, so it never re-reads files or an environment that may differ.
SETTINGS_JSON_ENV = "TRADEWIND_SETTINGS_JSON"
CONFIG_FILE = "tradewind.toml"


class SettingsError(Exception):
    """A setting is unknown or has a bad value; the message names the key."""


class Settings(Section):
    """Everything tradewind can be configured with, frozen."""

    home: Path
    core: CoreSettings
    database: DatabaseSettings
    dag_processor: DagProcessorSettings
    scheduler: SchedulerSettings
    triggerer: TriggererSettings
    logging: LoggingSettings
    webserver: WebserverSettings
    celery: CelerySettings
    kubernetes: KubernetesSettings
    smtp: SmtpSettings = SmtpSettings()
    email: EmailSettings = EmailSettings()
    metrics: MetricsSettings
    traces: TracesSettings = TracesSettings()
    openlineage: OpenLineageSettings = OpenLineageSettings()

    def sections(self) -> dict[str, dict[str, Any]]:
        """The settings as section -> key -> plain value (for ``config list``)."""
        out: dict[str, dict[str, Any]] = {}
        for name in SECTIONS:
            section: BaseModel = getattr(self, name)
            out[name] = {
                key: str(value) if isinstance(value, Path) else value
                for key, value in section.model_dump().items()
            }
        return out

    def to_env(self) -> dict[str, str]:
        """Environment for a child process that must use exactly these settings."""
        return {SETTINGS_JSON_ENV: self.model_dump_json()}

    def get(self, section: str, key: str) -> Any:
        sections = self.sections()
        if section not in sections:
            raise SettingsError(f"unknown section {section!r}; known: {', '.join(sections)}")
        if key not in sections[section]:
            raise SettingsError(f"unknown key {section}.{key}")
        return sections[section][key]


SECTIONS: dict[str, type[Section]] = {
    "core": CoreSettings,
    "database": DatabaseSettings,
    "dag_processor": DagProcessorSettings,
    "scheduler": SchedulerSettings,
    "triggerer": TriggererSettings,
    "logging": LoggingSettings,
    "webserver": WebserverSettings,
    "celery": CelerySettings,
    "kubernetes": KubernetesSettings,
    "smtp": SmtpSettings,
    "email": EmailSettings,
    "metrics": MetricsSettings,
    "traces": TracesSettings,
    "openlineage": OpenLineageSettings,
}


def default_home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(HOME_ENV) or Path.home() / "tradewind").expanduser()


def _defaults(home: Path) -> dict[str, dict[str, Any]]:
    return {
        "core": {"dags_folder": str(home / "dags"), "venv_cache_folder": str(home / "venvs")},
        "database": {"url": f"sqlite:///{home / 'tradewind.db'}"},
        "dag_processor": {},
        "scheduler": {},
        "triggerer": {},
        "logging": {"base_log_folder": str(home / "logs")},
        "webserver": {},
        "celery": {},
        "kubernetes": {},
        "smtp": {},
        "email": {},
        "metrics": {},
        "traces": {},
        "openlineage": {},
    }


def _merge(target: dict[str, dict[str, Any]], source: Mapping[str, Any], origin: str) -> None:
    for section, values in source.items():
        if section not in SECTIONS:
            raise SettingsError(f"{origin}: unknown section [{section}]")
        if not isinstance(values, Mapping):
            raise SettingsError(f"{origin}: [{section}] must be a table of keys")
        fields = SECTIONS[section].model_fields
        for key, value in values.items():
            if key not in fields:
                raise SettingsError(f"{origin}: unknown key {section}.{key}")
            target[section][key] = value


def _from_env(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise SettingsError(f"{name}: expected {ENV_PREFIX}SECTION__KEY")
        found.setdefault(parts[0], {})[parts[1]] = value
    return found


def _fill_blanks(settings: Settings, found: Mapping[str, Mapping[str, str]]) -> Settings:
    """``settings`` with each text setting left empty taken from ``TRADEWIND__SECTION__KEY``
    when that is set: a pod's settings leave secrets out, for its environment to bring them
    from a Kubernetes Secret."""
    changed: dict[str, Section] = {}
    for name, values in found.items():
        section = getattr(settings, name, None)
        if not isinstance(section, Section):
            continue
        blanks = {k: v for k, v in values.items() if getattr(section, k, None) == ""}
        if blanks:
            changed[name] = section.model_validate({**section.model_dump(), **blanks})
    return settings.model_copy(update=changed) if changed else settings


def load_settings(
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build the Settings from defaults, ``$TRADEWIND_HOME/tradewind.toml`` and the environment.

    ``overrides`` (section -> key -> value) win over everything; the CLI uses them for flags.
    """
    env = os.environ if environ is None else environ
    inherited = env.get(SETTINGS_JSON_ENV)
    if inherited and home is None and not overrides:
        try:
            settings = Settings.model_validate_json(inherited)
        except ValidationError as exc:
            raise SettingsError(f"{SETTINGS_JSON_ENV}: {exc}") from None
        try:
            return _fill_blanks(settings, _from_env(env))
        except (SettingsError, ValidationError):
            return settings  # the inherited settings are whole; blanks stay blank
    home = (home or default_home(env)).resolve()
    merged = _defaults(home)
    config_file = home / CONFIG_FILE
    if config_file.is_file():
        try:
            data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{config_file}: {exc}") from exc
        _merge(merged, data, str(config_file))
    _merge(merged, _from_env(env), "environment")
    if overrides:
        _merge(merged, overrides, "command line")
    try:
        return Settings.model_validate({"home": home, **merged})
    except ValidationError as exc:
        raise SettingsError(_describe(exc, env)) from None


def _describe(exc: ValidationError, environ: Mapping[str, str]) -> str:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        if len(loc) == 2:
            env_name = f"{ENV_PREFIX}{loc[0].upper()}__{loc[1].upper()}"
            if env_name in environ:
                key = f"{key} ({env_name})"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message} (got {error.get('input')!r})")
    return "bad setting: " + "; ".join(problems)


def child_environ(settings: Settings) -> dict[str, str]:
    """This process's environment plus ``settings.to_env()``.

    For a child process (a task try, a fork server) that needs the usual PATH, locale and the
    like, and must use exactly ``settings``.
    """
    return {**os.environ, **settings.to_env()}

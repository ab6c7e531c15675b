"""One frozen Settings object: built-in defaults < tradewind.toml < TRADEWIND__SECTION__KEY.

This is the only module of tradewind that reads ``os.environ``. Entry points call
:func:`load_settings` once and pass the result (or objects built from it) down.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

ENV_PREFIX = "TRADEWIND__"
HOME_ENV = "TRADEWIND_HOME"
# Internal: a process started by tradewind (a task try, a fork server) gets its parent's exact
# Settings through this variable, so it never re-reads files or an environment that may differ.
SETTINGS_JSON_ENV = "TRADEWIND_SETTINGS_JSON"
CONFIG_FILE = "tradewind.toml"


class SettingsError(Exception):
    """A setting is unknown or has a bad value; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CoreSettings(_Section):
    dags_folder: Path
    executor: Literal["sequential", "local", "celery", "kubernetes"] = "local"
    parallelism: int = 32
    # How many DAG files the local executor keeps imported in warm processes, so that their
    # tries start without importing them again (0: every try imports its file).
    warm_dag_files: int = 8
    load_examples: bool = True
    dags_are_paused_at_creation: bool = True
    default_timezone: str = "UTC"
    fernet_key: str = ""
    # The largest run conf, variable value and XCom value accepted, in MB (of JSON text, or of
    # the variable's text). Larger ones are refused with an error naming the setting: a run
    # conf and a variable when they are set (API, UI, CLI), an XCom by failing the try that
    # pushes it. Each must fit with room to spare in one statement of the metastore (MariaDB's
    # max_allowed_packet is 16 MB by default, and a secret-bearing XCom is stored twice).
    max_conf_mb: float = 4.0
    max_variable_mb: float = 4.0
    max_xcom_mb: float = 4.0

    @field_validator("max_conf_mb", "max_variable_mb", "max_xcom_mb")
    @classmethod
    def _positive_size(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of MB")
        return value

    @field_validator("parallelism")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("warm_dag_files")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class DatabaseSettings(_Section):
    url: str
    pool_size: int = 5
    max_overflow: int = 10
    pool_recycle: int = 1800
    pool_pre_ping: bool = True
    connect_timeout: int = 10
    sqlite_busy_timeout: float = 30.0
    echo: bool = False


class DagProcessorSettings(_Section):
    refresh_interval: float = 5.0
    parsing_processes: int = 2
    file_parse_timeout: float = 30.0
    max_file_size_mb: float = 5.0
    safe_mode: bool = True
    # The address space a process importing DAG files may use (MB; 0: no limit): a file that
    # eats memory fails with MemoryError, its import error, instead of starving the host.
    parsing_memory_limit_mb: int = 4096
    # The DAG processor heartbeats this often; /health calls it unhealthy when its last
    # heartbeat is older than health_check_threshold seconds.
    heartbeat_interval: float = 5.0
    health_check_threshold: float = 30.0

    @field_validator("parsing_processes")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("parsing_memory_limit_mb")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (no limit) or a number of megabytes")
        return value

    @field_validator(
        "refresh_interval", "file_parse_timeout", "heartbeat_interval", "health_check_threshold"
    )
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


class SchedulerSettings(_Section):
    run_dag_processor: bool = True
    heartbeat_interval: float = 2.0
    job_timeout: float = 10.0
    # How often the scheduler looks, unprompted, for work other processes added. On SQLite
    # and PostgreSQL it is told at once, and looks unprompted only every 10 x this.
    wake_interval: float = 0.5
    max_dagruns_per_loop: int = 20
    max_tis_per_query: int = 512

    @field_validator("heartbeat_interval", "job_timeout", "wake_interval")
    @classmethod
    def _positive_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


class LoggingSettings(_Section):
    base_log_folder: Path
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class WebserverSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # Signs session cookies and API tokens; generated into tradewind.toml on the first start.
    # Every web server process of one installation must share it.
    secret_key: str = ""
    session_lifetime_minutes: int = 12 * 60
    token_lifetime_minutes: int = 24 * 60
    # HTTP basic auth on the API (username and password on every request).
    basic_auth: bool = True
    # The role of people who are not logged in; empty: everyone must log in.
    public_role: Literal["", "viewer", "user", "op", "admin"] = ""
    access_log: bool = False
    # Mark the session cookie Secure (sent over HTTPS only). A request that reaches tradewind
    # over https gets it anyway; turn this on when a proxy terminates TLS and talks plain
    # HTTP to tradewind.
    cookie_secure: bool = False
    # Failed logins (basic auth, POST /auth/token, the login form): after this many for one
    # user name, or login_max_failures_per_address from one client address, within
    # login_failure_window_seconds, logins of that user (from that address) are refused with
    # 429 for login_lockout_seconds, doubling with each lockout up to
    # login_lockout_max_seconds. A successful login ends its user's count. 0: no limit.
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window_seconds: float = 600.0
    login_lockout_seconds: float = 60.0
    login_lockout_max_seconds: float = 3600.0
    # A request with a larger body is refused (413) before it is read in full.
    max_request_body_mb: float = 16.0
    # How much of a large value (an XCom, a variable, a run's conf) the UI and the API show;
    # the rest is a download away.
    display_value_kb: float = 64.0

    @field_validator("max_request_body_mb", "display_value_kb")
    @classmethod
    def _positive_size(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive size")
        return value

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be a TCP port (0-65535)")
        return value

    @field_validator("workers", "session_lifetime_minutes", "token_lifetime_minutes")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("login_max_failures", "login_max_failures_per_address")
    @classmethod
    def _limit(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (no limit) or more")
        return value

    @field_validator(
        "login_failure_window_seconds", "login_lockout_seconds", "login_lockout_max_seconds"
    )
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


class CelerySettings(_Section):
    """The celery executor: the broker, the result backend, workers and how tries are watched."""

    broker_url: str = "redis://127.0.0.1:6379/0"  # or amqp://guest:guest@127.0.0.1:5672//
    # Where workers record each try's state and outcome: empty means the metastore's own
    # database (Celery's database backend); or a redis:// URL.
    result_backend: str = ""
    default_queue: str = "default"
    worker_concurrency: int = 16
    # A worker reports every try it runs this often; a running try not heard of for
    # heartbeat_timeout seconds is failed (its worker is gone) and retried by its policy.
    heartbeat_interval: float = 2.0
    heartbeat_timeout: float = 15.0
    # A try that no worker takes within this many seconds (nobody listens on its queue) fails.
    queued_timeout: float = 600.0
    # A try still waiting in the broker after this many seconds is sent again (a broker that
    # restarted without keeping its messages); a second delivery is dropped by the worker.
    resend_interval: float = 30.0
    # Redis broker: how long a taken message stays invisible before it is delivered again.
    visibility_timeout: float = 21600.0
    # Each worker serves the logs of the tries it ran on this port (0: it does not), so that the
    # web server can show them when it does not share the workers' log folder.
    worker_log_server_port: int = 8793
    # Celery settings passed through as they are (e.g. {"broker_pool_limit": 20}).
    options: dict[str, Any] = {}

    @field_validator(
        "heartbeat_interval",
        "heartbeat_timeout",
        "queued_timeout",
        "resend_interval",
        "visibility_timeout",
    )
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("worker_concurrency")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("options", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        # From the environment the table comes as JSON text.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("must be a JSON object") from None
        return value


class KubernetesSettings(_Section):
    """The kubernetes executor: one pod per task try."""

    namespace: str = "default"
    # The image of the worker pods (tradewind and the DAG files' needs; see the Dockerfile).
    worker_image: str = "tradewind:latest"
    # A pod spec (YAML) the worker pods start from; empty: a built-in one.
    pod_template_file: str = ""
    in_cluster: bool = False
    # Outside a cluster: this kubeconfig file (empty: the client's default, ~/.kube/config).
    config_file: str = ""
    context: str = ""
    # Delete a worker pod once its try is over; failed ones only when the second is true too
    # (kept by default, for a look at them).
    delete_worker_pods: bool = True
    delete_worker_pods_on_failure: bool = False
    # How many pods the executor creates per scheduler loop at most.
    worker_pods_creation_batch_size: int = 16
    # A pod Pending longer than this (image never pulled, no node) fails its try.
    pending_timeout: float = 300.0
    # A Kubernetes Secret holding TRADEWIND__DATABASE__URL and TRADEWIND__CORE__FERNET_KEY:
    # the pods take them from it (envFrom) instead of from their spec. Empty: the pod spec
    # carries them, readable by whoever may read pods in the namespace.
    env_from_secret: str = ""
    # How often the executor looks for finished pods that no scheduler follows (their
    # scheduler died and none adopted them) to clean them up as above; 0: never.
    orphan_sweep_interval: float = 300.0

    @field_validator("worker_pods_creation_batch_size")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("pending_timeout")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("orphan_sweep_interval")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 (never) or a positive number of seconds")
        return value


class Settings(_Section):
    """Everything tradewind can be configured with, frozen."""

    home: Path
    core: CoreSettings
    database: DatabaseSettings
    dag_processor: DagProcessorSettings
    scheduler: SchedulerSettings
    logging: LoggingSettings
    webserver: WebserverSettings
    celery: CelerySettings
    kubernetes: KubernetesSettings

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


SECTIONS: dict[str, type[_Section]] = {
    "core": CoreSettings,
    "database": DatabaseSettings,
    "dag_processor": DagProcessorSettings,
    "scheduler": SchedulerSettings,
    "logging": LoggingSettings,
    "webserver": WebserverSettings,
    "celery": CelerySettings,
    "kubernetes": KubernetesSettings,
}


def default_home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(HOME_ENV) or Path.home() / "tradewind").expanduser()


def _defaults(home: Path) -> dict[str, dict[str, Any]]:
    return {
        "core": {"dags_folder": str(home / "dags")},
        "database": {"url": f"sqlite:///{home / 'tradewind.db'}"},
        "dag_processor": {},
        "scheduler": {},
        "logging": {"base_log_folder": str(home / "logs")},
        "webserver": {},
        "celery": {},
        "kubernetes": {},
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
    changed: dict[str, _Section] = {}
    for name, values in found.items():
        section = getattr(settings, name, None)
        if not isinstance(section, _Section):
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

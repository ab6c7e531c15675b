"""The sections of tradewind's settings: every key with its default and its checks.

Each section is a frozen model; :class:`tradewind.settings.Settings` holds one of each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, NonNegativeInt, field_validator

# The executors there are, in the order messages list them: ``core.executor`` accepts these, and
# the executor registry (tradewind.executors) imports each from the module of the same name.
ExecutorName = Literal["sequential", "local", "celery", "kubernetes"]
EXECUTOR_NAMES: tuple[ExecutorName, ...] = get_args(ExecutorName)


class Section(BaseModel):
    """A frozen group of settings that refuses unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CoreSettings(Section):
    dags_folder: Path
    executor: ExecutorName = "local"
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
    # Where PythonVirtualenvOperator keeps the virtual environments it creates, one folder per
    # distinct set of requirements, so that later tries reuse them.
    venv_cache_folder: Path
    # The most instances one mapped task may expand to: a task pushing a longer list for a
    # mapped task to expand over fails, as does a mapped task whose input is longer.
    max_map_length: int = 1024
    # Whether the REST API and the UI may test a connection (POST /connections/test): as in
    # Airflow, Disabled by default (a test reaches out from the web server's host), Enabled,
    # or Hidden (refused, and the UI shows no button).
    test_connection: Literal["Disabled", "Enabled", "Hidden"] = "Disabled"

    @field_validator("test_connection", mode="before")
    @classmethod
    def _capitalized(cls, value: Any) -> Any:
        return value.strip().capitalize() if isinstance(value, str) else value

    @field_validator("max_conf_mb", "max_variable_mb", "max_xcom_mb")
    @classmethod
    def _positive_size(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of MB")
        return value

    @field_validator("parallelism", "max_map_length")
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


class DatabaseSettings(Section):
    url: str
    pool_size: int = 5
    max_overflow: int = 10
    pool_recycle: int = 1800
    pool_pre_ping: bool = True
    connect_timeout: int = 10
    # Seconds of silence after which a connection to the server counts as lost (keepalives and
    # TCP_USER_TIMEOUT; see metastore/tcp.py); 0 leaves the operating system's defaults.
    tcp_timeout: NonNegativeInt = 30
    sqlite_busy_timeout: float = 30.0
    echo: bool = False


class DagProcessorSettings(Section):
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


class SchedulerSettings(Section):
    run_dag_processor: bool = True
    heartbeat_interval: float = 2.0
    job_timeout: float = 10.0
    # How often the scheduler looks, unprompted, for work other processes added. On SQLite
    # and PostgreSQL it is told at once, and looks unprompted only every 10 x this.
    wake_interval: float = 0.5
    max_dagruns_per_loop: int = 20
    # Asset-triggered runs created and started in one pass: the consumers of one update start
    # together (each step is one statement for all of them, but starting a run is not).
    max_asset_runs_per_loop: int = 500
    max_tis_per_query: int = 512
    # How often the scheduler looks for runs past a deadline alert (DAG(deadline=...)).
    deadline_check_interval: float = 5.0

    @field_validator(
        "heartbeat_interval", "job_timeout", "wake_interval", "deadline_check_interval"
    )
    @classmethod
    def _positive_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


class TriggererSettings(Section):
    """The triggerer: runs the triggers of deferred tasks in one asyncio loop per process."""

    # The most triggers one triggerer runs at once (Airflow's [triggerer] capacity).
    capacity: int = 1000
    # A triggerer heartbeats this often (Airflow's default). It looks for triggers to take or
    # drop every second, or this often when shorter.
    job_heartbeat_sec: float = 5.0
    # A triggerer whose last heartbeat is older than this is gone: another takes its triggers,
    # and /health calls the triggerer unhealthy. Three heartbeats.
    job_timeout: float = 15.0
    # A trigger that keeps the event loop busy this long without awaiting is logged by name
    # (it delays every other trigger of its triggerer).
    blocked_loop_threshold: float = 0.2

    @field_validator("capacity")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("job_heartbeat_sec", "job_timeout", "blocked_loop_threshold")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value


class LoggingSettings(Section):
    base_log_folder: Path
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class WebserverSettings(Section):
    host: str = "127.0.0.1"
    port: int = 8080
    # The address people reach the UI at (e.g. "https://tradewind.example.com"), for the links
    # in alerts; empty: http://host:port.
    base_url: str = ""
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
    # The time zone the UI shows dates in until a visitor picks another in the top bar (an IANA
    # name such as "Europe/Paris", "UTC", or "system": the browser's own zone).
    default_ui_timezone: str = "UTC"

    @field_validator("default_ui_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value in ("UTC", "system"):
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

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


class CelerySettings(Section):
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


class KubernetesSettings(Section):
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

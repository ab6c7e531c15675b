"""The ``[traces]`` and ``[openlineage]`` sections: spans of runs and tries over OTLP, and
OpenLineage events of runs and tries. Both are off by default."""

from __future__ import annotations

import json
from typing import Any

from pydantic import field_validator

from tradewind.settings.sections import Section

TRANSPORT_TYPES = ("http", "file", "console")


class TracesSettings(Section):
    """Airflow's ``[traces]``: a span per DAG run, a child span per task try, over OTLP/HTTP."""

    otel_on: bool = False
    otel_host: str = "localhost"
    otel_port: int = 8889
    otel_ssl_active: bool = False
    # The resource's service.name of every span.
    otel_service: str = "tradewind"
    # Print the spans on the console instead of sending them (to see what would be sent).
    otel_debugging_on: bool = False
    # Add the try's log location to its span as an event.
    otel_task_log_event: bool = False

    @field_validator("otel_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("must be a port number (1-65535)")
        return value

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.otel_ssl_active else "http"
        return f"{scheme}://{self.otel_host}:{self.otel_port}/v1/traces"


class OpenLineageSettings(Section):
    """The OpenLineage provider's ``[openlineage]``: off unless a transport is configured."""

    disabled: bool = False
    # The namespace of the jobs (DAGs and tasks) in the events.
    namespace: str = "default"
    # {"type": "http", "url": ..., "endpoint": "api/v1/lineage"}, {"type": "file",
    # "log_file_path": ...}, {"type": "console"}: passed to openlineage-python's client.
    transport: dict[str, Any] = {}
    # An openlineage.yml for the client, when no transport is given here.
    config_path: str = ""
    # Operators (full class paths, ";"-separated) whose tries send no events.
    disabled_for_operators: str = ""

    @field_validator("transport", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("must be a JSON object") from None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        if value and value.get("type") not in TRANSPORT_TYPES:
            raise ValueError(f"transport type must be one of {', '.join(TRANSPORT_TYPES)}")
        return value

    @property
    def enabled(self) -> bool:
        return not self.disabled and bool(self.transport or self.config_path)

    @property
    def operators_off(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.disabled_for_operators.split(";") if p.strip())

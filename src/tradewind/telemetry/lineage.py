"""OpenLineage events: START, then COMPLETE or FAIL, for each task try and each DAG run,
sent through openlineage-python's client and its transports (http, file, console).

A task try is the job ``<dag_id>.<task_id>`` in ``[openlineage] namespace``, its run has a
parent run facet naming the DAG run (the job ``<dag_id>``); its inlets and outlets are the
events' input and output datasets, named from their URIs. Run ids are derived from the keys,
so the START and the end of a run carry the same one. Events are built and sent by the
telemetry thread (see :mod:`tradewind.telemetry.dispatch`), never by the scheduler's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tradewind.settings import OpenLineageSettings
from tradewind.telemetry import records

log = logging.getLogger(__name__)

EXTRA_HINT = "lineage needs the openlineage extra: pip install 'tradewind[openlineage]'"
PRODUCER = "https://github.com/tradewind/tradewind"
END_STATES = {"success": "COMPLETE", "failed": "FAIL", "upstream_failed": "FAIL"}
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)


class LineageUnavailable(RuntimeError):
    """``[openlineage]`` is configured but openlineage-python is not installed."""


def dataset_name(uri: str, default_namespace: str) -> tuple[str, str]:
    """An asset's URI as an OpenLineage dataset (namespace, name): ``s3://bucket/key`` is
    (``s3://bucket``, ``key``), ``file:///data/x.csv`` (``file``, ``/data/x.csv``); a name
    with no scheme stays whole, in the job namespace."""
    parts = urlsplit(uri)
    if not parts.scheme:
        return default_namespace, uri
    if parts.scheme == "file" or not parts.netloc:
        return parts.scheme, parts.path or uri
    name = parts.path.lstrip("/") or "/"
    if parts.query:
        name = f"{name}?{parts.query}"
    return f"{parts.scheme}://{parts.netloc}", name


def _uris(assets: Iterable[Mapping[str, Any]]) -> list[str]:
    return [a["asset"]["uri"] for a in assets if isinstance(a.get("asset"), Mapping)]


def require() -> None:
    """Fail with the extra to install when openlineage-python is missing."""
    try:
        import openlineage.client  # noqa: F401
    except ImportError as exc:
        raise LineageUnavailable(f"{EXTRA_HINT} ({exc})") from None


def settle_environment(transport: Any) -> None:
    """Make an HTTP transport's session read the environment once, not before every event.

    Before each request, ``requests`` looks up the proxies, the CA bundle and ``~/.netrc``
    in the environment: about a third of an event's CPU. They are looked up here, for the
    transport's one URL, and the session keeps what was found. Other transports, and a
    session that already ignores the environment, are left as they are.
    """
    try:
        from requests import Session
        from requests.utils import get_netrc_auth
    except ImportError:
        return
    session, url = getattr(transport, "session", None), getattr(transport, "url", None)
    if not isinstance(session, Session) or not isinstance(url, str) or not session.trust_env:
        return
    found = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(found.get("proxies") or {})
    if getattr(transport, "verify", None) is True and isinstance(found.get("verify"), str):
        transport.verify = found["verify"]  # REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE
    if session.auth is None:
        session.auth = get_netrc_auth(url)
    session.trust_env = False


class LineageWriter:
    """Sends an event per record through an OpenLineage client."""

    takes = (records.TryRecord, records.RunRecord)

    def __init__(self, settings: OpenLineageSettings) -> None:
        try:
            from openlineage.client import OpenLineageClient
        except ImportError as exc:
            raise LineageUnavailable(f"{EXTRA_HINT} ({exc})") from None
        self.namespace = settings.namespace
        self._operators_off = settings.operators_off
        config: dict[str, Any] = {"transport": dict(settings.transport)}
        if not settings.transport:
            import yaml  # openlineage-python's own dependency

            with open(settings.config_path, encoding="utf-8") as file:
                config = yaml.safe_load(file) or {}
        self._client = OpenLineageClient(config=config)
        settle_environment(self._client.transport)

    def write(self, record: records.Record) -> None:
        if isinstance(record, records.TryRecord) and record.operator in self._operators_off:
            return
        event = self.event(record)
        if event is not None:
            self._client.emit(event)

    def flush(self, timeout: float) -> bool:
        transport = self._client.transport
        wait = getattr(transport, "wait_for_completion", None)
        return bool(wait(timeout)) if callable(wait) else True

    def close(self) -> None:
        self._client.close(timeout=5.0)

    def event(self, record: records.Record) -> Any:
        """The RunEvent for a record (None for a state that has no event: a try up for
        retry or deferred ends its OpenLineage run as FAIL or not at all)."""
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

        if not record.ended:
            kind, moment = "START", record.start
        elif record.state in END_STATES:
            kind, moment = END_STATES[record.state], record.end
        elif record.state == "up_for_retry":
            kind, moment = "FAIL", record.end
        else:
            return None
        if isinstance(record, records.RunRecord):
            job_name, run_id, facets = record.dag_id, self._run_uuid(record), {}
            inputs: list[Any] = []
            outputs: list[Any] = []
        else:
            job_name = f"{record.dag_id}.{record.task_id}"
            run_id, facets = self._try_uuid(record), self._parent(record)
            inputs, outputs = self._datasets(record)
        return RunEvent(
            eventType=getattr(RunState, kind),
            eventTime=(moment or datetime.now(UTC)).isoformat(),
            run=Run(runId=run_id, facets=facets),
            job=Job(namespace=self.namespace, name=job_name),
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        )

    def _run_uuid(self, run: records.RunRecord) -> str:
        from openlineage.client.uuid import generate_static_uuid

        data = f"{self.namespace}.{run.dag_id}.{run.run_id}".encode()
        return str(generate_static_uuid(run.logical_date or FAR_PAST, data))

    def _try_uuid(self, ti: records.TryRecord) -> str:
        from openlineage.client.uuid import generate_static_uuid

        data = (
            f"{self.namespace}.{ti.dag_id}.{ti.task_id}.{ti.run_id}.{ti.map_index}.{ti.try_number}"
        )
        return str(generate_static_uuid(ti.logical_date or FAR_PAST, data.encode()))

    def _parent(self, ti: records.TryRecord) -> dict[str, Any]:
        from openlineage.client.facet_v2 import parent_run

        run = records.RunRecord(ti.dag_id, ti.run_id, "", "", ti.logical_date, None)
        return {
            "parent": parent_run.ParentRunFacet(
                run=parent_run.Run(runId=self._run_uuid(run)),
                job=parent_run.Job(namespace=self.namespace, name=ti.dag_id),
            )
        }

    def _datasets(self, ti: records.TryRecord) -> tuple[list[Any], list[Any]]:
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        inputs = [InputDataset(*dataset_name(uri, self.namespace)) for uri in _uris(ti.inlets)]
        outputs = [OutputDataset(*dataset_name(uri, self.namespace)) for uri in _uris(ti.outlets)]
        return inputs, outputs

"""``GET /metrics``: the state of the system for Prometheus, read from the metastore on each
scrape (the web server keeps no counters of its own, so any number of workers agree)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from tradewind.api.deps import AsViewer, DbSession, Web
from tradewind.metastore.store import gauges
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import pools as pool_store
from tradewind.metastore.types import utcnow
from tradewind.settings import Settings
from tradewind.version import __version__

router = APIRouter(tags=["monitor"])


class MetastoreCollector(Collector):
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        session = self.session
        yield InfoMetricFamily("tradewind_build", "tradewind's version", {"version": __version__})
        runs = GaugeMetricFamily("tradewind_dag_runs", "DAG runs by state", labels=["state"])
        for state, count in sorted(gauges.dag_runs_by_state(session).items()):
            runs.add_metric([state], count)
        yield runs
        tasks = GaugeMetricFamily(
            "tradewind_task_instances", "Unfinished task instances by state", labels=["state"]
        )
        for state, count in gauges.unfinished_task_instances(session).items():
            tasks.add_metric([state], count)
        yield tasks
        dags = GaugeMetricFamily("tradewind_dags", "Active DAGs", labels=["paused"])
        for paused, count in gauges.dags_by_paused(session).items():
            dags.add_metric([str(paused).lower()], count)
        yield dags
        yield GaugeMetricFamily(
            "tradewind_import_errors",
            "DAG files that fail to import",
            gauges.import_errors(session),
        )
        yield from self._pools()
        beat = job_store.latest_heartbeat(session, job_store.SCHEDULER)
        age = GaugeMetricFamily(
            "tradewind_scheduler_heartbeat_age_seconds",
            "Seconds since a scheduler last heartbeat (absent when none ever did)",
        )
        if beat is not None:
            age.add_metric([], (utcnow() - beat).total_seconds())
        yield age
        yield from self._dag_processor()

    def _dag_processor(self) -> Iterator[GaugeMetricFamily]:
        beat = job_store.latest_heartbeat(self.session, job_store.DAG_PROCESSOR)
        age = GaugeMetricFamily(
            "tradewind_dag_processor_heartbeat_age_seconds",
            "Seconds since a DAG processor last heartbeat (absent when none ever did)",
        )
        seconds = (utcnow() - beat).total_seconds() if beat is not None else None
        if seconds is not None:
            age.add_metric([], seconds)
        yield age
        threshold = self.settings.dag_processor.health_check_threshold
        yield GaugeMetricFamily(
            "tradewind_dag_processor_healthy",
            "1 when a DAG processor heartbeat within dag_processor.health_check_threshold",
            1 if seconds is not None and seconds <= threshold else 0,
        )

    def _pools(self) -> Iterator[GaugeMetricFamily]:
        usage = pool_store.usage(self.session)
        slots = GaugeMetricFamily(
            "tradewind_pool_slots", "Pool slots by use", labels=["pool", "use"]
        )
        for pool in pool_store.list_pools(self.session):
            used = usage.get(pool.pool, {})
            running, queued = used.get("running", 0), used.get("queued", 0)
            slots.add_metric([pool.pool, "total"], pool.slots)
            slots.add_metric([pool.pool, "running"], running)
            slots.add_metric([pool.pool, "queued"], queued)
            slots.add_metric([pool.pool, "open"], max(0, pool.slots - running - queued))
        yield slots


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(session: DbSession, who: AsViewer, web: Web) -> Response:
    """Prometheus text format: runs, unfinished task instances, DAGs, pools, import errors and
    the heartbeats of the scheduler and the DAG processor."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetastoreCollector(session, web.settings))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

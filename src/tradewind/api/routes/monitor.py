"""Health and version: what a load balancer or a person checks first (no login needed)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tradewind.api.deps import Web
from tradewind.metastore import outage
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.store import triggers as trigger_store
from tradewind.metastore.types import utcnow
from tradewind.version import __version__

router = APIRouter(tags=["monitor"])

UNREACHABLE = "the metastore cannot be reached"
FAILING = "the metastore answered with an error"


class MetastoreHealth(BaseModel):
    status: str  # healthy | unhealthy
    # Why it is unhealthy (None when healthy): the metastore cannot be reached, or it answered
    # with an error. No more than that: this endpoint needs no login.
    detail: str | None = None


class SchedulerHealth(BaseModel):
    status: str  # healthy | unhealthy
    latest_heartbeat: datetime | None
    heartbeat_age_seconds: float | None


class DagProcessorHealth(BaseModel):
    status: str  # healthy | unhealthy
    latest_dag_processor_heartbeat: datetime | None
    heartbeat_age_seconds: float | None


class TriggererHealth(BaseModel):
    status: str  # healthy | unhealthy
    latest_triggerer_heartbeat: datetime | None
    heartbeat_age_seconds: float | None


class Health(BaseModel):
    metadatabase: MetastoreHealth
    scheduler: SchedulerHealth
    dag_processor: DagProcessorHealth
    triggerer: TriggererHealth


class Version(BaseModel):
    version: str


@router.get("/health", response_model=Health)
def health(web: Web) -> Health:
    """Is the metastore reachable, did a scheduler heartbeat within scheduler.job_timeout, a
    DAG processor within dag_processor.health_check_threshold, and a triggerer within
    triggerer.job_timeout?"""
    beat: datetime | None = None
    processor_beat: datetime | None = None
    triggerer_beat: datetime | None = None
    problem: str | None = None
    try:
        with web.reads() as session:
            session.execute(text("SELECT 1"))
            beat = job_store.latest_heartbeat(session, job_store.SCHEDULER)
            processor_beat = job_store.latest_heartbeat(session, job_store.DAG_PROCESSOR)
            triggerer_beat = job_store.latest_heartbeat(session, trigger_store.TRIGGERER)
    except SQLAlchemyError as error:
        problem = UNREACHABLE if outage.is_outage(error) else FAILING
    now = utcnow()
    age = _age(beat, now)
    processor_age = _age(processor_beat, now)
    triggerer_age = _age(triggerer_beat, now)
    threshold = web.settings.dag_processor.health_check_threshold
    return Health(
        metadatabase=MetastoreHealth(status="unhealthy" if problem else "healthy", detail=problem),
        scheduler=SchedulerHealth(
            status=_status(age, web.settings.scheduler.job_timeout),
            latest_heartbeat=beat,
            heartbeat_age_seconds=age,
        ),
        dag_processor=DagProcessorHealth(
            status=_status(processor_age, threshold),
            latest_dag_processor_heartbeat=processor_beat,
            heartbeat_age_seconds=processor_age,
        ),
        triggerer=TriggererHealth(
            status=_status(triggerer_age, web.settings.triggerer.job_timeout),
            latest_triggerer_heartbeat=triggerer_beat,
            heartbeat_age_seconds=triggerer_age,
        ),
    )


def _age(beat: datetime | None, now: datetime) -> float | None:
    return round((now - beat).total_seconds(), 3) if beat is not None else None


def _status(age: float | None, threshold: float) -> str:
    return "healthy" if age is not None and age <= threshold else "unhealthy"


@router.get("/version", response_model=Version)
def version() -> Version:
    return Version(version=__version__)

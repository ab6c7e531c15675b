"""Health and version: what a load balancer or a person checks first (no login needed)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tradewind.api.deps import Web
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.types import utcnow
from tradewind.version import __version__

router = APIRouter(tags=["monitor"])


class MetastoreHealth(BaseModel):
    status: str  # healthy | unhealthy


class SchedulerHealth(BaseModel):
    status: str  # healthy | unhealthy
    latest_heartbeat: datetime | None
    heartbeat_age_seconds: float | None


class Health(BaseModel):
    metadatabase: MetastoreHealth
    scheduler: SchedulerHealth


class Version(BaseModel):
    version: str


@router.get("/health", response_model=Health)
def health(web: Web) -> Health:
    """Is the metastore reachable, and did a scheduler heartbeat within scheduler.job_timeout?"""
    beat: datetime | None = None
    reachable = True
    try:
        with web.reads() as session:
            session.execute(text("SELECT 1"))
            beat = job_store.latest_heartbeat(session, job_store.SCHEDULER)
    except SQLAlchemyError:
        reachable = False
    age = (utcnow() - beat).total_seconds() if beat is not None else None
    alive = age is not None and age <= web.settings.scheduler.job_timeout
    return Health(
        metadatabase=MetastoreHealth(status="healthy" if reachable else "unhealthy"),
        scheduler=SchedulerHealth(
            status="healthy" if alive else "unhealthy",
            latest_heartbeat=beat,
            heartbeat_age_seconds=round(age, 3) if age is not None else None,
        ),
    )


@router.get("/version", response_model=Version)
def version() -> Version:
    return Version(version=__version__)

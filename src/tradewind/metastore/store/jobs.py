"""Jobs: long-running components announce themselves and heartbeat; stale ones are dead."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tradewind.metastore.models import Job

RUNNING = "running"
FINISHED = "finished"
# The job types whose heartbeats the web server's health check reads.
SCHEDULER = "scheduler"
DAG_PROCESSOR = "dag_processor"


def start_job(
    session: Session, job_type: str, *, hostname: str, pid: int, executor: str | None, now: datetime
) -> int:
    job = Job(
        job_type=job_type,
        state=RUNNING,
        hostname=hostname,
        pid=pid,
        executor_class=executor,
        start_date=now,
        latest_heartbeat=now,
    )
    session.add(job)
    session.flush()
    return job.id


def heartbeat(session: Session, job_id: int, now: datetime) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(latest_heartbeat=now))


def end_job(session: Session, job_id: int, now: datetime) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(state=FINISHED, end_date=now))


def alive_jobs(session: Session, job_type: str, *, now: datetime, timeout: float) -> list[Job]:
    """Jobs of this type that say they run and heartbeated within ``timeout`` seconds."""
    return list(
        session.scalars(
            select(Job).where(
                Job.job_type == job_type,
                Job.state == RUNNING,
                Job.latest_heartbeat >= now - timedelta(seconds=timeout),
            )
        ).all()
    )


def latest_heartbeat(session: Session, job_type: str) -> datetime | None:
    return session.scalar(
        select(Job.latest_heartbeat)
        .where(Job.job_type == job_type, Job.state == RUNNING)
        .order_by(Job.latest_heartbeat.desc())
        .limit(1)
    )

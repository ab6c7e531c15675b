"""Paged reads of DAGs for the web server: one page of rows, their tags and recent run states,
and the total, in a handful of queries whatever the number of DAGs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from tradewind.metastore.models import DagModel, DagRun, DagTag, ParseImportError, TaskInstance


@dataclass(frozen=True)
class DagFilter:
    tags: Sequence[str] = ()
    dag_id_contains: str | None = None
    paused: bool | None = None
    include_inactive: bool = False


@dataclass
class DagPage:
    dags: list[DagModel]
    total: int
    tags: dict[str, list[str]] = field(default_factory=dict)


def page_dags(session: Session, where: DagFilter, *, limit: int, offset: int) -> DagPage:
    """DAGs matching ``where`` ordered by id, ``limit`` from ``offset``, and the match count."""
    # The page's tags come in one query below (tags_of), not through the relationship.
    query = select(DagModel).options(lazyload(DagModel.tags))
    if not where.include_inactive:
        query = query.where(DagModel.is_active.is_(True))
    if where.paused is not None:
        query = query.where(DagModel.is_paused.is_(where.paused))
    if where.tags:
        query = query.where(
            DagModel.dag_id.in_(select(DagTag.dag_id).where(DagTag.name.in_(list(where.tags))))
        )
    if where.dag_id_contains:
        query = query.where(DagModel.dag_id.contains(where.dag_id_contains, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(DagModel.dag_id).limit(limit).offset(offset)).all())
    return DagPage(rows, total, tags_of(session, [row.dag_id for row in rows]))


def tags_of(session: Session, dag_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if dag_ids:
        for dag_id, name in session.execute(
            select(DagTag.dag_id, DagTag.name)
            .where(DagTag.dag_id.in_(list(dag_ids)))
            .order_by(DagTag.dag_id, DagTag.name)
        ):
            found[dag_id].append(name)
    return dict(found)


def all_tags(session: Session) -> list[str]:
    return list(session.scalars(select(DagTag.name).distinct().order_by(DagTag.name)).all())


@dataclass(frozen=True)
class RecentRun:
    run_id: str
    state: str
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None


def recent_runs(
    session: Session, dag_ids: Sequence[str], per_dag: int
) -> dict[str, list[RecentRun]]:
    """The latest ``per_dag`` runs of each DAG (newest first), in one query."""
    if not dag_ids:
        return {}
    ranked = (
        select(
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.state,
            DagRun.logical_date,
            DagRun.start_date,
            DagRun.end_date,
            func.row_number()
            .over(partition_by=DagRun.dag_id, order_by=DagRun.logical_date.desc())
            .label("rank"),
        )
        .where(DagRun.dag_id.in_(list(dag_ids)))
        .subquery()
    )
    found: dict[str, list[RecentRun]] = defaultdict(list)
    for row in session.execute(
        select(ranked).where(ranked.c.rank <= per_dag).order_by(ranked.c.dag_id, ranked.c.rank)
    ):
        found[row.dag_id].append(
            RecentRun(row.run_id, row.state, row.logical_date, row.start_date, row.end_date)
        )
    return dict(found)


def run_state_counts(session: Session, dag_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """dag_id -> run state -> how many runs of that DAG are in it, in one query."""
    found: dict[str, dict[str, int]] = defaultdict(dict)
    if dag_ids:
        for dag_id, state, count in session.execute(
            select(DagRun.dag_id, DagRun.state, func.count())
            .where(DagRun.dag_id.in_(list(dag_ids)))
            .group_by(DagRun.dag_id, DagRun.state)
        ):
            found[dag_id][state] = count
    return dict(found)


def task_state_counts(
    session: Session, runs: Sequence[tuple[str, str]]
) -> dict[str, dict[str | None, int]]:
    """dag_id -> task state -> how many task instances of the given (dag_id, run_id) runs (one
    run per DAG: its latest) are in it, in one query."""
    found: dict[str, dict[str | None, int]] = defaultdict(dict)
    wanted = set(runs)
    if wanted:
        for dag_id, run_id, state, count in session.execute(
            select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.state, func.count())
            .where(
                TaskInstance.dag_id.in_([dag_id for dag_id, _ in wanted]),
                TaskInstance.run_id.in_([run_id for _, run_id in wanted]),
            )
            .group_by(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.state)
        ):
            if (dag_id, run_id) in wanted:
                found[dag_id][state] = found[dag_id].get(state, 0) + count
    return dict(found)


def import_error_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ParseImportError)) or 0


def pause_states(session: Session, dag_ids: Sequence[str]) -> dict[str, bool]:
    """Whether each of ``dag_ids`` is paused, in one query."""
    if not dag_ids:
        return {}
    rows = session.execute(
        select(DagModel.dag_id, DagModel.is_paused).where(DagModel.dag_id.in_(list(dag_ids)))
    )
    return {dag_id: bool(paused) for dag_id, paused in rows}

"""Read registered DAGs back from the metastore, without importing any DAG file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tradewind import timetables
from tradewind.exceptions import TradewindError
from tradewind.metastore.store import dags as dag_store
from tradewind.parsing import serialize


class DagNotFound(TradewindError):
    """No DAG with that id has been registered."""


def load_serialized(session: Session, dag_id: str) -> serialize.SerializedDag:
    row = dag_store.latest_serialized(session, dag_id)
    if row is None:
        raise DagNotFound(f"no DAG {dag_id!r} is registered (see `tradewind dags list`)")
    return serialize.deserialize_dag(row.data)


def next_executions(
    session: Session, dag_id: str, *, count: int, now: datetime
) -> list[timetables.DagRunInfo]:
    """The next ``count`` scheduled runs of a DAG after its latest scheduled one."""
    dag = load_serialized(session, dag_id)
    last = dag_store.last_automated_interval(session, dag_id)
    interval = timetables.DataInterval(*last) if last else None
    infos: list[timetables.DagRunInfo] = []
    for _ in range(count):
        info = dag.next_dagrun_info(interval, now)
        if info is None:
            break
        infos.append(info)
        interval = info.data_interval
        # After the first, later runs follow on from it whatever the clock says.
        now = max(now, info.run_after)
    return infos


def describe(dag: serialize.SerializedDag) -> str:
    """Tasks and edges as text: one line per task in dependency order, then its downstreams."""
    lines = [f"DAG {dag.dag_id}  schedule: {dag.schedule}  tasks: {len(dag.tasks)}"]
    for task_id in dag.topological_order():
        task = dag.get_task(task_id)
        lines.append(f"  {task_id}  [{task.operator}, trigger_rule={task.trigger_rule.value}]")
        for down in sorted(task.downstream_task_ids):
            lines.append(f"      >> {down}")
    return "\n".join(lines)


def to_dot(dag: serialize.SerializedDag) -> str:
    """The DAG as a Graphviz digraph, for `dot -Tpng`."""
    out = [f'digraph "{dag.dag_id}" {{', "  rankdir=LR;", "  node [shape=box];"]
    for task_id in dag.topological_order():
        out.append(f'  "{task_id}";')
    for task_id in dag.topological_order():
        for down in sorted(dag.get_task(task_id).downstream_task_ids):
            out.append(f'  "{task_id}" -> "{down}";')
    out.append("}")
    return "\n".join(out)

"""The DAG files of the benchmark, written once for both systems.

Each shape is the body of a DAG file; a system's header supplies the imports. The bodies are
the same text for tradewind and for Airflow: only the import lines differ, which is also all a
user changes to move such a file over.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from common import Sizes

HEADERS = {
    "tradewind": """\
from datetime import datetime, timedelta

from tradewind import DAG, task
from tradewind.operators import EmptyOperator, PythonOperator
""",
    "airflow": """\
from datetime import datetime, timedelta

from airflow.sdk import DAG, task
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
""",
}

COMMON = """

def noop(**context):
    return None


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def work(n):
    fib(n)
"""

FIB_CHAIN = """
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1),
         is_paused_upon_creation=False):
    previous = None
    for n in range({tasks}):
        current = PythonOperator(
            task_id=f"t{{n:03d}}", python_callable=work, op_args=[{fib}]
        )
        if previous is not None:
            previous >> current
        previous = current
"""

# start -> {tasks} parallel no-op tasks -> end.
FANOUT = """
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1),
         is_paused_upon_creation=False, max_active_tasks={tasks}):
    start = EmptyOperator(task_id="{start}")
    end = EmptyOperator(task_id="end")
    middle = [
        PythonOperator(task_id=f"t{{n:0{digits}d}}", python_callable=noop)
        for n in range({tasks})
    ]
    start >> middle >> end
"""


def fanout(dag_id: str, *, start: str = "start", digits: int = 4) -> str:
    """FANOUT as DAG ``dag_id``, its first task ``start``, the ids of the tasks it fans out to
    ``t`` and ``digits`` digits."""
    return (
        FANOUT.replace("{dag_id}", dag_id)
        .replace("{start}", start)
        .replace("{digits}", str(digits))
    )


# Runs measured one at a time: unpaused, no schedule, triggered by the bench.
RUN_SHAPES = {
    "chain": """
with DAG("bench_chain", schedule=None, start_date=datetime(2024, 1, 1),
         is_paused_upon_creation=False, max_active_tasks={tasks}):
    previous = None
    for n in range({tasks}):
        current = PythonOperator(task_id=f"t{{n:03d}}", python_callable=noop)
        if previous is not None:
            previous >> current
        previous = current
""",
    "fanout": fanout("bench_fanout", digits=3),
    "fanout_wide": fanout("bench_fanout_wide"),
    # Layers of the same width; every task of a layer waits for every task of the one before.
    "lattice": """
with DAG("bench_lattice", schedule=None, start_date=datetime(2024, 1, 1),
         is_paused_upon_creation=False, max_active_tasks={tasks}):
    previous = []
    for layer in range({layers}):
        current = [
            PythonOperator(task_id=f"l{{layer:02d}}_t{{n:02d}}", python_callable=noop)
            for n in range({width})
        ]
        for upstream in previous:
            upstream >> current
        previous = current
""",
    "mapped": """
with DAG("bench_mapped", schedule=None, start_date=datetime(2024, 1, 1),
         is_paused_upon_creation=False, max_active_tasks={tasks}):

    @task
    def items():
        return [{{"n": n}} for n in range({tasks})]

    each = PythonOperator.partial(task_id="each", python_callable=noop).expand(op_kwargs=items())
    each >> EmptyOperator(task_id="end")
""",
    # mapped's fan-out made of plain tasks (its first task has the name of mapped's).
    "wide": fanout("bench_wide", start="items"),
    # Run again and again: what the processes hold after many tries (see tradewind_side.soak).
    "soak": fanout("bench_soak"),
    # light and heavy: the same chain of fib(n) tasks, with other sizes.
    "light": FIB_CHAIN.replace("{dag_id}", "bench_light"),
    "heavy": FIB_CHAIN.replace("{dag_id}", "bench_heavy"),
}

# many_dags: one of many small chains, each run once (@once) at the same start_date, a moment
# shortly after the bench wrote the files: every first run comes due at that moment.
MANY_DAGS_SHAPE = """
with DAG("{dag_id}", schedule="@once", start_date=datetime.fromisoformat("{due}"),
         is_paused_upon_creation=False, max_active_tasks={tasks}):
    previous = None
    for n in range({tasks}):
        current = PythonOperator(task_id=f"t{{n:02d}}", python_callable=noop)
        if previous is not None:
            previous >> current
        previous = current
"""

# The parse set: four shapes of 20 tasks taken in turn, so that it mixes long chains, wide
# fan-outs, classic operators and TaskFlow functions passing XComs. Paused (the default).
PARSE_SHAPES = {
    "chain": """
with DAG("{dag_id}", schedule="@daily", start_date=datetime(2024, 1, 1), tags=["bench"]):
    previous = None
    for n in range({tasks}):
        step = PythonOperator(task_id=f"step_{{n}}", python_callable=noop)
        if previous is not None:
            previous >> step
        previous = step
""",
    "fanout": """
with DAG("{dag_id}", schedule=timedelta(hours=1), start_date=datetime(2024, 1, 1)):
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    for n in range({tasks} - 2):
        start >> PythonOperator(task_id=f"work_{{n}}", python_callable=noop) >> end
""",
    "taskflow_chain": """
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1), tags=["bench"]):

    @task
    def step(value: int) -> int:
        return value + 1

    value = 0
    for n in range({tasks}):
        value = step.override(task_id=f"step_{{n}}")(value)
""",
    "taskflow_fanout": """
with DAG("{dag_id}", schedule="0 3 * * *", start_date=datetime(2024, 1, 1)):

    @task
    def source() -> int:
        return 1

    @task
    def branch(value: int, n: int) -> int:
        return value * n

    @task
    def collect(*values: int) -> int:
        return sum(values)

    first = source()
    collect(*[branch.override(task_id=f"branch_{{n}}")(first, n) for n in range({tasks} - 2)])
""",
}


def run_dag_id(workload: str) -> str:
    return f"bench_{workload}"


def write_run_dag(system: str, workload: str, folder: Path, sizes: Sizes) -> str:
    """Write the DAG file of a run workload (see ``RUN_SHAPES``); its dag_id."""
    tasks, fib_n = {
        "chain": (sizes.chain, 0),
        "fanout": (sizes.fanout, 0),
        "fanout_wide": (sizes.fanout_wide, 0),
        "lattice": (sizes.lattice_layers * sizes.lattice_width, 0),
        "mapped": (sizes.mapped, 0),
        "wide": (sizes.mapped, 0),
        "soak": (sizes.soak_width, 0),
        "light": (sizes.light, sizes.light_fib),
        "heavy": (sizes.heavy, sizes.heavy_fib),
    }[workload]
    body = RUN_SHAPES[workload].format(
        tasks=tasks, fib=fib_n, layers=sizes.lattice_layers, width=sizes.lattice_width
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"bench_{workload}.py").write_text(HEADERS[system] + COMMON + body)
    return run_dag_id(workload)


def write_parse_set(system: str, folder: Path, sizes: Sizes) -> list[str]:
    """Write the parse set (``sizes.parse_files`` files); the dag_ids."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(PARSE_SHAPES)
    dag_ids = []
    for i in range(sizes.parse_files):
        shape = names[i % len(names)]
        dag_id = f"bench_{i:03d}_{shape}"
        body = PARSE_SHAPES[shape].format(dag_id=dag_id, tasks=sizes.parse_tasks)
        (folder / f"{dag_id}.py").write_text(HEADERS[system] + COMMON + body)
        dag_ids.append(dag_id)
    return dag_ids


def write_many_dags(system: str, folder: Path, sizes: Sizes, due: datetime) -> list[str]:
    """Write ``sizes.many_dags`` files of a chain each, all due at ``due`` (aware); the dag_ids."""
    folder.mkdir(parents=True, exist_ok=True)
    dag_ids = []
    for i in range(sizes.many_dags):
        dag_id = f"bench_many_{i:03d}"
        body = MANY_DAGS_SHAPE.format(
            dag_id=dag_id, due=due.isoformat(), tasks=sizes.many_dags_chain
        )
        (folder / f"{dag_id}.py").write_text(HEADERS[system] + COMMON + body)
        dag_ids.append(dag_id)
    return dag_ids

"""What every side of the benchmark suite shares: sizes, databases, timings, process sampling.

A *side* is a system under test (``tradewind`` or ``airflow``): a module with::

    def measure(workload: str, *, db: str, repeat: int, smoke: bool, workdir: Path)
        -> list[dict[str, float]]

that runs ``workload`` ``repeat`` times as a user would (its own home folder under ``workdir``,
its own fresh database, its own processes, all stopped before it returns) and returns one dict
of figures per repetition. The figure names are in :data:`FIGURES`; both sides return the same
names so that the harness (``bench/run.py``) can put them side by side.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import psutil
import sqlalchemy as sa

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

WORKLOADS = (
    "chain",
    "fanout",
    "fanout_wide",
    "lattice",
    "many_dags",
    "mapped",
    "wide",
    "light",
    "heavy",
    "parse",
    "idle",
    "startup",
    "soak",
)
# Workloads the Airflow side does not run (``compare`` measures them on tradewind alone).
TRADEWIND_ONLY = ("soak",)
# One DAG, triggered once per repetition (many_dags has its own: 200 DAGs due at one moment).
RUN_WORKLOADS = ("chain", "fanout", "fanout_wide", "lattice", "mapped", "wide", "light", "heavy")
# Workloads that also report the scheduler's own CPU per finished try.
SCHEDULER_CPU_WORKLOADS = ("chain", "fanout", "fanout_wide", "lattice", "many_dags")

SCHED_CPU = (
    "ms",
    "lower",
    "CPU of the scheduler process itself (not its children) over the run, per finished try",
)

# Figure name -> (unit, "higher" or "lower" is better, what it is).
FIGURES: dict[str, dict[str, tuple[str, str, str]]] = {
    "chain": {
        "hop_ms": ("ms", "lower", "median time from the end of one task to the end of the next"),
        "gap_ms": ("ms", "lower", "median time from the end of one task to the start of the next"),
        "sched_cpu_ms_per_try": SCHED_CPU,
    },
    "fanout": {
        "tasks_per_s": ("tasks/s", "higher", "tasks over trigger -> run end"),
        "sched_cpu_ms_per_try": SCHED_CPU,
    },
    "fanout_wide": {
        "tasks_per_s": ("tasks/s", "higher", "a fan-out of 5,000: tasks over trigger -> run end"),
        "sched_cpu_ms_per_try": SCHED_CPU,
    },
    "lattice": {
        "tasks_per_s": ("tasks/s", "higher", "10 layers of 10, each on all of the layer before"),
        "sched_cpu_ms_per_try": SCHED_CPU,
    },
    "many_dags": {
        "tasks_per_s": (
            "tasks/s",
            "higher",
            "200 chains of 10 due at once: first queued -> last end",
        ),
        "sched_cpu_ms_per_try": SCHED_CPU,
    },
    "mapped": {
        "tasks_per_s": ("tasks/s", "higher", "instances of a task mapped over 1,000 items"),
        "first_ms": ("ms", "lower", "end of the task it maps over -> start of its first instance"),
    },
    "wide": {
        "tasks_per_s": ("tasks/s", "higher", "a plain fan-out as wide as `mapped`"),
        "first_ms": ("ms", "lower", "end of the first task -> start of the first of the fan-out"),
    },
    "light": {"total_s": ("s", "lower", "trigger -> run end, 40 x fib(10) in a chain")},
    "heavy": {
        "total_s": ("s", "lower", "trigger -> run end, 10 x fib(33) in a chain"),
        "compute_s": ("s", "lower", "the same 10 x fib(33) in one plain process"),
        "overhead_pct": ("%", "lower", "how much longer than the pure compute"),
    },
    "parse": {
        "cold_s": ("s", "lower", "cold start until all DAGs are registered"),
        "rescan_s": ("s", "lower", "one refresh of the DAGs folder with nothing changed"),
    },
    "idle": {
        "cpu_s": ("CPU-s", "lower", "CPU of all processes over the idle window"),
        "peak_rss_mb": ("MB", "lower", "peak of the summed RSS of all processes"),
        "peak_pss_mb": ("MB", "lower", "peak of the summed PSS (shared pages split)"),
    },
    "startup": {"healthy_s": ("s", "lower", "start command -> health check answers")},
    "soak": {
        "pss_first_mb": ("MB", "lower", "summed PSS of all processes after the first run's tries"),
        "pss_last_mb": ("MB", "lower", "summed PSS of all processes after the last run's tries"),
        "rss_first_mb": ("MB", "lower", "summed RSS after the first run"),
        "rss_last_mb": ("MB", "lower", "summed RSS after the last run"),
        "growth_pct": ("%", "lower", "PSS after the last run against after the first"),
        "tasks_per_s": ("tasks/s", "higher", "all its tries over its whole time, triggers too"),
    },
}


@dataclass(frozen=True)
class Sizes:
    chain: int = 30
    fanout: int = 200
    fanout_wide: int = 5000
    lattice_layers: int = 10
    lattice_width: int = 10
    many_dags: int = 200
    many_dags_chain: int = 10
    mapped: int = 1000
    light: int = 40
    light_fib: int = 10
    heavy: int = 10
    heavy_fib: int = 33
    parse_files: int = 200
    parse_tasks: int = 20
    idle_seconds: float = 60.0
    soak_width: int = 1000  # the fan-out run again and again by soak
    soak_runs: int = 20


FULL = Sizes()
SMOKE = Sizes(
    chain=5,
    fanout=10,
    fanout_wide=20,
    lattice_layers=3,
    lattice_width=3,
    many_dags=3,
    many_dags_chain=3,
    mapped=10,
    light=5,
    heavy=2,
    heavy_fib=20,
    parse_files=5,
    idle_seconds=3.0,
    soak_width=5,
    soak_runs=2,
)


def sizes(smoke: bool) -> Sizes:
    return SMOKE if smoke else FULL


def fib(n: int) -> int:
    """The work of the light and heavy tasks (recursive on purpose: it is CPU work)."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


# ---- databases -----------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The SQLAlchemy URL of an empty database: a file in ``folder`` or a new PostgreSQL
    database on the local server (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'metastore.db'}"
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    admin = sa.create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def aware(value: Any) -> datetime:
    """A timestamp read from either system's metastore, as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RunTimes:
    """A finished DAG run as its metastore recorded it."""

    state: str
    queued_at: datetime
    end: datetime
    tasks: list[tuple[str, datetime, datetime]]  # (task_id, start, end), sorted by task_id


def read_run(engine: sa.Engine, dag_id: str, run_id: str) -> RunTimes | None:
    """The run's times, or None while it is not finished (same tables in both systems)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT state, queued_at, start_date, end_date FROM dag_run "
                "WHERE dag_id = :d AND run_id = :r"
            ),
            {"d": dag_id, "r": run_id},
        ).first()
        if row is None or row[0] not in ("success", "failed") or row[3] is None:
            return None
        tis = connection.execute(
            sa.text(
                "SELECT task_id, start_date, end_date FROM task_instance "
                "WHERE dag_id = :d AND run_id = :r ORDER BY task_id"
            ),
            {"d": dag_id, "r": run_id},
        ).all()
    queued = row[1] if row[1] is not None else row[2]
    tasks = [(t, aware(s), aware(e)) for t, s, e in tis if s is not None and e is not None]
    return RunTimes(row[0], aware(queued), aware(row[3]), tasks)


def wait_for_run(engine: sa.Engine, dag_id: str, run_id: str, timeout: float) -> RunTimes:
    times = wait_for_value(
        lambda: read_run(engine, dag_id, run_id), timeout, f"run {run_id} of {dag_id} to finish"
    )
    if times.state != "success":
        raise SystemExit(f"run {run_id} of {dag_id} ended {times.state}")
    return times


# ---- figures from run times ----------------------------------------------------------------


def chain_figures(times: RunTimes) -> dict[str, float]:
    """Task ids must sort in chain order (t000, t001, ...)."""
    ends = [end for _, _, end in times.tasks]
    starts = [start for _, start, _ in times.tasks]
    hops = [(b - a).total_seconds() * 1000 for a, b in pairwise(ends)]
    gaps = [(s - e).total_seconds() * 1000 for e, s in zip(ends, starts[1:], strict=False)]
    return {"hop_ms": statistics.median(hops), "gap_ms": statistics.median(gaps)}


def total_seconds(times: RunTimes) -> float:
    return (times.end - times.queued_at).total_seconds()


def fanout_figures(times: RunTimes) -> dict[str, float]:
    return {"tasks_per_s": len(times.tasks) / total_seconds(times)}


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, all its threads, not its children (from
    /proc/<pid>/stat through psutil)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class CpuTrace:
    """The own CPU seconds of one process (:func:`own_cpu_seconds`), read every ``interval``
    on a thread with the UTC wall-clock time of each reading, so that a window can be opened
    afterwards at a moment the metastore recorded (a run's ``queued_at``), after the trigger
    command's own start-up. Use as a context manager around the run."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[datetime, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.samples.append((datetime.now(UTC), own_cpu_seconds(self.pid)))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._read()

    def __enter__(self) -> CpuTrace:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def since(self, moment: datetime) -> float:
        """CPU seconds from the last reading at or before ``moment`` to the last reading."""
        before = [cpu for at, cpu in self.samples if at <= moment] or [self.samples[0][1]]
        return self.samples[-1][1] - before[-1]


def per_try_ms(cpu_seconds: float, tries: int) -> dict[str, float]:
    return {"sched_cpu_ms_per_try": 1000 * cpu_seconds / max(tries, 1)}


@dataclass(frozen=True)
class ManyTimes:
    """The tries of several DAGs' runs, all finished."""

    tries: int
    first_queued: datetime
    last_end: datetime

    def figures(self) -> dict[str, float]:
        span = (self.last_end - self.first_queued).total_seconds()
        return {"tasks_per_s": self.tries / span}


def read_many(engine: sa.Engine, dag_ids: list[str], expected: int) -> ManyTimes | None:
    """The tries of every run of ``dag_ids``, or None while fewer than ``expected`` have
    ended. A try that ended in another state than success stops the bench."""
    query = sa.text(
        "SELECT state, queued_dttm, start_date, end_date FROM task_instance WHERE dag_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    with engine.connect() as connection:
        rows = connection.execute(query, {"ids": dag_ids}).all()
    ended = [row for row in rows if row[3] is not None and row[0] not in (None, "running")]
    failed = [row for row in ended if row[0] != "success"]
    if failed:
        raise SystemExit(f"{len(failed)} tries of {len(dag_ids)} DAGs ended {failed[0][0]}")
    if len(ended) < expected:
        return None
    queued = [aware(row[1] if row[1] is not None else row[2]) for row in ended]
    return ManyTimes(len(ended), min(queued), max(aware(row[3]) for row in ended))


def wait_for_many(
    engine: sa.Engine, dag_ids: list[str], expected: int, timeout: float
) -> ManyTimes:
    return wait_for_value(
        lambda: read_many(engine, dag_ids, expected),
        timeout,
        f"{expected} tries of {len(dag_ids)} DAGs to end",
    )


def wide_figures(times: RunTimes, first: str) -> dict[str, float]:
    """A fan-out after one task ``first`` (mapped or plain): tasks per second, and how soon
    the fan-out's first task started after ``first`` ended."""
    first_end = next(end for task_id, _, end in times.tasks if task_id == first)
    starts = [start for task_id, start, _ in times.tasks if task_id not in (first, "end")]
    return {
        "tasks_per_s": len(times.tasks) / total_seconds(times),
        "first_ms": (min(starts) - first_end).total_seconds() * 1000,
    }


def pure_compute_seconds(python: str, n: int, count: int) -> float:
    """``count`` x fib(``n``) in one fresh process of ``python`` (the interpreter the tasks use)."""
    code = (
        "import time\n"
        "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        f"t = time.perf_counter()\nfor _ in range({count}): fib({n})\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def heavy_figures(times: RunTimes, compute: float) -> dict[str, float]:
    total = total_seconds(times)
    return {"total_s": total, "compute_s": compute, "overhead_pct": 100 * (total / compute - 1)}


# ---- processes -----------------------------------------------------------------------------


class TreeSampler:
    """CPU seconds and peak summed RSS of a process and all its descendants over a window.

    CPU counts live processes (their own time) and reaped ones (through their parents'
    children times), from the first sample to the last.
    """

    def __init__(self, root_pids: list[int]) -> None:
        self.roots = [psutil.Process(pid) for pid in root_pids]
        self._start = self._cpu()
        self.peak_rss, self.peak_pss = self._memory()

    def _tree(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for root in self.roots:
            with contextlib.suppress(psutil.Error):
                found[root.pid] = root
                for child in root.children(recursive=True):
                    found[child.pid] = child
        return list(found.values())

    def _cpu(self) -> dict[int, float]:
        totals: dict[int, float] = {}
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                totals[proc.pid] = t.user + t.system + t.children_user + t.children_system
        return totals

    def _memory(self) -> tuple[int, int]:
        """Summed RSS (shared pages once per process) and PSS (shared pages split)."""
        rss = pss = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                info = proc.memory_full_info()
                rss += info.rss
                pss += info.pss
        return rss, pss

    def settled_memory(self, samples: int = 5, interval: float = 0.4) -> tuple[float, float]:
        """Summed RSS and PSS in MB, the median of a few readings (a try that is still
        exiting counts in one reading, not in the figure)."""
        readings = []
        for _ in range(samples):
            readings.append(self._memory())
            time.sleep(interval)
        rss = statistics.median(r for r, _ in readings)
        pss = statistics.median(p for _, p in readings)
        return rss / 2**20, pss / 2**20

    def sample(self) -> None:
        rss, pss = self._memory()
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)

    def watch(self, seconds: float, interval: float = 0.5) -> dict[str, float]:
        """Sample for ``seconds``; the CPU seconds used and the peak RSS and PSS in MB."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(interval, left))
            self.sample()
        finish = self._cpu()
        cpu = sum(value - self._start.get(pid, 0.0) for pid, value in finish.items())
        return {
            "cpu_s": max(cpu, 0.0),
            "peak_rss_mb": self.peak_rss / 2**20,
            "peak_pss_mb": self.peak_pss / 2**20,
        }


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; also kills what is left of its tree."""
    leftovers: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        leftovers = psutil.Process(proc.pid).children(recursive=True)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in leftovers:
        with contextlib.suppress(psutil.Error):
            child.kill()


def free_port() -> int:
    """A TCP port nobody listens on now (a web server's; never 8080)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_document(url: str) -> dict[str, Any] | None:
    """A health endpoint's JSON document, or None while it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            document: dict[str, Any] = json.loads(response.read())
            return document
    except (OSError, urllib.error.URLError, ValueError):
        return None


def reports_healthy(document: dict[str, Any] | None) -> bool:
    """Metadatabase and scheduler both say healthy (both systems' health documents)."""
    if document is None:
        return False
    return all(
        (document.get(part) or {}).get("status") == "healthy"
        for part in ("metadatabase", "scheduler")
    )


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")


def wait_for_value(read: Callable[[], T | None], timeout: float, what: str) -> T:
    """What ``read()`` returns once it is not None, read every 50 ms (SystemExit after
    ``timeout`` s)."""
    found: list[T] = []

    def done() -> bool:
        value = read()
        if value is not None:
            found.append(value)
        return value is not None

    wait_until(done, timeout, what, interval=0.05)
    return found[0]


# ---- reporting -----------------------------------------------------------------------------


def summarise(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average_1min": os.getloadavg()[0],
        "executable": sys.executable,
    }

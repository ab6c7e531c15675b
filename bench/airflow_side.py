"""The Apache Airflow side of the benchmark suite.

Airflow runs as a user runs it: its own commands from its own virtual environment (made by
``bench/airflow/install.py``), an ``AIRFLOW_HOME`` under the harness's work folder, a fresh
metastore, ``airflow db migrate``, then the real processes (``airflow scheduler``, ``airflow
dag-processor``, ``airflow api-server``, or ``airflow standalone`` for the whole stack). Timings
are read from the metastore by the harness's own process, with the same queries as for
tradewind (``common.read_run``). Every configuration change is an environment variable listed
by :func:`settings` and in ``bench/airflow/README.md``; everything else is Airflow's default.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import common
import psutil
import shapes
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
INSTALLER = HERE / "airflow" / "install.py"

# Generous: Airflow is slow to start and to parse, and the machine is shared.
RUN_TIMEOUT = 600.0
# The 5,000-wide fan-out and the 2,000 tries of many_dags, at Airflow's ~8 tries/s: 10 minutes.
LONG_RUN_TIMEOUT = 3600.0
LONG_RUNS = ("fanout_wide", "many_dags")
REGISTER_TIMEOUT = 900.0
HEALTH_TIMEOUT = 300.0
IDLE_SETTLE_SECONDS = 10.0
# many_dags: how far ahead of the files' writing their runs come due (full, smoke): Airflow's
# cold parse and start take tens of seconds.
MANY_DAGS_LEAD = {False: 150.0, True: 90.0}
MANY_DAGS_MARGIN = 0.5
# rescan_s: the window covers this many whole re-parse cycles of the DAGs folder.
RESCAN_CYCLES_FULL = 4
RESCAN_CYCLES_SMOKE = 1
# Every process we start carries this variable, so that leftovers can be found and killed.
MARKER = "TRADEWIND_BENCH_AIRFLOW"

# The configuration changes, as environment variables; "<...>" values are filled per call.
CHANGES: dict[str, str] = {
    "AIRFLOW_HOME": "<a fresh folder under the harness's work folder>",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
        "<the fresh metastore: sqlite:///<file> or postgresql+psycopg2://...>"
    ),
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor (also Airflow's default)",
    "AIRFLOW__CORE__PARALLELISM": "32 (also Airflow's default)",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False (default True)",
    "AIRFLOW__API__PORT": "<a free port> (default 8080, kept free for the tests)",
    "AIRFLOW__API__BASE_URL": (
        "http://localhost:<port> (so that tasks reach the execution API on that port)"
    ),
}


# ---- the installation ----------------------------------------------------------------------


def _installer() -> ModuleType:
    """``bench/airflow/install.py`` as a module (one place knows where the venv is)."""
    spec = importlib.util.spec_from_file_location("tradewind_bench_airflow_install", INSTALLER)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {INSTALLER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def installed() -> tuple[Path, str]:
    """The Airflow venv and its version, checked once per process (it takes a subprocess)."""
    installer = _installer()
    path: Path = installer.venv_path()
    found = installer.installed_version(path)
    if found != installer.AIRFLOW_VERSION:
        raise SystemExit(
            f"Airflow {installer.AIRFLOW_VERSION} is not installed in {path} (found {found!r}): "
            "run .venv/bin/python bench/airflow/install.py"
        )
    return path, str(found)


def version() -> str:
    """Airflow's version as installed (read from the venv, not assumed)."""
    return installed()[1]


def settings() -> dict[str, str]:
    """Every configuration change made to Airflow (environment variables), for the results."""
    return dict(CHANGES)


# ---- one Airflow installation at work ------------------------------------------------------


def airflow_database_url(url: str) -> str:
    """The metastore URL as Airflow is told it: PostgreSQL through psycopg2, Airflow's driver."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


@dataclass
class Airflow:
    """An ``AIRFLOW_HOME``, its metastore and the processes started on it."""

    venv: Path
    home: Path
    database_url: str  # as the harness reads it (psycopg 3)
    port: int = field(default_factory=common.free_port)
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    @property
    def dags(self) -> Path:
        """Airflow's default DAGs folder: ``$AIRFLOW_HOME/dags``."""
        return self.home / "dags"

    @property
    def logs(self) -> Path:
        """Where the output of every command we run goes (beside Airflow's own logs)."""
        return self.home / "bench-output"

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        base.pop("VIRTUAL_ENV", None)
        base["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{base.get('PATH', '')}"
        return {
            **base,
            MARKER: self.mark,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_database_url(self.database_url),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "32",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{self.port}",
        }

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def cli(self, *args: str, timeout: float = 300.0) -> str:
        """Run ``airflow ARGS`` to the end; its standard output. Fails with its output."""
        self.home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise SystemExit(f"airflow {' '.join(args)} failed ({done.returncode}):\n{tail}")
        return done.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``airflow ARGS`` in the background, its output in ``bench-output/NAME.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.logs / f"{name}.log"
        log: IO[bytes] = log_path.open("ab")
        try:
            process = subprocess.Popen(
                [str(self.venv / "bin" / "airflow"), *args],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.processes.append((name, process, log_path))
        return process

    def pids(self) -> list[int]:
        return [process.pid for _, process, _ in self.processes]

    def check_alive(self) -> None:
        """Fail at once (with the logs) if a component we started has exited."""
        for name, process, _ in self.processes:
            if process.poll() is not None:
                raise SystemExit(f"airflow {name} exited with {process.returncode}\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        """The last lines of every component's output, for error messages."""
        parts = []
        for name, _, log_path in self.processes:
            with contextlib.suppress(OSError):
                text = log_path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name} ({log_path}) ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every component, then kill whatever still carries our mark."""
        for _, process, _ in reversed(self.processes):
            common.stop_process(process)
        self.processes.clear()
        kill_marked(self.mark)


def kill_marked(mark: str) -> None:
    """Kill every process started with our mark in its environment (task runners included)."""
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(MARKER) == mark:
                proc.kill()


@contextlib.contextmanager
def airflow_home(workdir: Path, name: str, database_url: str) -> Iterator[Airflow]:
    """A fresh ``AIRFLOW_HOME`` named ``name`` under ``workdir``; stopped on the way out."""
    home = workdir / name
    if home.exists():
        raise SystemExit(f"{home} exists: the harness must give each call a fresh work folder")
    airflow = Airflow(venv=installed()[0], home=home, database_url=database_url)
    try:
        yield airflow
    finally:
        airflow.stop()


@contextlib.contextmanager
def metastore(db: str, folder: Path) -> Iterator[tuple[str, sa.Engine]]:
    """A fresh database (its URL for the harness) and an engine on it; dropped afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    with common.fresh_database(db, folder) as url:
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        try:
            yield url, engine
        finally:
            engine.dispose()


@contextlib.contextmanager
def installation(db: str, workdir: Path) -> Iterator[tuple[Airflow, sa.Engine]]:
    """A fresh metastore and ``AIRFLOW_HOME`` after ``airflow db migrate``, as a user starts.

    The migration also writes ``airflow.cfg`` with the secrets Airflow generates (JWT,
    Fernet): every component started next reads them from there. Started together on a home
    without it, each would generate its own and the tasks' tokens would be refused."""
    with metastore(db, workdir) as (url, engine), airflow_home(workdir, "airflow-home", url) as af:
        af.cli("db", "migrate")
        yield af, engine


def migrate(workdir: Path, name: str, database_url: str) -> None:
    """``airflow db migrate`` from a scratch home, so that the measured home stays untouched."""
    with airflow_home(workdir, name, database_url) as scratch:
        scratch.cli("db", "migrate")


# ---- waiting on the metastore --------------------------------------------------------------


def count_registered(engine: sa.Engine, dag_ids: list[str], *, unpaused: bool = False) -> int:
    """How many of ``dag_ids`` are in the ``dag`` table and serialized (and unpaused)."""
    query = sa.text(
        "SELECT count(DISTINCT d.dag_id) FROM dag d "
        "JOIN serialized_dag s ON s.dag_id = d.dag_id "
        "WHERE d.dag_id IN :ids" + (" AND NOT d.is_paused" if unpaused else "")
    ).bindparams(sa.bindparam("ids", expanding=True))
    try:
        with engine.connect() as connection:
            return int(connection.execute(query, {"ids": dag_ids}).scalar_one())
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return 0  # the tables are being created or locked: not registered yet


def wait_registered(
    airflow: Airflow, engine: sa.Engine, dag_ids: list[str], *, unpaused: bool = False
) -> None:
    def done() -> bool:
        airflow.check_alive()
        return count_registered(engine, dag_ids, unpaused=unpaused) == len(dag_ids)

    try:
        common.wait_until(done, REGISTER_TIMEOUT, f"{len(dag_ids)} DAGs to register", 0.1)
    except SystemExit as error:
        raise SystemExit(f"{error}\n{airflow.tail()}") from None


def parse_stamps(engine: sa.Engine) -> dict[str, Any]:
    """Each DAG's ``last_parsed_time``: it moves every time its file is parsed again."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT dag_id, last_parsed_time FROM dag")).all()
    return {row[0]: row[1] for row in rows}


# ---- run workloads -------------------------------------------------------------------------


def trigger(airflow: Airflow, dag_id: str, run_id: str) -> None:
    """``airflow dags trigger`` (the CLI still triggers straight through the metastore)."""
    airflow.cli("dags", "trigger", dag_id, "--run-id", run_id)


def run_figures(
    workload: str, times: common.RunTimes, airflow: Airflow, sizes: common.Sizes
) -> dict[str, float]:
    if workload == "chain":
        return common.chain_figures(times)
    if workload in ("fanout", "fanout_wide", "lattice"):
        return common.fanout_figures(times)
    if workload in ("mapped", "wide"):
        return common.wide_figures(times, "items")
    if workload == "light":
        return {"total_s": common.total_seconds(times)}
    compute = common.pure_compute_seconds(airflow.python, sizes.heavy_fib, sizes.heavy)
    return common.heavy_figures(times, compute)


def measure_runs(
    workload: str, *, db: str, repeat: int, sizes: common.Sizes, workdir: Path
) -> list[dict[str, float]]:
    """Scheduler + DAG processor + API server (tasks talk to its execution API) once; then
    ``repeat`` triggered runs, one after another."""
    with installation(db, workdir) as (airflow, engine):
        dag_id = shapes.write_run_dag("airflow", workload, airflow.dags, sizes)
        airflow.start("api-server", "api-server")
        airflow.start("dag-processor", "dag-processor")
        scheduler = airflow.start("scheduler", "scheduler")
        wait_registered(airflow, engine, [dag_id], unpaused=True)
        # Tasks report through the API server's execution API: a run triggered before it
        # answers would wait on the client's retries and skew the first repetition.
        wait_healthy(airflow)
        results = []
        for n in range(repeat):
            run_id = f"bench_{n:02d}_{uuid.uuid4().hex[:6]}"
            with common.CpuTrace(scheduler.pid) as cpu:
                trigger(airflow, dag_id, run_id)
                try:
                    timeout = LONG_RUN_TIMEOUT if workload in LONG_RUNS else RUN_TIMEOUT
                    times = common.wait_for_run(engine, dag_id, run_id, timeout)
                except SystemExit as error:
                    raise SystemExit(f"{error}\n{airflow.tail()}") from None
            if not times.tasks:
                raise SystemExit(f"run {run_id} of {dag_id} recorded no task\n{airflow.tail()}")
            found = run_figures(workload, times, airflow, sizes)
            if workload in common.SCHEDULER_CPU_WORKLOADS:
                found |= common.per_try_ms(cpu.since(times.queued_at), len(times.tasks))
            results.append(found)
        return results


def measure_many_dags_once(
    *, db: str, sizes: common.Sizes, smoke: bool, workdir: Path
) -> dict[str, float]:
    """``sizes.many_dags`` chains, each run once (``@once``) at the same start_date, set
    ``MANY_DAGS_LEAD`` ahead of the files' writing: once all are registered, every first run
    comes due at that moment. As on the tradewind side (``tradewind_side.many_dags_once``)."""
    with installation(db, workdir) as (airflow, engine):
        lead = MANY_DAGS_LEAD[smoke]
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
        dag_ids = shapes.write_many_dags("airflow", airflow.dags, sizes, due)
        airflow.start("api-server", "api-server")
        airflow.start("dag-processor", "dag-processor")
        scheduler = airflow.start("scheduler", "scheduler")
        wait_registered(airflow, engine, dag_ids, unpaused=True)
        wait_healthy(airflow)
        left = (due - datetime.now(UTC)).total_seconds()
        if left < MANY_DAGS_MARGIN:
            raise SystemExit(f"registering took past the due moment: raise MANY_DAGS_LEAD ({lead})")
        time.sleep(left - MANY_DAGS_MARGIN)
        expected = len(dag_ids) * sizes.many_dags_chain
        with common.CpuTrace(scheduler.pid) as cpu:
            try:
                times = common.wait_for_many(engine, dag_ids, expected, LONG_RUN_TIMEOUT)
            except SystemExit as error:
                raise SystemExit(f"{error}\n{airflow.tail()}") from None
        return times.figures() | common.per_try_ms(cpu.since(due), times.tries)


# ---- parse ---------------------------------------------------------------------------------


class ParseCounter:
    """How often each DAG was parsed since the counter started, from ``dag.last_parsed_time``
    (Airflow moves it at every parse, changed file or not). Polled every half second while
    each file is parsed at most every ``min_file_process_interval`` (30 s by default), so no
    parse is missed."""

    def __init__(self, engine: sa.Engine, dag_ids: list[str]) -> None:
        self.engine = engine
        self.stamps = parse_stamps(engine)
        self.counts = dict.fromkeys(dag_ids, 0)

    def poll(self) -> None:
        now = parse_stamps(self.engine)
        for dag_id in self.counts:
            if now.get(dag_id) != self.stamps.get(dag_id):
                self.counts[dag_id] += 1
        self.stamps = now

    def fewest(self) -> int:
        """Whole cycles done: every DAG was parsed at least this many times."""
        return min(self.counts.values())

    def cycles(self) -> float:
        """Parses seen per file (whole and partial cycles)."""
        return sum(self.counts.values()) / len(self.counts)


def wait_cycles(airflow: Airflow, counter: ParseCounter, cycles: int, sampler: Any) -> None:
    """Poll until every DAG was parsed ``cycles`` times; sample the tree meanwhile."""

    def done() -> bool:
        airflow.check_alive()
        counter.poll()
        if sampler is not None:
            sampler.sample()
        return counter.fewest() >= cycles

    try:
        common.wait_until(done, REGISTER_TIMEOUT, f"{cycles} re-parse cycles", interval=0.5)
    except SystemExit as error:
        raise SystemExit(f"{error}\n{airflow.tail()}") from None


def rescan_seconds(airflow: Airflow, engine: sa.Engine, dag_ids: list[str], cycles: int) -> float:
    """CPU seconds of the DAG processor's tree per re-parse cycle of the unchanged folder.

    Airflow parses every file again each ``min_file_process_interval`` whether it changed or
    not: that is its refresh. The window opens when a first whole cycle after the cold parse
    has ended (steady state) and closes when ``cycles`` more have ended, so it spans whole
    cycles, the waits between them included; the CPU is divided by the parses seen per file.
    """
    wait_cycles(airflow, ParseCounter(engine, dag_ids), 1, None)
    sampler = common.TreeSampler(airflow.pids())
    counter = ParseCounter(engine, dag_ids)
    wait_cycles(airflow, counter, cycles, sampler)
    cpu = sampler.watch(0.0)["cpu_s"]
    return cpu / counter.cycles()


def measure_parse_once(
    *, db: str, sizes: common.Sizes, smoke: bool, workdir: Path
) -> dict[str, float]:
    """A fresh home and metastore: cold start of ``airflow dag-processor`` until every DAG is
    registered, then its CPU per re-parse cycle of the unchanged folder."""
    with installation(db, workdir) as (airflow, engine):
        dag_ids = shapes.write_parse_set("airflow", airflow.dags, sizes)
        started = time.monotonic()
        airflow.start("dag-processor", "dag-processor")
        wait_registered(airflow, engine, dag_ids)
        cold = time.monotonic() - started
        cycles = RESCAN_CYCLES_SMOKE if smoke else RESCAN_CYCLES_FULL
        rescan = rescan_seconds(airflow, engine, dag_ids, cycles)
        return {"cold_s": cold, "rescan_s": rescan}


def measure_parse(
    *, db: str, repeat: int, sizes: common.Sizes, smoke: bool, workdir: Path
) -> list[dict[str, float]]:
    return [
        measure_parse_once(db=db, sizes=sizes, smoke=smoke, workdir=workdir / f"parse-{n}")
        for n in range(repeat)
    ]


# ---- idle and startup: airflow standalone --------------------------------------------------


def healthy(port: int) -> bool:
    """Metadatabase and scheduler both report healthy."""
    return common.reports_healthy(
        common.health_document(f"http://127.0.0.1:{port}/api/v2/monitor/health")
    )


def wait_healthy(airflow: Airflow) -> None:
    def done() -> bool:
        airflow.check_alive()
        return healthy(airflow.port)

    try:
        common.wait_until(done, HEALTH_TIMEOUT, "airflow standalone to answer healthy", 0.1)
    except SystemExit as error:
        raise SystemExit(f"{error}\n{airflow.tail()}") from None


def measure_idle(
    *, db: str, repeat: int, sizes: common.Sizes, workdir: Path
) -> list[dict[str, float]]:
    """``airflow standalone`` with the parse set registered and nothing running; one idle
    window per repetition, back to back."""
    with installation(db, workdir) as (airflow, engine):
        dag_ids = shapes.write_parse_set("airflow", airflow.dags, sizes)
        airflow.start("standalone", "standalone")
        wait_registered(airflow, engine, dag_ids)
        wait_healthy(airflow)
        time.sleep(IDLE_SETTLE_SECONDS)
        results = []
        for _ in range(repeat):
            results.append(common.TreeSampler(airflow.pids()).watch(sizes.idle_seconds))
            airflow.check_alive()
        return results


def measure_startup_once(*, db: str, workdir: Path) -> dict[str, float]:
    """A fresh home, an empty metastore already migrated (outside the clock): launch of
    ``airflow standalone`` until its health endpoint says metadatabase and scheduler are
    healthy."""
    with metastore(db, workdir) as (url, _):
        migrate(workdir, "migrate-home", url)
        with airflow_home(workdir, "airflow-home", url) as airflow:
            started = time.monotonic()
            airflow.start("standalone", "standalone")
            wait_healthy(airflow)
            return {"healthy_s": time.monotonic() - started}


def measure_startup(*, db: str, repeat: int, workdir: Path) -> list[dict[str, float]]:
    return [measure_startup_once(db=db, workdir=workdir / f"startup-{n}") for n in range(repeat)]


# ---- the side contract ---------------------------------------------------------------------


def measure(
    workload: str, *, db: str, repeat: int, smoke: bool, workdir: Path
) -> list[dict[str, float]]:
    """Run ``workload`` ``repeat`` times on Airflow; one dict of figures per repetition."""
    if workload not in common.WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}")
    if db not in ("sqlite", "postgres"):
        raise ValueError(f"unknown database kind {db!r}")
    sizes = common.sizes(smoke)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if workload == "many_dags":  # each repetition needs DAGs never run: a home of its own
        return [
            measure_many_dags_once(db=db, sizes=sizes, smoke=smoke, workdir=workdir / f"many-{n}")
            for n in range(repeat)
        ]
    if workload in common.RUN_WORKLOADS:
        return measure_runs(workload, db=db, repeat=repeat, sizes=sizes, workdir=workdir)
    if workload == "parse":
        return measure_parse(db=db, repeat=repeat, sizes=sizes, smoke=smoke, workdir=workdir)
    if workload == "idle":
        return measure_idle(db=db, repeat=repeat, sizes=sizes, workdir=workdir)
    return measure_startup(db=db, repeat=repeat, workdir=workdir)

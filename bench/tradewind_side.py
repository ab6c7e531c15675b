"""The tradewind side of the benchmark suite: each workload run with real ``tradewind`` processes.

Every measurement gets its own ``TRADEWIND_HOME`` under the work dir, a fresh database
(:func:`common.fresh_database`) initialised with ``tradewind db init`` before any clock starts,
and an environment that holds no ``TRADEWIND_*`` variable but the five below (and those of
``--executor``, and the harness's own ``TRADEWIND__METRICS__*``, ``TRADEWIND__TRACES__*``
and ``TRADEWIND__OPENLINEAGE__*``: to measure what metrics, traces and lineage cost).
Commands come from the harness's own venv, so the tradewind measured is the checkout the
harness runs from. Every process started here is stopped before the measurement
returns, on errors too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import common
import shapes
import sqlalchemy as sa

SYSTEM = "tradewind"
# Settings passed on from the harness's environment (what telemetry costs is measured so).
MEASURED_SECTIONS = ("TRADEWIND__METRICS__", "TRADEWIND__TRACES__", "TRADEWIND__OPENLINEAGE__")
COMMAND = Path(sys.executable).with_name("tradewind")
REPO = Path(__file__).resolve().parent.parent

REFRESH_INTERVAL_S = 5.0  # dag_processor.refresh_interval's default, which the bench keeps
RESCAN_CYCLES = 4  # refresh cycles in the re-scan window (1 with --smoke)
IDLE_SETTLE_S = 10.0  # after the parse set is registered, before the idle window opens
HEALTH_POLL_S = 0.02
RUN_TIMEOUT_S = 600.0
# many_dags: how far ahead of the files' writing their runs come due (full, smoke); the
# DAGs must be registered at least MANY_DAGS_MARGIN_S before the moment.
MANY_DAGS_LEAD_S = {False: 20.0, True: 8.0}
MANY_DAGS_MARGIN_S = 0.5
START_TIMEOUT_S = 300.0


def version() -> str:
    """The package version and the commit of the checkout (its speed changes between commits)."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = "+changes" if _git("status", "--porcelain", "--", "src") else ""
    return f"{metadata.version('tradewind')} ({commit}{dirty})"


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


# --executor: the local executor (the default); the celery executor with WORKERS local
# workers of WORKER_CONCURRENCY each, on Redis (broker and result backend) or on RabbitMQ (the
# metastore as result backend: a deployment without Redis); or the kubernetes executor against
# the test suite's Kubernetes API stand-in (tests/k8s_standin, one per home), which runs each
# pod as a local process: a cold `tradewind tasks run` per try, not a container.
EXECUTORS = ("local", "celery-redis", "celery-rabbitmq", "kubernetes-standin")
KUBERNETES = "kubernetes-standin"
WORKERS = 2
WORKER_CONCURRENCY = 16
CELERY_ENV = {
    "celery-redis": {
        "TRADEWIND__CELERY__BROKER_URL": "redis://127.0.0.1:6379/15",
        "TRADEWIND__CELERY__RESULT_BACKEND": "redis://127.0.0.1:6379/15",
    },
    "celery-rabbitmq": {
        "TRADEWIND__CELERY__BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        "TRADEWIND__CELERY__RESULT_BACKEND": "",
    },
}
EXECUTOR = "local"  # set by run.py from --executor


def settings() -> dict[str, str]:
    """Every setting the bench changes from tradewind's defaults."""
    changed = {
        "core.dags_folder": "<fresh home>/dags",
        "database.url": "a fresh database per measurement",
        "core.load_examples": "false",
        "webserver.port": "a free port instead of 8080",
    }
    if EXECUTOR in CELERY_ENV:
        changed["core.executor"] = "celery"
        changed["celery.default_queue"] = "a queue of its own per measurement"
        for name, value in CELERY_ENV[EXECUTOR].items():
            key = name.removeprefix("TRADEWIND__").lower().replace("__", ".")
            changed[key] = value or "(empty: the metastore's database)"
        changed["workers"] = f"{WORKERS} x `tradewind celery worker -c {WORKER_CONCURRENCY}`"
    if EXECUTOR == KUBERNETES:
        changed["core.executor"] = "kubernetes"
        changed["kubernetes.config_file"] = "<fresh home>/k8s-standin/kubeconfig (no auth)"
        changed["kubernetes.namespace"] = "the stand-in's namespace"
        changed["cluster"] = (
            "the Kubernetes API stand-in of tests/k8s_standin, one per home: each pod is a "
            "local process (`tradewind tasks run ... --log-to-stdout`), no container"
        )
    return changed


def measure(
    workload: str, *, db: str, repeat: int, smoke: bool, workdir: Path
) -> list[dict[str, float]]:
    """``repeat`` figures of ``workload``. Cold starts (parse, startup) get a fresh home each
    time; the run workloads and idle measure ``repeat`` times in one home and one stack."""
    sizes = common.sizes(smoke)
    if workload in ("parse", "startup"):
        once = parse_once if workload == "parse" else startup_once
        figures = []
        for _ in range(repeat):
            with fresh_home(workdir, db) as home:
                figures.append(once(home, sizes, smoke))
        return figures
    if workload in ("many_dags", "soak"):  # each repetition starts from nothing: its own home
        once = many_dags_once if workload == "many_dags" else soak_once
        figures = []
        for _ in range(repeat):
            with fresh_home(workdir, db) as home:
                figures.append(once(home, sizes, smoke))
        return figures
    with fresh_home(workdir, db) as home:
        if workload == "idle":
            return idle_windows(home, sizes=sizes, repeat=repeat, smoke=smoke)
        return run_workload(home, workload, sizes=sizes, repeat=repeat)


# ---- the home, its database and its processes ----------------------------------------------


@dataclass(frozen=True)
class Home:
    path: Path
    dags: Path
    env: dict[str, str]
    engine: sa.Engine
    port: int  # the web server's (standalone)

    def cli(self, *args: str) -> str:
        """Run ``tradewind ARGS`` to its end; its stdout. A failure stops the bench."""
        done = subprocess.run(
            [str(COMMAND), *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"`tradewind {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
        return done.stdout.strip()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params).all())


@contextlib.contextmanager
def fresh_home(workdir: Path, db: str) -> Iterator[Home]:
    """A new TRADEWIND_HOME with an empty DAGs folder and an initialised, empty metastore."""
    path = Path(tempfile.mkdtemp(prefix="home-", dir=workdir))
    dags = path / "dags"
    dags.mkdir()
    with common.fresh_database(db, path) as url, kubernetes_standin(path) as kube:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TRADEWIND") or k.startswith(MEASURED_SECTIONS)
        }
        port = common.free_port()
        if EXECUTOR in CELERY_ENV:
            env |= CELERY_ENV[EXECUTOR] | {
                "TRADEWIND__CORE__EXECUTOR": "celery",
                "TRADEWIND__CELERY__DEFAULT_QUEUE": f"bench-{path.name}",
            }
        env |= kube
        env |= {
            "TRADEWIND__WEBSERVER__PORT": str(port),
            "TRADEWIND_HOME": str(path),
            "TRADEWIND__DATABASE__URL": url,
            "TRADEWIND__CORE__DAGS_FOLDER": str(dags),
            "TRADEWIND__CORE__LOAD_EXAMPLES": "false",
        }
        home = Home(path, dags, env, sa.create_engine(url), port)
        try:
            home.cli("db", "init")
            yield home
        finally:
            home.engine.dispose()


@contextlib.contextmanager
def kubernetes_standin(home: Path) -> Iterator[dict[str, str]]:
    """For --executor kubernetes-standin: a Kubernetes API stand-in started in the home, and the
    settings that point tradewind at it; nothing for the other executors.

    Its pods are processes of this one, with its environment plus the pod's: while it runs, that
    environment holds no ``TRADEWIND*`` variable (the pod's settings are all in its spec) and has
    the venv's bin dir first in PATH (pods run ``tradewind tasks run ...``)."""
    if EXECUTOR != KUBERNETES:
        yield {}
        return
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from k8s_standin import Standin
    finally:
        sys.path.remove(str(REPO / "tests"))
    saved = dict(os.environ)
    workdir = home / "k8s-standin"
    workdir.mkdir()
    try:
        for name in [k for k in os.environ if k.startswith("TRADEWIND")]:
            del os.environ[name]
        os.environ["PATH"] = os.pathsep.join([str(COMMAND.parent), saved.get("PATH", "")])
        standin = Standin(workdir=workdir).start()
        try:
            yield {
                "TRADEWIND__CORE__EXECUTOR": "kubernetes",
                "TRADEWIND__KUBERNETES__CONFIG_FILE": str(standin.kubeconfig),
                "TRADEWIND__KUBERNETES__NAMESPACE": standin.namespace,
            }
        finally:
            standin.stop()  # its pods' processes too
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass(frozen=True)
class Running:
    proc: subprocess.Popen[bytes]
    log: Path

    def wait_for(self, check: Callable[[], bool], what: str, *, interval: float = 0.05) -> None:
        """Poll ``check`` until it holds; stop at once (with the log) if the process died."""

        def done() -> bool:
            if self.proc.poll() is not None:
                raise SystemExit(f"it exited with code {self.proc.returncode}")
            return check()

        common.wait_until(done, START_TIMEOUT_S, what, interval=interval)


@contextlib.contextmanager
def celery_workers(home: Home) -> Iterator[None]:
    """The celery workers of --executor celery-*; nothing for the other executors."""
    if EXECUTOR not in CELERY_ENV:
        yield
        return
    with contextlib.ExitStack() as stack:
        for n in range(1, WORKERS + 1):
            args = ("celery", "worker", "-c", str(WORKER_CONCURRENCY), "-n", f"w{n}@%h")
            stack.enter_context(running(home, *args, log_name=f"worker{n}"))
        yield


@contextlib.contextmanager
def running(home: Home, *args: str, log_name: str | None = None) -> Iterator[Running]:
    """``tradewind ARGS`` as a long-running process (output to a log in the home); a failure
    while it runs is reported with the end of its log."""
    log = home.path / f"{log_name or args[0]}.log"
    with log.open("wb") as output:
        proc = _start(home, args, output)
        try:
            yield Running(proc, log)
        except SystemExit as failure:
            tail = log.read_text(errors="replace")[-3000:]
            command = f"tradewind {' '.join(args)}"
            raise SystemExit(f"`{command}`: {failure}\n--- end of its log:\n{tail}") from None
        finally:
            common.stop_process(proc)


def _start(home: Home, args: tuple[str, ...], output: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(COMMAND), *args],
        env=home.env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def registered(home: Home, *, unpaused: bool = False) -> int:
    """How many DAGs are active and serialized (and unpaused if asked)."""
    sql = (
        "SELECT count(*) FROM dag WHERE is_active = :yes"
        " AND dag_id IN (SELECT dag_id FROM serialized_dag)"
    )
    if unpaused:
        sql += " AND is_paused = :no"
    return int(home.rows(sql, yes=True, no=False)[0][0])


def healthy(home: Home) -> bool:
    """The health check of ``startup``: the web server's health endpoint says the metastore
    and the scheduler are healthy."""
    return common.reports_healthy(
        common.health_document(f"http://127.0.0.1:{home.port}/api/v1/health")
    )


# ---- workloads -----------------------------------------------------------------------------


def run_workload(
    home: Home, workload: str, *, sizes: common.Sizes, repeat: int
) -> list[dict[str, float]]:
    """One scheduler; ``repeat`` runs triggered one after another through the CLI."""
    dag_id = shapes.write_run_dag(SYSTEM, workload, home.dags, sizes)
    figures = []
    with celery_workers(home), running(home, "scheduler") as scheduler:
        scheduler.wait_for(lambda: registered(home, unpaused=True) == 1, f"{dag_id} registered")
        for _ in range(repeat):
            compute = 0.0
            if workload == "heavy":  # measured beside each run: the machine's speed drifts
                compute = common.pure_compute_seconds(sys.executable, sizes.heavy_fib, sizes.heavy)
            with common.CpuTrace(scheduler.proc.pid) as cpu:
                run_id = home.cli("dags", "trigger", dag_id)
                if not run_id or len(run_id.split()) != 1:
                    raise SystemExit(f"`tradewind dags trigger {dag_id}` printed {run_id!r}")
                times = common.wait_for_run(home.engine, dag_id, run_id, RUN_TIMEOUT_S)
            found = _run_figures(workload, times, compute)
            if workload in common.SCHEDULER_CPU_WORKLOADS:
                found |= common.per_try_ms(cpu.since(times.queued_at), len(times.tasks))
            figures.append(found)
    return figures


def _run_figures(workload: str, times: common.RunTimes, compute: float) -> dict[str, float]:
    if workload == "chain":
        return common.chain_figures(times)
    if workload in ("fanout", "fanout_wide", "lattice"):
        return common.fanout_figures(times)
    if workload in ("mapped", "wide"):
        return common.wide_figures(times, "items")
    if workload == "heavy":
        return common.heavy_figures(times, compute)
    return {"total_s": common.total_seconds(times)}


def many_dags_once(home: Home, sizes: common.Sizes, smoke: bool) -> dict[str, float]:
    """``sizes.many_dags`` chains, each run once at the same start_date: the files are written
    with a start ``MANY_DAGS_LEAD_S`` ahead, the scheduler registers them all before it, and
    every first run comes due at that one moment. Tasks per second from the first try queued
    to the last ended; the scheduler's own CPU from the moment to the last end."""
    lead = MANY_DAGS_LEAD_S[smoke]
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
    dag_ids = shapes.write_many_dags(SYSTEM, home.dags, sizes, due)
    with running(home, "scheduler") as scheduler:
        scheduler.wait_for(
            lambda: registered(home, unpaused=True) == len(dag_ids), f"{len(dag_ids)} DAGs"
        )
        left = (due - datetime.now(UTC)).total_seconds()
        if left < MANY_DAGS_MARGIN_S:
            raise SystemExit(
                f"registering took past the due moment: raise MANY_DAGS_LEAD_S ({lead})"
            )
        time.sleep(left - MANY_DAGS_MARGIN_S)
        expected = len(dag_ids) * sizes.many_dags_chain
        with common.CpuTrace(scheduler.proc.pid) as cpu:
            times = common.wait_for_many(home.engine, dag_ids, expected, RUN_TIMEOUT_S)
    return times.figures() | common.per_try_ms(cpu.since(due), times.tries)


def soak_once(home: Home, sizes: common.Sizes, smoke: bool) -> dict[str, float]:
    """One scheduler runs a fan-out of ``sizes.soak_width`` tasks ``sizes.soak_runs`` times,
    one run after another. The memory of all its processes (the scheduler, its DAG
    processor, fork server, warm processes, telemetry process) is read once the first run
    has ended and again once the last has: what many tries leave behind shows as growth."""
    dag_id = shapes.write_run_dag(SYSTEM, "soak", home.dags, sizes)
    tries = 0
    with running(home, "scheduler") as scheduler:
        scheduler.wait_for(lambda: registered(home, unpaused=True) == 1, f"{dag_id} registered")
        sampler = common.TreeSampler([scheduler.proc.pid])
        started = time.monotonic()
        for n in range(sizes.soak_runs):
            run_id = home.cli("dags", "trigger", dag_id)
            tries += len(common.wait_for_run(home.engine, dag_id, run_id, RUN_TIMEOUT_S).tasks)
            if n == 0:
                first = sampler.settled_memory()
        elapsed = time.monotonic() - started
        last = sampler.settled_memory()
    return {
        "rss_first_mb": first[0],
        "rss_last_mb": last[0],
        "pss_first_mb": first[1],
        "pss_last_mb": last[1],
        "growth_pct": 100 * (last[1] / first[1] - 1),
        "tasks_per_s": tries / elapsed,
    }


def parse_once(home: Home, sizes: common.Sizes, smoke: bool) -> dict[str, float]:
    """Cold: wall clock from launching the DAG processor until the metastore holds every DAG.
    Re-scan: CPU of its process tree over whole refresh cycles of the unchanged folder."""
    expected = len(shapes.write_parse_set(SYSTEM, home.dags, sizes))
    started = time.perf_counter()
    with running(home, "dag-processor") as processor:
        processor.wait_for(lambda: registered(home) == expected, f"{expected} DAGs registered")
        cold = time.perf_counter() - started
        cycles = 1 if smoke else RESCAN_CYCLES
        if not smoke:  # the first cycle after the cold scan: what is left of it is not re-scan
            time.sleep(REFRESH_INTERVAL_S)
        window = common.TreeSampler([processor.proc.pid]).watch(cycles * REFRESH_INTERVAL_S)
    return {"cold_s": cold, "rescan_s": window["cpu_s"] / cycles}


def idle_windows(
    home: Home, *, sizes: common.Sizes, repeat: int, smoke: bool
) -> list[dict[str, float]]:
    """``tradewind standalone`` with the parse set registered, left alone: CPU and peak RSS
    over ``repeat`` windows back to back."""
    expected = len(shapes.write_parse_set(SYSTEM, home.dags, sizes))
    with running(home, "standalone") as standalone:
        standalone.wait_for(lambda: registered(home) == expected, f"{expected} DAGs registered")
        time.sleep(1.0 if smoke else IDLE_SETTLE_S)
        return [
            common.TreeSampler([standalone.proc.pid]).watch(sizes.idle_seconds)
            for _ in range(repeat)
        ]


def startup_once(home: Home, sizes: common.Sizes, smoke: bool) -> dict[str, float]:
    """Wall clock from launching ``tradewind standalone`` (no DAG files) until it is healthy."""
    started = time.perf_counter()
    with running(home, "standalone") as standalone:
        standalone.wait_for(lambda: healthy(home), "a healthy standalone", interval=HEALTH_POLL_S)
        return {"healthy_s": time.perf_counter() - started}

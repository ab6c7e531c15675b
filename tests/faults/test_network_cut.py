"""The network between tradewind and its metastore cut in the middle of a run: packets are
dropped without a word (no reset, no refusal), on a throwaway PostgreSQL or MariaDB server in a
network namespace of its own (``linked_db``; needs root).

Left to the kernel, a statement sent during a cut would wait for TCP to give up (about 15
minutes) and the processes would hang without a word. With ``database.tcp_timeout`` a silent
connection breaks in bounded time and becomes an outage that each process rides out: a real
``tradewind scheduler`` says once that it lost the metastore and once that it is back, and runs
every try once; a real ``tradewind dag-processor`` says the same and registers the files added
during the cut once it is over; a real ``tradewind webserver`` answers 503 during the cut (not
a hang) and works again after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dagprocs import Site, make_site_fixture, wait_until  # noqa: F401
from netcut import Link
from outages import OutageRun, lines_with, outage_settings
from scheduling import poll, running_system, scheduler_process, tradewind_process
from throwaway import Throwaway
from webprocess import add_admin, web_sections, webserver_process

from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage
from tradewind.settings import DatabaseSettings, Settings

# Short bounds, so that a cut of CUT_FOR seconds outlasts them by far.
TCP_TIMEOUT = 4
CONNECT_TIMEOUT = 2
BOUNDS = {"tcp_timeout": TCP_TIMEOUT, "connect_timeout": CONNECT_TIMEOUT}
CUT_FOR = 12.0
# How long anything may take to fail during a cut: a silent connection breaks after
# TCP_TIMEOUT, connecting anew gives up after CONNECT_TIMEOUT; twice that, to be generous.
FAILS_WITHIN = 2.0 * (TCP_TIMEOUT + CONNECT_TIMEOUT)

LOST = "the scheduler lost the metastore"
BACK = "the scheduler reached the metastore again"


def link_of(db: Throwaway) -> Link:
    assert db.link is not None
    return db.link


def _settle(call: Callable[[], Any], within: float) -> BaseException | None:
    """Run ``call`` in a thread; the error it ended with (None: it went through). Fails the
    test if it is still waiting after ``within`` seconds (it hangs)."""
    ended: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except Exception as error:
            ended.append(error)
        else:
            ended.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert ended, f"still waiting after {within:.0f} s: a silent server hangs it"
    return ended[0]


def test_a_connection_to_a_cut_off_server_fails_as_an_outage_instead_of_hanging(
    linked_db: Throwaway,
) -> None:
    engine = engine_module.create_engine(DatabaseSettings(url=linked_db.url, **BOUNDS))
    try:
        held = engine.connect()  # a connection in use when the cut comes
        held.execute(sa.text("SELECT 1"))
        link_of(linked_db).cut()
        in_use = _settle(lambda: held.execute(sa.text("SELECT 1")), FAILS_WITHIN)
        assert in_use is not None
        assert outage.is_outage(in_use), in_use
        # A new connection: the server's address drops the SYN.
        new = _settle(lambda: engine.connect().close(), FAILS_WITHIN)
        assert new is not None
        assert outage.is_outage(new), new
        link_of(linked_db).mend()
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_the_scheduler_rides_out_a_network_cut(
    linked_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, linked_db.url, database=BOUNDS)
    log = tmp_path / "scheduler.log"
    link = link_of(linked_db)
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        run = OutageRun(system, tmp_path)
        run.add_dag()
        with scheduler_process(settings, log) as scheduler:
            run.trigger()
            run.through(link.cut, link.mend, log, LOST, lasting=CUT_FOR)
            assert poll(run.finished, 120), log.read_text()
            assert scheduler.poll() is None, log.read_text()
        run.assert_each_try_once()
    assert len(lines_with(log, LOST)) == 1, log.read_text()
    assert len(lines_with(log, BACK)) == 1, log.read_text()
    assert "Traceback" not in log.read_text()


def test_the_dag_processor_rides_out_a_network_cut(
    make_site: Callable[..., Site], linked_db: Throwaway, tmp_path: Path
) -> None:
    site = make_site(linked_db.url, database=BOUNDS)
    site.write_dag("before", 'simple_dag("before")\n')
    log = tmp_path / "processor.log"
    lost, back = "the DAG processor lost the metastore", "the DAG processor reached the metastore"
    link = link_of(linked_db)
    with tradewind_process(site.settings, "dag-processor", log=log) as processor:
        wait_until(lambda: "before" in site.registered(), "the first DAG")
        wait_until(site.processor_pid, "the DAG processor's heartbeat")
        site.sessions.kw["bind"].dispose()  # the test's own connections: none in the cut
        began = time.monotonic()
        link.cut()
        try:
            wait_until(lambda: lost in log.read_text(), "the processor to say it lost it")
            site.write_dag("during", 'simple_dag("during")\n')  # parsed now, written after
            time.sleep(max(0.0, CUT_FOR - (time.monotonic() - began)))  # the cut itself
        finally:
            link.mend()
        wait_until(lambda: back in log.read_text(), "the processor to say it is back")
        wait_until(lambda: "during" in site.registered(), "the DAG added during the cut")
        assert processor.poll() is None
        assert [job.pid for job in site.processor_jobs()] == [processor.pid]
    text = log.read_text()
    assert text.count(lost) == 1, text
    assert text.count(back) == 1, text
    assert "Traceback" not in text, text


def test_the_web_server_answers_503_during_a_network_cut(
    linked_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    sections = web_sections()
    settings = outage_settings(make_settings, tmp_path, linked_db.url, database=BOUNDS, **sections)
    log = tmp_path / "webserver.log"
    link = link_of(linked_db)
    with running_system(settings, settings.core.dags_folder, start=False) as system:
        add_admin(system)
        OutageRun(system, tmp_path).add_dag(gated=False)
        with webserver_process(settings, log) as web:
            assert web.get("/api/v1/dags").status_code == 200
            link.cut()
            try:
                for path in ("/api/v1/dags", "/api/v1/variables"):
                    answer = web.get(path, timeout=FAILS_WITHIN)
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["detail"].startswith("the metastore"), answer.text
                health = web.get("/health", timeout=FAILS_WITHIN)
                assert health.status_code == 200
                metastore = health.json()["metadatabase"]
                assert metastore == {
                    "status": "unhealthy",
                    "detail": "the metastore cannot be reached",
                }
            finally:
                link.mend()
            assert poll(web.answers("/api/v1/dags", 200), 60), log.read_text()
            assert web.get("/health").json()["metadatabase"]["status"] == "healthy"
            assert web.process.poll() is None
    text = log.read_text(errors="replace")
    assert len(lines_with(log, "the web server lost the metastore")) == 1, text
    assert len(lines_with(log, "the web server reached the metastore again")) == 1, text
    assert "Traceback" not in text

"""Asset-centric authoring and event-driven scheduling through the real DAG processor,
scheduler, local executor and runner (and a real triggerer process for watchers), on SQLite and
PostgreSQL: a chain of ``@asset`` functions runs link after link; a watcher that sees a file
arrive updates its asset, which runs the DAG scheduled on it, again for each new file; the
processor keeps the watchers in step with the DAGs, and a paused DAG's watcher stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduling import System, asset_runs, count_rows, make_system_fixture, poll, system_fixture  # noqa: F401
from sqlalchemy import select
from triggering import triggerer_process

from tradewind.metastore.models import AssetEvent, AssetModel, AssetTrigger, Trigger

pytestmark = pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)

CHAIN = """
from tradewind import asset


@asset(schedule=None, uri="s3://lake/raw.csv", is_paused_upon_creation=False)
def raw():
    return "raw"


@asset(schedule=raw, is_paused_upon_creation=False)
def cleaned(self, context, raw):
    events = context["inlet_events"][raw]
    return {
        "self": self.uri,
        "raw": raw.uri,
        "events": [[e.asset.uri, e.source_dag_id, e.source_task_id] for e in events],
    }


@asset(schedule=cleaned, is_paused_upon_creation=False)
def summary(context):
    triggering = context["triggering_asset_events"]
    return {uri: [e.source_dag_id for e in events] for uri, events in triggering.items()}
"""


def _watched(inbox: Path, *, watchers: bool = True, name: str = "on_arrival") -> str:
    watcher = (
        f'AssetWatcher("arrivals", FileDeleteTrigger({str(inbox)!r}, poke_interval=0.1))'
        if watchers
        else ""
    )
    return f"""
from tradewind import Asset, AssetWatcher
from tradewind.triggers.file import FileDeleteTrigger

INBOX = Asset("inbox", uri="file:///inbox.csv", watchers=[{watcher}])

with DAG({name!r}, schedule=[INBOX], is_paused_upon_creation=False):
    @task
    def read(*, triggering_asset_events):
        return [[e.asset.uri, e.extra, e.source_dag_id]
                for e in triggering_asset_events["file:///inbox.csv"]]

    read()
"""


_asset_runs = asset_runs


_count = count_rows


def _watchers(system: System) -> list[tuple[str, str, str]]:
    """(asset URI, watcher name, trigger class path) of every watcher link."""
    with system.sessions() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetTrigger.name, Trigger.classpath)
            .join(AssetModel, AssetModel.id == AssetTrigger.asset_id)
            .join(Trigger, Trigger.id == AssetTrigger.trigger_id)
            .order_by(AssetTrigger.name)
        ).all()
        return [tuple(row) for row in rows]


def _logged(log: Path, *words: str) -> bool:
    """Whether a line of ``log`` has all ``words``."""
    lines = log.read_text().splitlines() if log.exists() else []
    return any(all(word in line for word in words) for line in lines)


def test_a_chain_of_asset_functions_runs_link_after_link(system: System) -> None:
    system.add_dag("chain", CHAIN)
    run_id = system.trigger("raw")
    assert system.wait("raw", run_id) == "success"
    assert system.run_until(lambda: len(_asset_runs(system, "cleaned")) == 1)
    cleaned = _asset_runs(system, "cleaned")[0]
    assert system.wait("cleaned", cleaned.run_id) == "success"
    assert system.xcom("cleaned", cleaned.run_id, "cleaned") == {
        "self": "cleaned",
        "raw": "s3://lake/raw.csv",
        "events": [["s3://lake/raw.csv", "raw", "raw"]],
    }
    assert system.run_until(lambda: len(_asset_runs(system, "summary")) == 1)
    summary = _asset_runs(system, "summary")[0]
    assert system.wait("summary", summary.run_id) == "success"
    assert system.xcom("summary", summary.run_id, "summary") == {"cleaned": ["cleaned"]}


@pytest.fixture(name="watching")
def watching_fixture(system: System, tmp_path: Path) -> Iterator[System]:
    """The system with a triggerer process beside its scheduler."""
    with triggerer_process(system.settings, tmp_path / "triggerer.log"):
        yield system


def test_a_watcher_runs_the_dag_scheduled_on_its_asset_for_each_file(
    watching: System, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox.csv"
    watching.add_dag("watched", _watched(inbox))
    assert _watchers(watching) == [
        ("file:///inbox.csv", "arrivals", "tradewind.triggers.file.FileDeleteTrigger")
    ]
    inbox.write_text("a,b\n")
    assert watching.run_until(lambda: len(_asset_runs(watching, "on_arrival")) == 1)
    first = _asset_runs(watching, "on_arrival")[0]
    assert watching.wait("on_arrival", first.run_id) == "success"
    assert watching.xcom("on_arrival", first.run_id, "read") == [
        ["file:///inbox.csv", {"from_trigger": True, "payload": True}, None]
    ]
    assert not inbox.exists()
    # The watcher keeps watching: the next file is the next update, and the next run.
    inbox.write_text("c,d\n")
    assert watching.run_until(lambda: len(_asset_runs(watching, "on_arrival")) == 2)
    second = _asset_runs(watching, "on_arrival")[1]
    assert watching.wait("on_arrival", second.run_id) == "success"
    assert _count(watching, AssetEvent) == 2
    assert len(_watchers(watching)) == 1


def test_a_paused_dag_stops_its_watcher_until_unpaused(watching: System, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox.csv"
    log = tmp_path / "triggerer.log"
    watching.add_dag("watched", _watched(inbox))
    assert poll(lambda: _logged(log, "FileDeleteTrigger", "started"))
    watching.set_paused("on_arrival", True)
    assert poll(lambda: _logged(log, "FileDeleteTrigger", "cancelled"))
    inbox.write_text("a,b\n")
    watching.settle(1.0)
    assert inbox.exists()
    assert _count(watching, AssetEvent) == 0
    watching.set_paused("on_arrival", False)
    assert watching.run_until(lambda: len(_asset_runs(watching, "on_arrival")) == 1)
    assert not inbox.exists()


def test_the_processor_keeps_the_watchers_in_step_with_the_dags(
    system: System, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox.csv"
    system.add_dag("first", _watched(inbox, name="first"))
    # A second DAG that declares the same watcher on the same asset: still one watcher.
    system.add_dag("second", _watched(inbox, name="second"))
    assert len(_watchers(system)) == 1
    # One of them drops it: the other still declares it.
    system.add_dag("first", _watched(inbox, name="first", watchers=False))
    assert len(_watchers(system)) == 1
    # Neither declares it any more: the link and the trigger row go.
    system.add_dag("second", _watched(inbox, name="second", watchers=False))
    assert _watchers(system) == []
    assert _count(system, Trigger) == 0

"""Data-aware scheduling through the real DAG processor, scheduler, local executor and runner,
on SQLite, PostgreSQL and MariaDB: a producer's success records an asset event in the same
transaction, and consumer DAGs run once their condition is met, with the triggering events."""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

import pytest
from scheduling import System, asset_runs, count_rows, make_system_fixture, system_fixture  # noqa: F401

from tradewind.metastore.models import AssetDagRunQueue, AssetEvent
from tradewind.scheduler.operations import clear_tasks

pytestmark = pytest.mark.parametrize(
    "db_dialect",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)

PRODUCERS = """
from tradewind import Asset, AssetAlias, Dataset

UNPAUSED = {"is_paused_upon_creation": False}

ORDERS = Asset("s3://bucket/orders")
USERS = Dataset("s3://bucket/users")
PRICES = Asset("prices", uri="file:///data/prices.csv")

with DAG("make_orders", schedule=None):
    @task(outlets=[ORDERS])
    def orders(*, outlet_events):
        outlet_events[ORDERS].extra["rows"] = 42

    orders()

with DAG("make_users", schedule=None):
    BashOperator(task_id="users", bash_command="true", outlets=[USERS])

with DAG("make_prices", schedule=None):
    EmptyOperator(task_id="prices", outlets=[PRICES])

with DAG("broken_orders", schedule=None):
    @task(outlets=[ORDERS])
    def fails():
        raise ValueError("no orders today")

    fails()
"""


_asset_runs = asset_runs


def _produce(system: System, dag_id: str) -> None:
    run_id = system.trigger(dag_id)
    assert system.wait(dag_id, run_id) == "success"


def _consumers(system: System, body: str) -> None:
    system.add_dag("producers", PRODUCERS)
    system.add_dag("consumers", 'UNPAUSED = {"is_paused_upon_creation": False}\n' + dedent(body))


_count = count_rows


def test_a_producer_success_runs_its_consumer_with_the_triggering_event(system: System) -> None:
    _consumers(
        system,
        """
        from tradewind import Asset

        with DAG("use_orders", schedule=[Asset("s3://bucket/orders")], **UNPAUSED):
            @task
            def read(*, triggering_asset_events, triggering_dataset_events):
                events = triggering_asset_events[Asset("s3://bucket/orders")]
                assert triggering_dataset_events["s3://bucket/orders"] == events
                return [
                    [e.asset.uri, e.extra, e.source_dag_id, e.source_task_id]
                    for e in events
                ]

            read()
        """,
    )
    _produce(system, "make_orders")
    assert system.run_until(lambda: len(_asset_runs(system, "use_orders")) == 1)
    run = _asset_runs(system, "use_orders")[0]
    assert system.wait("use_orders", run.run_id) == "success"
    assert system.xcom("use_orders", run.run_id, "read") == [
        ["s3://bucket/orders", {"rows": 42}, "make_orders", "orders"]
    ]
    assert _count(system, AssetDagRunQueue) == 0
    # A second update makes a second run; nothing else does.
    _produce(system, "make_orders")
    assert system.run_until(lambda: len(_asset_runs(system, "use_orders")) == 2)
    system.settle(0.5)
    assert len(_asset_runs(system, "use_orders")) == 2


def test_a_failed_producer_records_no_event(system: System) -> None:
    _consumers(
        system,
        """
        from tradewind import Asset

        with DAG("use_orders", schedule=[Asset("s3://bucket/orders")], **UNPAUSED):
            EmptyOperator(task_id="read")
        """,
    )
    run_id = system.trigger("broken_orders")
    assert system.wait("broken_orders", run_id) == "failed"
    system.settle(0.5)
    assert _count(system, AssetEvent) == 0
    assert _asset_runs(system, "use_orders") == []


def test_and_or_and_mixed_conditions(system: System) -> None:
    _consumers(
        system,
        """
        from tradewind import Asset, Dataset

        ORDERS, USERS = Asset("s3://bucket/orders"), Dataset("s3://bucket/users")
        PRICES = Asset("prices", uri="file:///data/prices.csv")
        for dag_id, schedule in [
            ("both", [ORDERS, USERS]),
            ("either", ORDERS | USERS),
            ("mixed", (ORDERS | USERS) & PRICES),
        ]:
            with DAG(dag_id, schedule=schedule, is_paused_upon_creation=False):
                EmptyOperator(task_id="go")
        """,
    )
    _produce(system, "make_orders")
    assert system.run_until(lambda: len(_asset_runs(system, "either")) == 1)
    system.settle(0.3)
    assert _asset_runs(system, "both") == []
    assert _asset_runs(system, "mixed") == []
    _produce(system, "make_users")
    assert system.run_until(lambda: len(_asset_runs(system, "both")) == 1)
    assert system.run_until(lambda: len(_asset_runs(system, "either")) == 2)
    system.settle(0.3)
    assert _asset_runs(system, "mixed") == []
    _produce(system, "make_prices")
    assert system.run_until(lambda: len(_asset_runs(system, "mixed")) == 1)
    mixed = _asset_runs(system, "mixed")[0]
    assert system.wait("mixed", mixed.run_id) == "success"
    # "both" consumed its events: a new update of one asset alone does not run it again.
    _produce(system, "make_orders")
    assert system.run_until(lambda: len(_asset_runs(system, "either")) == 3)
    system.settle(0.3)
    assert len(_asset_runs(system, "both")) == 1


def test_aliases_resolve_at_run_time(system: System) -> None:
    system.add_dag(
        "alias_producer",
        """
        from tradewind import Asset, AssetAlias

        with DAG("emit", schedule=None):
            @task(outlets=[AssetAlias("daily-export")])
            def export(*, outlet_events):
                outlet_events[AssetAlias("daily-export")].add(
                    Asset("s3://exports/2026-12-06"), extra={"day": 6}
                )

            export()
        """,
    )
    system.add_dag(
        "alias_consumers",
        """
        UNPAUSED = {"is_paused_upon_creation": False}
        from tradewind import Asset, AssetAlias

        with DAG("on_alias", schedule=[AssetAlias("daily-export")], is_paused_upon_creation=False):
            @task
            def seen(*, triggering_asset_events):
                found = triggering_asset_events.items()
                return {uri: [e.extra for e in events] for uri, events in found}

            seen()

        with DAG("on_export", schedule=[Asset("s3://exports/2026-12-06")], **UNPAUSED):
            EmptyOperator(task_id="go")
        """,
    )
    # An event through an alias runs the alias's consumers and the asset's own.
    _produce(system, "emit")
    assert system.run_until(lambda: len(_asset_runs(system, "on_export")) == 1)
    assert system.run_until(lambda: len(_asset_runs(system, "on_alias")) == 1)
    run = _asset_runs(system, "on_alias")[0]
    assert system.wait("on_alias", run.run_id) == "success"
    assert system.xcom("on_alias", run.run_id, "seen") == {"s3://exports/2026-12-06": [{"day": 6}]}


def test_clearing_a_producer_updates_the_asset_again(system: System) -> None:
    _consumers(
        system,
        """
        from tradewind import Asset

        with DAG("use_orders", schedule=[Asset("s3://bucket/orders")], **UNPAUSED):
            EmptyOperator(task_id="read")
        """,
    )
    run_id = system.trigger("make_orders")
    assert system.wait("make_orders", run_id) == "success"
    assert system.run_until(lambda: len(_asset_runs(system, "use_orders")) == 1)
    with system.sessions.begin() as session:
        clear_tasks(session, "make_orders", run_id, ["orders"], now=datetime.now(UTC))
    assert system.wait("make_orders", run_id) == "success"
    assert system.run_until(lambda: len(_asset_runs(system, "use_orders")) == 2)
    assert _count(system, AssetEvent) == 2


def test_a_mapped_producer_records_an_event_per_instance(system: System) -> None:
    _consumers(
        system,
        """
        from tradewind import Asset

        with DAG("use_parts", schedule=[Asset("s3://bucket/parts")], **UNPAUSED):
            @task
            def count(*, triggering_asset_events):
                return sorted(e.extra["part"] for e in triggering_asset_events["s3://bucket/parts"])

            count()

        with DAG("make_parts", schedule=None):
            @task(outlets=[Asset("s3://bucket/parts")])
            def part(n, *, outlet_events):
                outlet_events[Asset("s3://bucket/parts")].extra["part"] = n

            part.expand(n=[1, 2, 3])
        """,
    )
    system.set_paused("use_parts", True)
    _produce(system, "make_parts")
    # Paused, it queued nothing; unpaused, the next update runs it with that update alone.
    system.set_paused("use_parts", False)
    system.settle(0.3)
    assert _asset_runs(system, "use_parts") == []
    assert _count(system, AssetEvent) == 3
    _produce(system, "make_parts")
    assert system.run_until(lambda: len(_asset_runs(system, "use_parts")) >= 1)
    system.settle(0.5)
    runs = _asset_runs(system, "use_parts")
    parts: list[int] = []
    for run in runs:
        assert system.wait("use_parts", run.run_id) == "success"
        parts += system.xcom("use_parts", run.run_id, "count")
    assert sorted(parts) == [1, 2, 3]


def test_metadata_yielded_and_inlet_events(system: System) -> None:
    system.add_dag(
        "yielding",
        """
        from tradewind import Asset
        from tradewind.authoring.assets import Metadata

        REPORT = Asset("s3://reports/daily")

        with DAG("write_report", schedule=None):
            @task(outlets=[REPORT])
            def write(n):
                yield Metadata(REPORT, {"pages": n})
                return n

            write(3)

        with DAG("read_reports", schedule=None):
            @task(inlets=[REPORT])
            def read(*, inlet_events):
                return [e.extra["pages"] for e in inlet_events[REPORT]]

            read()
        """,
    )
    first = system.trigger("write_report")
    assert system.wait("write_report", first) == "success"
    assert system.xcom("write_report", first, "write") == 3
    _produce(system, "write_report")
    run_id = system.trigger("read_reports")
    assert system.wait("read_reports", run_id) == "success"
    assert system.xcom("read_reports", run_id, "read") == [3, 3]

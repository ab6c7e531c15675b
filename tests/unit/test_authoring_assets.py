"""Assets and datasets in DAG files: what they accept and refuse, and how a DAG's asset
schedule and a task's outlets and inlets are serialized for the scheduler."""

from __future__ import annotations

import pytest

from tradewind import DAG
from tradewind.authoring.assets import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    Dataset,
    is_asset_schedule,
)
from tradewind.exceptions import DagDefinitionError
from tradewind.operators import EmptyOperator
from tradewind.parsing import assetcond
from tradewind.parsing.serialize import deserialize_dag, serialize_dag
from tradewind.timetables import CronTriggerTimetable
from tradewind.timetables.assets import AssetOrTimeSchedule


def test_assets_and_their_conditions() -> None:
    orders = Asset("s3://bucket/orders")
    assert (orders.name, orders.uri, orders.group) == (
        "s3://bucket/orders",
        "s3://bucket/orders",
        "asset",
    )
    named = Asset(name="orders", uri="s3://bucket/orders", extra={"owner": "sales"})
    assert (named.name, named.extra) == ("orders", {"owner": "sales"})
    legacy = Dataset("postgres://db/sales", extra={"x": 1})
    assert legacy.uri == "postgres://db/sales"
    either = orders | legacy
    both = orders & AssetAlias("daily")
    assert isinstance(either, AssetAny)
    assert isinstance(both, AssetAll)
    assert list(either.iter_assets()) == [orders, legacy]
    assert is_asset_schedule([orders, legacy])
    assert is_asset_schedule(either)
    assert not is_asset_schedule("@daily")
    assert not is_asset_schedule([])


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (Asset, "a name or a uri"),
        (lambda: Asset(uri=""), "non-empty"),
        (lambda: Asset(uri="s3://bucket/my file"), "without spaces"),
        (lambda: Asset(uri="s3://bücket/x"), "ASCII"),
        (lambda: Asset(uri="airflow://x"), "reserved"),
        (lambda: AssetAlias(""), "non-empty name"),
        (lambda: AssetAny(Asset("a://b"), "not an asset"), "is not an asset"),
    ],
)
def test_bad_assets_are_clear_errors(make: object, says: str) -> None:
    with pytest.raises(DagDefinitionError, match=says):
        make()  # type: ignore[operator]


def test_asset_schedules_serialize_as_conditions_and_outlets_per_task() -> None:
    orders, users = Asset("s3://bucket/orders"), Dataset("s3://bucket/users")
    prices = Asset("prices", uri="file:///prices.csv", group="ml")
    with DAG("producer", schedule=None) as producer:
        EmptyOperator(task_id="write", outlets=[orders, AssetAlias("daily")], inlets=users)
    data = serialize_dag(producer)
    task = next(t for t in data["tasks"] if t["task_id"] == "write")
    assert task["outlets"] == [
        {
            "asset": {
                "uri": "s3://bucket/orders",
                "name": "s3://bucket/orders",
                "group": "asset",
                "extra": {},
            }
        },
        {"alias": {"name": "daily", "group": "asset"}},
    ]
    assert [i["asset"]["uri"] for i in task["inlets"]] == ["s3://bucket/users"]
    assert "asset_condition" not in data
    with DAG("consumer", schedule=(orders | users) & prices) as consumer:
        EmptyOperator(task_id="read")
    data = serialize_dag(consumer)
    condition = deserialize_dag(data).asset_condition
    assert condition is not None
    assert data["schedule"] == "Asset"
    assert assetcond.describe(condition) == "((s3://bucket/orders | s3://bucket/users) & prices)"
    assert assetcond.is_met(condition, {"s3://bucket/users", "file:///prices.csv"})
    assert not assetcond.is_met(condition, {"s3://bucket/users", "s3://bucket/orders"})
    with DAG("listed", schedule=[orders, users]) as listed:
        EmptyOperator(task_id="read")
    listed_condition = serialize_dag(listed)["asset_condition"]
    assert not assetcond.is_met(listed_condition, {"s3://bucket/orders"})
    assert assetcond.is_met(listed_condition, {"s3://bucket/orders", "s3://bucket/users"})


def test_assets_or_a_time_schedule() -> None:
    timetable = CronTriggerTimetable("0 1 * * *", timezone="UTC")
    with DAG(
        "both", schedule=AssetOrTimeSchedule(timetable=timetable, assets=[Asset("a://b")])
    ) as dag:
        EmptyOperator(task_id="t")
    data = serialize_dag(dag)
    assert data["schedule"].startswith("Asset or ")
    rebuilt = deserialize_dag(data)
    assert assetcond.asset_uris(rebuilt.asset_condition) == ["a://b"]
    assert rebuilt.timetable.can_be_scheduled
    with pytest.raises(DagDefinitionError, match="needs assets"):
        DAG("none", schedule=AssetOrTimeSchedule(timetable=timetable))

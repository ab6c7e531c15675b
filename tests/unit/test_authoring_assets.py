"""Assets and datasets in DAG files: what they accept and refuse, and that a DAG scheduled on
them says it is not provided yet while a task's outlets are accepted."""

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


def test_outlets_are_accepted_and_asset_schedules_say_not_yet() -> None:
    with pytest.warns(UserWarning, match="record no asset events"), DAG("producer", schedule=None):
        EmptyOperator(task_id="write", outlets=[Asset("s3://bucket/orders")])
    with pytest.raises(DagDefinitionError, match="asset updates are not provided yet"):
        DAG("consumer", schedule=[Asset("s3://bucket/orders")])

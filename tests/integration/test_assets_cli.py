"""``tradewind assets ...`` as a user runs it, on each dialect: list and show assets, record an
event from another system (queued for the DAGs scheduled on the asset) and list events."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tradewind.settings import Settings

Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]
ORDERS = "s3://bucket/orders"

DAGS = """
from tradewind import DAG, Asset
from tradewind.operators import EmptyOperator

ORDERS = Asset("s3://bucket/orders")

with DAG("make_orders", schedule=None):
    EmptyOperator(task_id="orders", outlets=[ORDERS])

with DAG("use_orders", schedule=[ORDERS], is_paused_upon_creation=False):
    EmptyOperator(task_id="read", inlets=[Asset("prices", uri="file:///data/prices.csv")])

with DAG("paused_use", schedule=[ORDERS], is_paused_upon_creation=True):
    EmptyOperator(task_id="read")
"""


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert expected in result.output


@pytest.fixture
def settings(
    make_settings: SettingsMaker, tmp_path: Path, migrated_db_url: str, tradewind_cli: Cli
) -> Settings:
    """A metastore with the DAGs of :data:`DAGS` registered."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "assets.py").write_text(DAGS)
    made = make_settings(
        tmp_path, migrated_db_url, core={"dags_folder": str(folder), "load_examples": False}
    )
    assert "3 DAGs" in _ok(tradewind_cli(made, "dags", "reserialize"))
    return made


def test_list_and_details(settings: Settings, tradewind_cli: Cli) -> None:
    listed = json.loads(_ok(tradewind_cli(settings, "assets", "list", "-o", "json")))
    assert [(a["uri"], a["name"]) for a in listed] == [
        (ORDERS, ORDERS),
        ("file:///data/prices.csv", "prices"),
    ]
    assert listed[0]["producing_tasks"] == ["make_orders.orders"]
    assert listed[0]["scheduled_dags"] == ["paused_use", "use_orders"]
    table = _ok(tradewind_cli(settings, "assets", "list"))
    assert ORDERS in table
    assert "make_orders.orders" in table

    details = ("assets", "details", "-o", "json")
    by_uri = json.loads(_ok(tradewind_cli(settings, *details, "--uri", ORDERS)))
    assert [a["id"] for a in by_uri] == [listed[0]["id"]]
    assert by_uri[0]["last_event"] is None
    by_name = json.loads(_ok(tradewind_cli(settings, *details, "--name", "prices")))
    assert by_name[0]["uri"] == "file:///data/prices.csv"
    assert by_name[0]["consuming_tasks"] == ["use_orders.read"]
    _one_line_error(
        tradewind_cli(settings, "assets", "details", "--uri", "s3://nowhere"),
        "no asset with URI 's3://nowhere'",
    )
    _one_line_error(tradewind_cli(settings, "assets", "details"), "--uri or its --name")


def test_an_event_from_another_system(settings: Settings, tradewind_cli: Cli) -> None:
    out = _ok(tradewind_cli(settings, "assets", "event", "--uri", ORDERS, "--extra", '{"rows": 3}'))
    # The paused consumer is not queued: it would not run for the event.
    assert out.splitlines()[1] == "Queued for DAGs: use_orders"
    assert out.startswith("Recorded event ")
    out = _ok(tradewind_cli(settings, "assets", "event", "--uri", "file:///data/prices.csv"))
    assert "No active, unpaused DAG is scheduled on it." in out

    events = json.loads(_ok(tradewind_cli(settings, "assets", "events", "-o", "json")))
    assert [(e["uri"], e["extra"], e["source"]) for e in events] == [
        ("file:///data/prices.csv", "{}", None),
        (ORDERS, '{"rows": 3}', None),
    ]
    of_orders = tradewind_cli(
        settings, "assets", "events", "--uri", ORDERS, "--limit", "1", "-o", "json"
    )
    assert [e["uri"] for e in json.loads(_ok(of_orders))] == [ORDERS]
    details = tradewind_cli(settings, "assets", "details", "--uri", ORDERS, "-o", "json")
    assert json.loads(_ok(details))[0]["last_event"] is not None


def test_bad_input_is_a_one_line_error(settings: Settings, tradewind_cli: Cli) -> None:
    event = ("assets", "event", "--uri")
    _one_line_error(tradewind_cli(settings, *event, "s3://nowhere"), "no asset with URI")
    _one_line_error(tradewind_cli(settings, *event, ORDERS, "--extra", "{rows"), "not valid JSON")
    _one_line_error(tradewind_cli(settings, *event, ORDERS, "--extra", "[1]"), "a JSON object")
    _one_line_error(
        tradewind_cli(settings, "assets", "events", "--uri", "s3://nowhere"), "no asset with URI"
    )
    assert json.loads(_ok(tradewind_cli(settings, "assets", "events", "-o", "json"))) == []

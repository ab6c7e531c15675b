"""``@asset`` and ``@asset.multi`` in DAG files: the DAG of one task each makes, what the
function receives, the decorated name as an asset in other DAGs' schedules, asset watchers in
the serialized schedule, and the clear errors for what is refused."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, Asset, AssetWatcher
from tradewind.authoring.asset_decorator import AssetDefinition
from tradewind.exceptions import DagDefinitionError
from tradewind.parsing import loader
from tradewind.parsing.serialize import deserialize_dag, serialize_dag
from tradewind.triggers.file import FileDeleteTrigger, FileTrigger

PIPELINE = """
from tradewind import DAG, Asset, asset
from tradewind.operators import EmptyOperator

SOURCE = Asset("source", uri="s3://bucket/source.csv")


@asset(schedule=None, uri="s3://bucket/raw.parquet", extra={"owner": "data"})
def raw():
    return "raw made"


@asset(schedule=raw, name="report", group="reports")
def make_report(self, context, raw, SOURCE, elsewhere, limit=10, *, unit="rows"):
    return {
        "self": [self.name, self.uri, self.group],
        "raw": [raw.name, raw.uri],
        "source": SOURCE.uri,
        "elsewhere": elsewhere.uri,
        "limit": [limit, unit],
        "context": sorted(context),
    }


with DAG("consumer", schedule=[make_report]):
    EmptyOperator(task_id="go")


@asset(schedule=None)
def counted(step=2, /, *, self):
    return [step, self.name]
"""


def _load(tmp_path: Path, body: str, name: str = "assets_file") -> loader.ImportedFile:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return loader.import_dags(path)


def _dags(tmp_path: Path, body: str) -> dict[str, DAG]:
    imported = _load(tmp_path, body)
    assert imported.errors == []
    return {dag.dag_id: dag for dag in imported.dags}


def _error(tmp_path: Path, body: str) -> str:
    imported = _load(tmp_path, body)
    assert imported.dags == []
    assert len(imported.errors) == 1
    return imported.errors[0].message


def test_an_asset_function_is_a_dag_of_one_task_that_updates_it(tmp_path: Path) -> None:
    dags = _dags(tmp_path, PIPELINE)
    assert sorted(dags) == ["consumer", "counted", "raw", "report"]
    raw = serialize_dag(dags["raw"])
    assert [task["task_id"] for task in raw["tasks"]] == ["raw"]
    assert raw["tasks"][0]["outlets"] == [
        {
            "asset": {
                "uri": "s3://bucket/raw.parquet",
                "name": "raw",
                "group": "asset",
                "extra": {"owner": "data"},
            }
        }
    ]
    assert "inlets" not in raw["tasks"][0]
    assert raw["timetable"] == {"type": "none"}
    outlet = dags["raw"].task_dict["raw"].outlets[0]
    assert isinstance(outlet, AssetDefinition)
    assert isinstance(outlet, Asset)
    # name= names the asset and the DAG; the task keeps the function's name.
    report = serialize_dag(dags["report"])
    assert [task["task_id"] for task in report["tasks"]] == ["make_report"]
    assert report["tasks"][0]["outlets"] == [
        {"asset": {"uri": "report", "name": "report", "group": "reports", "extra": {}}}
    ]
    # Scheduled on the other asset function, by its URI.
    assert report["asset_condition"] == raw["tasks"][0]["outlets"][0]
    consumer = serialize_dag(dags["consumer"])
    assert consumer["asset_condition"] == report["tasks"][0]["outlets"][0]


def test_parameters_are_its_asset_the_context_and_inlet_assets(tmp_path: Path) -> None:
    dags = _dags(tmp_path, PIPELINE)
    report = serialize_dag(dags["report"])
    # Each parameter without a default but self and context is an inlet: the asset bound to
    # that name in the module, else the asset of that name.
    assert [inlet["asset"]["uri"] for inlet in report["tasks"][0]["inlets"]] == [
        "s3://bucket/raw.parquet",
        "s3://bucket/source.csv",
        "elsewhere",
    ]
    task = dags["report"].task_dict["make_report"]
    received = task.execute({"ds": "2024-01-02", "inlet_events": {}})
    assert received == {
        "self": ["report", "report", "reports"],
        "raw": ["raw", "s3://bucket/raw.parquet"],
        "source": "s3://bucket/source.csv",
        "elsewhere": "elsewhere",
        "limit": [10, "rows"],
        "context": ["ds", "inlet_events"],
    }
    assert dags["raw"].task_dict["raw"].execute({}) == "raw made"
    assert dags["counted"].task_dict["counted"].execute({}) == [2, "counted"]


def test_the_decorated_name_is_an_asset_and_is_not_called(tmp_path: Path) -> None:
    imported = _load(
        tmp_path,
        """
        from tradewind import asset

        @asset(schedule=None)
        def cleaned():
            pass

        cleaned()
        """,
    )
    assert imported.dags == []
    assert "is an asset defined by its function, not a function to call" in (
        imported.errors[0].message
    )


def test_a_time_schedule_needs_no_start_date_and_never_catches_up(tmp_path: Path) -> None:
    dags = _dags(
        tmp_path,
        """
        from tradewind import asset

        @asset(schedule="@daily")
        def daily():
            pass
        """,
    )
    dag = deserialize_dag(serialize_dag(dags["daily"]))
    now = datetime(2024, 5, 10, 12, tzinfo=UTC)
    info = dag.next_dagrun_info(None, now)
    assert info is not None
    # The latest day due, not every day since some start date.
    assert info.data_interval.end <= now
    assert (now - info.data_interval.end).days < 1
    assert dags["daily"].catchup is False


def test_multi_updates_several_assets_and_stands_for_all_of_them(tmp_path: Path) -> None:
    dags = _dags(
        tmp_path,
        """
        from tradewind import DAG, Asset, asset
        from tradewind.operators import EmptyOperator

        @asset.multi(schedule=None, outlets=[Asset("left"), Asset("right")])
        def split(self):
            return [found.uri for found in self.outlets]

        with DAG("after_split", schedule=[split]):
            EmptyOperator(task_id="go")
        """,
    )
    split = serialize_dag(dags["split"])
    assert [task["task_id"] for task in split["tasks"]] == ["split"]
    assert [out["asset"]["uri"] for out in split["tasks"][0]["outlets"]] == ["left", "right"]
    assert dags["split"].task_dict["split"].execute({}) == ["left", "right"]
    assert serialize_dag(dags["after_split"])["asset_condition"] == {
        "all": split["tasks"][0]["outlets"]
    }


def test_an_airflow_3_file_imports_unchanged(tmp_path: Path) -> None:
    dags = _dags(
        tmp_path,
        """
        import pendulum
        from airflow.sdk import Asset, asset, dag, task

        @asset(uri="s3://bucket/first", schedule=None)
        def first():
            pass

        @asset(uri="s3://bucket/second", schedule=None)
        def second(self, context, first):
            print(context["inlet_events"][first])

        @dag(
            schedule=Asset(uri="s3://bucket/first", name="first")
            | Asset(uri="s3://bucket/second", name="second"),
            start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
            catchup=False,
        )
        def uses_both():
            @task
            def read():
                pass

            read()

        uses_both()
        """,
    )
    assert sorted(dags) == ["first", "second", "uses_both"]
    uris = [
        leaf["asset"]["uri"] for leaf in serialize_dag(dags["uses_both"])["asset_condition"]["any"]
    ]
    assert uris == ["s3://bucket/first", "s3://bucket/second"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            """
            def outer():
                @asset(schedule=None)
                def inner():
                    pass
            outer()
            """,
            "a nested function is not supported",
        ),
        (
            """
            @asset(schedule=None)
            def spread(*rows):
                pass
            """,
            "'*rows' is not supported",
        ),
        (
            """
            @asset(schedule=None)
            def spread(**options):
                pass
            """,
            "'**options' is not supported",
        ),
        (
            """
            @asset(schedule=None)
            def only(a, /):
                pass
            """,
            "positional-only parameter 'a' needs a default",
        ),
        (
            """
            @asset(schedule=None, name="self")
            def named():
                pass
            """,
            "'self' cannot be an asset's name",
        ),
        (
            """
            @asset(schedule=None, retries=3)
            def retried():
                pass
            """,
            "@asset got unknown argument(s) 'retries'",
        ),
        (
            """
            @asset.multi(schedule=None, outlets=[])
            def nothing():
                pass
            """,
            "@asset.multi needs outlets",
        ),
        (
            """
            @asset.multi(schedule=None, outlets=["s3://x"])
            def text():
                pass
            """,
            "outlets are assets or aliases, not 's3://x'",
        ),
        (
            """
            asset(schedule=None)("not a function")
            """,
            "@asset decorates a function",
        ),
        (
            """
            @asset
            def bare():
                pass
            """,
            "@asset takes keyword arguments, schedule= at least",
        ),
        (
            """
            @asset(uri="s3://x")
            def unscheduled():
                pass
            """,
            "@asset needs schedule=",
        ),
        (
            """
            @asset.multi(outlets=[Asset("x")])
            def unscheduled():
                pass
            """,
            "@asset.multi needs schedule=",
        ),
    ],
)
def test_what_asset_refuses_is_a_clear_error_at_its_line(
    tmp_path: Path, body: str, says: str
) -> None:
    message = _error(tmp_path, "from tradewind import Asset, asset\n" + textwrap.dedent(body))
    assert says in message
    assert message.startswith(str(tmp_path / "assets_file.py") + ":")


def test_watchers_are_serialized_with_their_asset_and_only_then(tmp_path: Path) -> None:
    plain = Asset("s3://bucket/plain")
    assert plain.to_json() == {
        "asset": {
            "uri": "s3://bucket/plain",
            "name": "s3://bucket/plain",
            "group": "asset",
            "extra": {},
        }
    }
    inbox = tmp_path / "inbox.csv"
    watched = Asset(
        "inbox",
        watchers=[AssetWatcher("arrivals", FileDeleteTrigger(str(inbox), poke_interval=0.5))],
    )
    assert watched.to_json()["asset"]["watchers"] == [
        {
            "name": "arrivals",
            "classpath": "tradewind.triggers.file.FileDeleteTrigger",
            "kwargs": {"filepath": str(inbox), "poke_interval": 0.5},
        }
    ]
    with DAG("on_inbox", schedule=[watched]) as dag:
        pass
    assert serialize_dag(dag)["asset_condition"] == watched.to_json()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: AssetWatcher("w", FileTrigger("/tmp/x")), "must be an event trigger"),
        (lambda: AssetWatcher("", FileDeleteTrigger("/tmp/x")), "non-empty name"),
        (lambda: Asset("a", watchers=[FileDeleteTrigger("/tmp/x")]), "are AssetWatchers"),
    ],
)
def test_bad_watchers_are_clear_errors(make: Any, says: str) -> None:
    with pytest.raises(DagDefinitionError, match=says):
        make()

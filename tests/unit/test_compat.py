"""The ``airflow`` import namespace (tradewind.compat): the table, the finder, its errors."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind import compat
from tradewind.authoring.asset_decorator import asset
from tradewind.authoring.assets import AssetAll, AssetAny, AssetWatcher, Metadata
from tradewind.authoring.dag import DAG
from tradewind.authoring.dag_decorator import dag
from tradewind.compat import finder, table
from tradewind.exceptions import FailTask, SkipTask, TradewindError
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.python import PythonOperator
from tradewind.operators.taskflow import task
from tradewind.parsing import loader
from tradewind.timetables.assets import AssetOrTimeSchedule, DatasetOrTimeSchedule
from tradewind.triggers.base import BaseEventTrigger
from tradewind.triggers.file import FileDeleteTrigger


@pytest.fixture(autouse=True)
def served() -> Iterator[None]:
    """Each test starts with the namespace served afresh, and leaves it as the loader would."""
    compat.uninstall()
    assert compat.install()
    yield
    compat.uninstall()


@pytest.mark.parametrize(
    ("module", "name"),
    [(module, name) for module, names in table.MODULES.items() for name in names],
)
def test_every_served_name_resolves(module: str, name: str) -> None:
    value = getattr(importlib.import_module(module), name)
    assert value is finder.resolve(table.MODULES[module][name])


def test_packages_are_packages_and_modules_are_not() -> None:
    assert importlib.import_module("airflow.operators").__path__ == []
    assert not hasattr(importlib.import_module("airflow.operators.bash"), "__path__")
    assert importlib.import_module("airflow.models").__path__ == []  # airflow.models.dag below


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("from airflow import DAG", DAG),
        ("from airflow.models import DAG", DAG),
        ("from airflow.models.dag import DAG", DAG),
        ("from airflow.sdk import DAG", DAG),
        ("from airflow.decorators import dag", dag),
        ("from airflow.sdk import dag", dag),
        ("from airflow.decorators import task", task),
        ("from airflow.sdk import task", task),
        ("from airflow.operators.bash import BashOperator", BashOperator),
        ("from airflow.providers.standard.operators.bash import BashOperator", BashOperator),
        ("from airflow.operators.python import PythonOperator", PythonOperator),
        ("from airflow.providers.standard.operators.python import PythonOperator", PythonOperator),
        ("from airflow.operators.empty import EmptyOperator", EmptyOperator),
        ("from airflow.operators.dummy import DummyOperator", EmptyOperator),
        ("from airflow.providers.standard.operators.empty import EmptyOperator", EmptyOperator),
        ("from airflow.exceptions import AirflowSkipException", SkipTask),
        ("from airflow.exceptions import AirflowFailException", FailTask),
        ("from airflow.exceptions import AirflowException", TradewindError),
        ("from airflow.sdk import asset", asset),
        ("from airflow.sdk.definitions.asset.decorators import asset", asset),
        ("from airflow.sdk import AssetWatcher", AssetWatcher),
        ("from airflow.sdk import Metadata", Metadata),
        ("from airflow.datasets.metadata import Metadata", Metadata),
        ("from airflow.sdk import AssetAll", AssetAll),
        ("from airflow.sdk import AssetAny", AssetAny),
        ("from airflow.timetables.assets import AssetOrTimeSchedule", AssetOrTimeSchedule),
        ("from airflow.timetables.datasets import DatasetOrTimeSchedule", DatasetOrTimeSchedule),
        ("from airflow.triggers.base import BaseEventTrigger", BaseEventTrigger),
        (
            "from airflow.providers.standard.triggers.file import FileDeleteTrigger",
            FileDeleteTrigger,
        ),
    ],
)
def test_airflow_2_and_3_spellings(statement: str, expected: object) -> None:
    scope: dict[str, object] = {}
    exec(statement, scope)
    name = statement.rsplit(" ", 1)[-1]
    assert scope[name] is expected


def test_submodules_import_as_attributes_and_from_their_package() -> None:
    scope: dict[str, object] = {}
    exec("import airflow.operators.bash\nfrom airflow.operators import python", scope)
    airflow = scope["airflow"]
    assert airflow.operators.bash.BashOperator is BashOperator  # type: ignore[attr-defined]
    assert scope["python"].PythonOperator is PythonOperator  # type: ignore[attr-defined]


def _import_error(statement: str) -> ImportError:
    with pytest.raises(ImportError) as caught:
        exec(statement, {})
    return caught.value


@pytest.mark.parametrize(
    "statement",
    [
        "import airflow.providers.amazon.aws.hooks.s3",
        "from airflow.providers.amazon.aws.hooks.s3 import S3Hook",
        "from airflow.providers import amazon",
    ],
)
def test_an_unknown_module_says_it_is_not_part_of_tradewind(statement: str) -> None:
    error = _import_error(statement)
    assert isinstance(error, compat.ModuleNotProvidedError)
    assert "airflow.providers.amazon is not part of tradewind" in str(error)


def test_an_unknown_core_module_says_so_too() -> None:
    error = _import_error("from airflow.kubernetes.secret import Secret")
    assert str(error).startswith("airflow.kubernetes is not part of tradewind")


def test_an_unknown_name_in_a_known_module_says_it_is_not_provided() -> None:
    error = _import_error("from airflow.operators.python import Foo")
    assert isinstance(error, compat.NameNotProvidedError)
    assert not isinstance(error, ModuleNotFoundError)
    assert "Foo is not provided by tradewind" in str(error)
    assert "airflow.operators.python" in str(error)
    assert "PythonOperator" in str(error)  # what it does provide


@pytest.mark.parametrize(
    "statement",
    ["from airflow.sdk import Reports", "from airflow.sdk.reports import Report"],
)
def test_later_features_say_not_yet(statement: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        table,
        "NOT_YET",
        {"airflow.sdk:Reports": "a feature to come", "airflow.sdk.reports": "a feature to come"},
    )
    error = _import_error(statement)
    assert "is not provided by tradewind yet" in str(error)
    assert "a feature to come" in str(error)


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("from airflow.operators.subdag import SubDagOperator", "TaskGroup"),
        ("from airflow.operators.subdag_operator import SubDagOperator", "TaskGroup"),
        ("from airflow.operators.email import EmailOperator", "e-mail"),
        ("from airflow.io.path import ObjectStoragePath", "fsspec"),
        ("from airflow.sdk import ObjectStoragePath", "fsspec"),
        ("from airflow.utils.session import provide_session", "metadata database"),
        ("from airflow.models import DagBag", "metadata database"),
        ("from airflow.models import XCom", "ti.xcom_pull"),
        ("from airflow.example_dags.libs.helper import print_stuff", "example DAGs"),
    ],
)
def test_what_tradewind_never_provides_says_what_to_use_instead(statement: str, says: str) -> None:
    error = _import_error(statement)
    assert "not provided by tradewind" in str(error) or "not part of tradewind" in str(error)
    assert says in str(error)


def test_a_standard_provider_module_not_served_says_so() -> None:
    error = _import_error("from airflow.providers.standard.operators.hitl import ApprovalOperator")
    assert "not part of tradewind" in str(error)
    assert "standard provider only" not in str(error)


def test_airflow_1_module_names_that_airflow_2_kept() -> None:
    scope: dict[str, object] = {}
    exec(
        "from airflow.operators.latest_only_operator import LatestOnlyOperator\n"
        "from airflow.operators.latest_only import LatestOnlyOperator as Today\n"
        "from airflow.sensors.external_task_sensor import ExternalTaskSensor\n"
        "from airflow.providers.standard.sensors.external_task import ExternalTaskSensor as Now\n",
        scope,
    )
    assert scope["LatestOnlyOperator"] is scope["Today"]
    assert scope["ExternalTaskSensor"] is scope["Now"]


def test_private_names_are_plain_attribute_errors() -> None:
    module = importlib.import_module("airflow.operators.bash")
    assert not hasattr(module, "__file__")
    assert not hasattr(module, "_private")


def test_star_import_gives_the_served_names() -> None:
    scope: dict[str, object] = {}
    exec("from airflow.operators.python import *", scope)
    assert scope["PythonOperator"] is PythonOperator


def test_install_does_nothing_where_an_airflow_package_is_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compat.uninstall()
    (tmp_path / "airflow").mkdir()
    (tmp_path / "airflow" / "__init__.py").write_text("STANDIN = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert not compat.install()
        assert not compat.installed()
        import airflow

        assert airflow.STANDIN
    finally:
        sys.modules.pop("airflow", None)


def test_an_airflow_that_appears_later_still_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finder goes last: one put on sys.path after install() is imported, not served, and
    its missing submodules are not served either."""
    (tmp_path / "airflow").mkdir()
    (tmp_path / "airflow" / "__init__.py").write_text("STANDIN = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        import airflow

        assert airflow.STANDIN
        with pytest.raises(ModuleNotFoundError) as caught:
            importlib.import_module("airflow.operators.bash")
        assert not isinstance(caught.value, compat.ModuleNotProvidedError)
    finally:
        for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
            del sys.modules[name]


def test_a_dag_file_with_an_unknown_import_gets_the_message_as_its_import_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s3_dag.py"
    path.write_text(
        textwrap.dedent(
            """\
            from airflow import DAG

            from airflow.providers.amazon.aws.hooks.s3 import S3Hook
            """
        )
    )
    parsed = loader.load_file(path)
    assert parsed.dags == []
    [error] = parsed.errors
    assert error.message.startswith(f"{path}:3: ")
    assert "airflow.providers.amazon is not part of tradewind" in error.message
    assert "compat/finder.py" not in error.stacktrace


@pytest.mark.parametrize(
    "body",
    [
        """
        @task
        def double(x):
            return 2 * x

        with DAG("mapped", schedule=None):
            double.expand(x=[1, 2, 3])
        """,
        """
        with DAG("mapped", schedule=None):
            BashOperator.partial(task_id="echo").expand(bash_command=["echo 1", "echo 2"])
        """,
    ],
)
def test_dynamic_task_mapping_in_an_airflow_dag_file_gives_a_mapped_task(
    tmp_path: Path, body: str
) -> None:
    path = tmp_path / "mapped.py"
    header = "from airflow.sdk import DAG, task\nfrom airflow.operators.bash import BashOperator\n"
    path.write_text(header + textwrap.dedent(body))
    parsed = loader.load_file(path)
    assert parsed.errors == []
    [dag] = parsed.dags
    [task] = dag.data["tasks"]
    assert task["mapping"]["length"] == {"literal": 2 if "echo" in body else 3}

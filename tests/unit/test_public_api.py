"""The public import surface DAG files rely on; changing it is a deliberate act."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tradewind
import tradewind.models
import tradewind.operators
import tradewind.sensors
from tradewind import exceptions

EXPECTED_ROOT = [
    "DAG",
    "Asset",
    "AssetAlias",
    "AssetWatcher",
    "Dataset",
    "Label",
    "Param",
    "TaskGroup",
    "TriggerRule",
    "XComArg",
    "__version__",
    "asset",
    "chain",
    "cross_downstream",
    "dag",
    "setup",
    "task",
    "task_group",
    "teardown",
]


def test_root_exports_exactly_the_authoring_api() -> None:
    assert tradewind.__all__ == EXPECTED_ROOT
    for name in EXPECTED_ROOT:
        assert getattr(tradewind, name) is not None
        assert name in dir(tradewind)


def test_root_names_come_from_tradewind_modules() -> None:
    for name in EXPECTED_ROOT:
        value = getattr(tradewind, name)
        module = getattr(value, "__module__", "tradewind") or "tradewind"
        if name != "__version__":
            assert module.startswith("tradewind."), name


def test_unknown_root_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Dag'"):
        getattr(tradewind, "Dag")  # noqa: B009


def test_operator_sensor_and_model_modules() -> None:
    assert tradewind.operators.__all__ == [
        "BaseBranchOperator",
        "BashOperator",
        "BranchDateTimeOperator",
        "BranchDayOfWeekOperator",
        "BranchExternalPythonOperator",
        "BranchPythonOperator",
        "BranchPythonVirtualenvOperator",
        "EmptyOperator",
        "ExternalPythonOperator",
        "LatestOnlyOperator",
        "PythonOperator",
        "PythonVirtualenvOperator",
        "ShortCircuitOperator",
        "TriggerDagRunOperator",
    ]
    assert tradewind.sensors.__all__ == [
        "BaseSensorOperator",
        "BashSensor",
        "DateTimeSensor",
        "DateTimeSensorAsync",
        "DayOfWeekSensor",
        "ExternalTaskMarker",
        "ExternalTaskSensor",
        "FileSensor",
        "PokeReturnValue",
        "PythonSensor",
        "TimeDeltaSensor",
        "TimeDeltaSensorAsync",
        "TimeSensor",
        "TimeSensorAsync",
    ]
    assert tradewind.models.__all__ == ["DAG", "BaseOperator", "Param"]
    assert tradewind.models.DAG is tradewind.DAG


def test_exceptions_module_names() -> None:
    for name in ("DagDefinitionError", "SkipTask", "FailTask", "TaskError", "SkipDownstream"):
        assert issubclass(getattr(exceptions, name), exceptions.TradewindError)


def test_importing_tradewind_does_not_load_the_authoring_layer() -> None:
    # The CLI imports the package; commands that never touch DAGs must stay fast.
    code = (
        "import sys, tradewind\n"
        "print(any(name.startswith('tradewind.authoring') for name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

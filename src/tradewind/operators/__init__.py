"""Operators: the task classes DAG files use."""

from tradewind.operators.bash import BashOperator
from tradewind.operators.branch import BaseBranchOperator
from tradewind.operators.date_time import BranchDateTimeOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.latest_only import LatestOnlyOperator
from tradewind.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from tradewind.operators.python_virtualenv import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from tradewind.operators.trigger_dagrun import TriggerDagRunOperator
from tradewind.operators.weekday import BranchDayOfWeekOperator

__all__ = [
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

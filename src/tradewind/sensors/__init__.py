"""Sensors: tasks that wait for a condition."""

from tradewind.sensors.base import BaseSensorOperator, PokeReturnValue
from tradewind.sensors.filesystem import FileSensor
from tradewind.sensors.python import PythonSensor
from tradewind.sensors.time_delta import TimeDeltaSensor

__all__ = [
    "BaseSensorOperator",
    "FileSensor",
    "PokeReturnValue",
    "PythonSensor",
    "TimeDeltaSensor",
]

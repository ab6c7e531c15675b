"""Sensors: tasks that wait for a condition."""

from tradewind.sensors.base import BaseSensorOperator, PokeReturnValue
from tradewind.sensors.bash import BashSensor
from tradewind.sensors.date_time import DateTimeSensor, DateTimeSensorAsync
from tradewind.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor
from tradewind.sensors.filesystem import FileSensor
from tradewind.sensors.python import PythonSensor
from tradewind.sensors.time_delta import TimeDeltaSensor, TimeDeltaSensorAsync
from tradewind.sensors.time_of_day import TimeSensor, TimeSensorAsync
from tradewind.sensors.weekday import DayOfWeekSensor

__all__ = [
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

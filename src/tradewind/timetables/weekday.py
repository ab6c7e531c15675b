"""WeekDay: the days of the week as ISO numbers (Monday 1 ... Sunday 7), for day-of-week tasks.

``BranchDayOfWeekOperator`` and ``DayOfWeekSensor`` take a day as a name (any case), a
WeekDay, or a set or list of either; :meth:`WeekDay.validate_week_day` turns that into the
set of ISO weekday numbers to compare with ``datetime.isoweekday()``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class WeekDay(enum.IntEnum):
    """A day of the week, numbered as ``datetime.isoweekday()`` numbers it."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> int:
        """The ISO number of a day given by name (``"monday"``, ``"Monday"``, ``"MONDAY"``)."""
        try:
            return cls[week_day_str.strip().upper()].value
        except KeyError:
            raise ValueError(
                f"invalid week day {week_day_str!r}: use a full English day name such as "
                "'Monday', or a WeekDay"
            ) from None

    @classmethod
    def convert(cls, day: str | WeekDay) -> int:
        """The ISO number of a day given by name or as a WeekDay."""
        if isinstance(day, WeekDay):
            return day.value
        if isinstance(day, str):
            return cls.get_weekday_number(day)
        raise TypeError(f"a week day is a day name or a WeekDay, not {day!r}")

    @classmethod
    def validate_week_day(cls, week_day: str | WeekDay | Iterable[str | WeekDay]) -> set[int]:
        """The ISO numbers of one day or of a collection of days (empty is refused)."""
        if isinstance(week_day, str | WeekDay):
            return {cls.convert(week_day)}
        if isinstance(week_day, Iterable):
            numbers = {cls.convert(day) for day in week_day}
            if numbers:
                return numbers
        raise TypeError(
            f"week_day must be a day name, a WeekDay, or a set of them; got {week_day!r}"
        )

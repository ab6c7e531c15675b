"""Plain-English descriptions of common cron expressions, for the UI and CLI.

Best effort by design: shapes that do not read well in one short sentence
(nth weekdays, "L", day-of-month and day-of-week both set) fall back to
quoting the expression.
"""

from __future__ import annotations

from collections.abc import Sequence

from croniter import croniter

_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

Field = list[int] | None  # None stands for "*"


def describe_cron(expression: str, cron: str, zone_name: str) -> str:
    """Describe ``cron`` (five fields) in words, ending with the time zone name."""
    parsed = _parse(cron)
    text = _describe(*parsed) if parsed is not None else None
    if text is None:
        text = f"On the cron schedule '{expression}'"
    return f"{text}, {zone_name}"


def _parse(cron: str) -> tuple[Field, Field, Field, Field, Field] | None:
    ticks = croniter(cron)
    if ticks.nth_weekday_of_month:
        return None
    fields: list[Field] = []
    for values in ticks.expanded[:5]:
        if values == ["*"]:
            fields.append(None)
        elif all(isinstance(value, int) for value in values):
            fields.append([int(value) for value in values])
        else:
            return None
    minute, hour, day, month, weekday = fields
    return minute, hour, day, month, weekday


def _describe(minute: Field, hour: Field, day: Field, month: Field, weekday: Field) -> str | None:
    time = _time_part(minute, hour)
    if time is None or (day is not None and weekday is not None):
        return None
    parts = [time]
    if weekday is not None:
        parts.append("on " + _span([_WEEKDAYS[value % 7] for value in sorted(set(weekday))]))
    if day is not None:
        noun = "day" if len(day) == 1 else "days"
        parts.append(f"on {noun} {_join([str(value) for value in day])} of the month")
    if month is not None:
        parts.append("in " + _join([_MONTHS[value - 1] for value in month]))
    return " ".join(parts)


def _time_part(minute: Field, hour: Field) -> str | None:
    if minute is None:
        return "Every minute" if hour is None else None
    if hour is None:
        if minute == [0]:
            return "Every hour"
        noun = "minute" if len(minute) == 1 else "minutes"
        return f"Every hour at {noun} {_join([str(value) for value in minute])}"
    if len(minute) * len(hour) > 6:
        return None
    return "At " + _join([f"{h:02d}:{m:02d}" for h in hour for m in minute])


def _span(names: Sequence[str]) -> str:
    """Name a run of three or more consecutive weekdays as a range."""
    if len(names) >= 3:
        indexes = [_WEEKDAYS.index(name) for name in names]
        if indexes == list(range(indexes[0], indexes[0] + len(indexes))):
            return f"{names[0]} through {names[-1]}"
    return _join(names)


def _join(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]

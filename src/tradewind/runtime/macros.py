"""``macros`` in templates: ``{{ macros.ds_add(ds, 7) }}``, ``{{ macros.datetime.now() }}``...

Airflow's macros: the functions below and the modules and classes Airflow hands over
(``datetime``, ``timedelta``, ``dateutil``, ``time``, ``uuid``, ``random``, ``json``).
"""

from __future__ import annotations

import datetime as _dt
import json
import time
import uuid
from datetime import datetime, timedelta
from random import random

import dateutil
import dateutil.parser
import dateutil.relativedelta
import pendulum

__all__ = [
    "datetime",
    "datetime_diff_for_humans",
    "dateutil",
    "ds_add",
    "ds_format",
    "ds_format_locale",
    "json",
    "random",
    "time",
    "timedelta",
    "uuid",
]


def ds_add(ds: str, days: int) -> str:
    """``ds`` (YYYY-MM-DD) moved by ``days`` (negative goes back)."""
    return (_dt.date.fromisoformat(ds) + timedelta(days=days)).isoformat()


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """Re-format a date string: ``ds_format("2024-01-05", "%Y-%m-%d", "%d/%m/%Y")``."""
    return datetime.strptime(ds, input_format).strftime(output_format)


def ds_format_locale(
    ds: str, input_format: str, output_format: str, locale: str | None = None
) -> str:
    """Re-format a date string with a Babel (CLDR) pattern in a locale: ``"EEEE dd MMMM"``.

    Needs the ``babel`` package, as in Airflow.
    """
    try:
        from babel import dates as babel_dates  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "macros.ds_format_locale needs the babel package: pip install babel"
        ) from None
    moment = datetime.strptime(ds, input_format)
    text: str = babel_dates.format_datetime(moment, output_format, locale=locale or "en_US")
    return text


def datetime_diff_for_humans(dt: datetime, since: datetime | None = None) -> str:
    """How far ``dt`` is from ``since`` (from now if not given), in words: "2 days ago"."""
    other = None if since is None else pendulum.instance(since)
    return pendulum.instance(dt).diff_for_humans(other)

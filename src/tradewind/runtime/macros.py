"""``macros`` in templates: ``{{ macros.ds_add(ds, 7) }}``, ``{{ macros.datetime.now() }}``..."""

from __future__ import annotations

import datetime as _dt
import json
import time
import uuid
from datetime import datetime, timedelta
from random import random

__all__ = ["datetime", "ds_add", "ds_format", "json", "random", "time", "timedelta", "uuid"]


def ds_add(ds: str, days: int) -> str:
    """``ds`` (YYYY-MM-DD) moved by ``days`` (negative goes back)."""
    return (_dt.date.fromisoformat(ds) + timedelta(days=days)).isoformat()


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """Re-format a date string: ``ds_format("2024-01-05", "%Y-%m-%d", "%d/%m/%Y")``."""
    return datetime.strptime(ds, input_format).strftime(output_format)

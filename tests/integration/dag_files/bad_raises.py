"""Raises at import, on line 9."""

from datetime import datetime

from tradewind import DAG

DAG("bad_raises", schedule=None, start_date=datetime(2024, 1, 1))

raise RuntimeError("the warehouse is unreachable")

"""Imports a module that is not installed, on line 5."""

from datetime import datetime

import tradewind_no_such_module

from tradewind import DAG

DAG(tradewind_no_such_module.DAG_ID, schedule=None, start_date=datetime(2024, 1, 1))

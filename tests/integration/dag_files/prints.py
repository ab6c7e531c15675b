"""A good DAG whose file prints to stdout and stderr while it is imported."""

import sys
from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator

print("hello from a DAG file")
print("and to stderr", file=sys.stderr)

with DAG("prints", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="only")

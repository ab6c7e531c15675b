"""Calls sys.exit() while being imported (tradewind DAG file)."""

import sys

sys.exit(3)

"""EmptyOperator: a task that does nothing, for joins and structure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradewind.authoring.baseoperator import BaseOperator


class EmptyOperator(BaseOperator):
    """Does nothing. The scheduler may mark it successful without starting a process."""

    ui_color = "#e8f7e4"

    def execute(self, context: Mapping[str, Any]) -> None:
        return None

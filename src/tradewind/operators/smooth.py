"""SmoothOperator: Airflow's joke operator, a task that logs a link to a song and succeeds."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tradewind.authoring.baseoperator import BaseOperator

log = logging.getLogger(__name__)


class SmoothOperator(BaseOperator):
    """Logs a link to Sade's "Smooth Operator" and does nothing else."""

    ui_color = "#e8f7e4"
    yt_link = "https://www.youtube.com/watch?v=4TYv2PhG89A"

    def execute(self, context: Mapping[str, Any]) -> None:
        log.info("Enjoy Sade - Smooth Operator: %s", self.yt_link)

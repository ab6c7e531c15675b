"""The trigger bench/defer.py defers to (the triggerer imports it: bench/ is on its path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from tradewind.triggers.base import BaseTrigger, TriggerEvent


class DueTrigger(BaseTrigger):
    """Fires ``{"due": at}`` at ``at``, as a date-time trigger does."""

    def __init__(self, at: datetime, **kwargs: Any) -> None:
        super().__init__()
        self.at = at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{__name__}.DueTrigger", {"at": self.at}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(max(0.0, (self.at - datetime.now(UTC)).total_seconds()))
        yield TriggerEvent({"due": self.at})

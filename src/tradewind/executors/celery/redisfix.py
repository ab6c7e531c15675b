"""A worker survives its Redis broker going away while it holds taken messages.

When the connection to Redis breaks, Celery closes it; closing a Redis channel puts the
messages the worker took but has not acknowledged back in their queue, which needs a fresh
connection to Redis. With Redis down (or the connection's details already released) that
raises, and Celery 5.7 ends the worker with "Unrecoverable error" instead of reconnecting: the
tries it runs die with it. Nothing is lost by skipping that restore: the messages stay in
Redis's unacked set and come back after the visibility timeout (where a second delivery is
dropped by the try's claim), and a broker that lost them gets them again from the scheduler's
resend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
_PATCHED = "_tradewind_tolerant"


def install() -> None:
    """Make kombu's Redis ``QoS.restore_unacked`` log instead of raise (once per process)."""
    try:
        from kombu.transport import redis as kombu_redis
    except ImportError:  # the redis client is not installed: no Redis broker here
        return
    qos = kombu_redis.QoS
    if getattr(qos.restore_unacked, _PATCHED, False):
        return
    original: Callable[..., Any] = qos.restore_unacked

    def restore_unacked(self: Any, client: Any = None) -> Any:
        try:
            return original(self, client)
        except Exception as exc:
            log.warning(
                "the broker is away: %d taken messages stay unacknowledged in Redis (%s)",
                len(self._delivered),
                exc,
            )
            self._delivered.clear()
            return None

    setattr(restore_unacked, _PATCHED, True)
    qos.restore_unacked = restore_unacked  # type: ignore[method-assign]

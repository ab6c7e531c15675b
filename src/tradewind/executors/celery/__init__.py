"""The celery executor: task tries on many hosts through Redis or RabbitMQ (see docs/celery.md)."""

from __future__ import annotations

from tradewind.executors.celery.executor import CeleryExecutor

__all__ = ["CeleryExecutor"]

"""Triggers: what a deferred task waits on, run by the triggerer in an asyncio loop.

:class:`~tradewind.triggers.base.BaseTrigger` and :class:`~tradewind.triggers.base.TriggerEvent`
are what a trigger is written with; :mod:`tradewind.triggers.serde` turns a trigger's
arguments and an event's payload into JSON and back.
"""

"""Trigger arguments and event payloads survive their trip through JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tradewind.triggers import serde
from tradewind.triggers.base import TaskFailedEvent, TriggerError, TriggerEvent, build_trigger


def test_values_come_back_as_they_went() -> None:
    value = {
        "moment": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 2),
        "at": dt.time(6, 30),
        "wait": dt.timedelta(minutes=5),
        "pair": (1, "a"),
        "tags": {"x", "y"},
        "by_number": {1: "one"},
        "plain": [1, 2.5, None, True, "s", {"nested": [dt.timedelta(seconds=1)]}],
    }
    assert serde.decode(json.loads(json.dumps(serde.encode(value)))) == value


def test_a_value_json_cannot_carry_is_refused_by_name() -> None:
    with pytest.raises(serde.SerdeError, match="object value"):
        serde.encode({"thing": object()})


def test_events_and_bad_class_paths() -> None:
    assert TriggerEvent({"a": 1}).payload == {"a": 1}
    assert TaskFailedEvent("boom").payload == "boom"
    with pytest.raises(TriggerError, match="cannot import trigger"):
        build_trigger("no.such.Trigger", {})
    with pytest.raises(TriggerError, match="is not a trigger"):
        build_trigger("datetime.datetime", {})

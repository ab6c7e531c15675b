"""Trigger rules and weight rules, with the names Airflow uses."""

from __future__ import annotations

import enum


class TriggerRule(enum.StrEnum):
    """When a task may run, given the states of its direct upstream tasks."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    # A teardown's rule: once every upstream task is done, run if one of its setups succeeded.
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"


# Old Airflow names that DAG files still use.
TRIGGER_RULE_ALIASES = {
    "none_failed_or_skipped": TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
    "dummy": TriggerRule.ALWAYS,
}


class WeightRule(enum.StrEnum):
    """How a task's effective priority weight is computed from its own and its relatives'."""

    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"


def parse_trigger_rule(value: object) -> TriggerRule:
    """Return the TriggerRule for ``value``; ValueError listing the valid rules if unknown."""
    if isinstance(value, TriggerRule):
        return value
    if isinstance(value, str):
        alias = TRIGGER_RULE_ALIASES.get(value)
        if alias is not None:
            return alias
        try:
            return TriggerRule(value)
        except ValueError:
            pass
    valid = ", ".join(rule.value for rule in TriggerRule)
    raise ValueError(f"unknown trigger rule {value!r}; valid rules are: {valid}")


def parse_weight_rule(value: object) -> WeightRule:
    """Return the WeightRule for ``value``; ValueError listing the valid rules if unknown."""
    if isinstance(value, WeightRule):
        return value
    if isinstance(value, str):
        try:
            return WeightRule(value)
        except ValueError:
            pass
    valid = ", ".join(rule.value for rule in WeightRule)
    raise ValueError(f"unknown weight rule {value!r}; valid rules are: {valid}")

"""A DAG's asset condition, as its serialized JSON, evaluated against the assets updated since
its last asset-triggered run (pure: the scheduler and the web server call it).

``{"asset": {"uri": ...}}`` is met when that asset was updated; ``{"alias": {"name": ...}}``
when any asset the alias resolved to was; ``{"all": [...]}`` and ``{"any": [...]}`` combine.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any


def is_met(
    condition: Mapping[str, Any],
    updated: Collection[str],
    aliases: Mapping[str, Collection[str]] | None = None,
) -> bool:
    """Whether ``condition`` holds when the assets with the URIs ``updated`` were updated;
    ``aliases``: the URIs each alias (by name) resolved to."""
    resolved = aliases or {}
    if "asset" in condition:
        return str(condition["asset"]["uri"]) in updated
    if "alias" in condition:
        return any(uri in updated for uri in resolved.get(str(condition["alias"]["name"]), ()))
    if "all" in condition:
        return all(is_met(part, updated, resolved) for part in condition["all"])
    if "any" in condition:
        return any(is_met(part, updated, resolved) for part in condition["any"])
    return False


def asset_uris(condition: Mapping[str, Any] | None) -> list[str]:
    """The URIs of the assets the condition names, in order, each once."""
    return list(dict.fromkeys(spec["uri"] for kind, spec in leaves(condition) if kind == "asset"))


def alias_names(condition: Mapping[str, Any] | None) -> list[str]:
    """The names of the aliases the condition names, in order, each once."""
    return list(dict.fromkeys(spec["name"] for kind, spec in leaves(condition) if kind == "alias"))


def leaves(condition: Mapping[str, Any] | None) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The ``("asset", spec)`` and ``("alias", spec)`` leaves of a condition."""
    if not condition:
        return
    for kind in ("asset", "alias"):
        if kind in condition:
            yield kind, condition[kind]
    for kind in ("all", "any"):
        for part in condition.get(kind, ()):
            yield from leaves(part)


def describe(condition: Mapping[str, Any] | None) -> str:
    """The condition in words: ``a & (b | c)``."""
    if not condition:
        return ""
    if "asset" in condition:
        return str(condition["asset"].get("name") or condition["asset"]["uri"])
    if "alias" in condition:
        return f"alias {condition['alias']['name']}"
    joiner = " & " if "all" in condition else " | "
    parts = [describe(part) for part in condition.get("all", condition.get("any", ()))]
    text = joiner.join(parts)
    return f"({text})" if len(parts) > 1 else text

"""What a DAG scheduled on assets waits for: its condition in words, and for each asset (or
alias) of the condition whether events of it are queued for the DAG (updated since its last
asset-triggered run) or not yet. The DAG pages' header and details show it.

One query for a DAG scheduled on assets (two when its condition names aliases); none for
other DAGs, whose pages never call this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tradewind.metastore.store import assetqueue, assetviews
from tradewind.parsing import assetcond

SHOWN = 3  # waiting assets named in the summary; the details tab lists them all


@dataclass(frozen=True)
class Leaf:
    """An asset or alias of the condition, with the events of it queued for the DAG."""

    kind: str  # "asset" or "alias"
    label: str  # the asset's URI, or "alias <name>"
    asset_id: int | None
    events: int
    latest: datetime | None

    @property
    def updated(self) -> bool:
        return self.events > 0


@dataclass(frozen=True)
class AssetWait:
    description: str
    leaves: list[Leaf]
    met: bool

    @property
    def waiting(self) -> list[Leaf]:
        return [leaf for leaf in self.leaves if not leaf.updated]

    @property
    def updated(self) -> list[Leaf]:
        return [leaf for leaf in self.leaves if leaf.updated]

    @property
    def summary(self) -> str:
        """``waiting for 1 of 2 assets: s3://b/users``, or that a run is due."""
        if self.met:
            return "condition met: a run is due"
        waiting = self.waiting
        count = len(self.leaves)
        names = ", ".join(leaf.label for leaf in waiting[:SHOWN])
        more = f" and {len(waiting) - SHOWN} more" if len(waiting) > SHOWN else ""
        noun = "asset" if count == 1 else "assets"
        return f"waiting for {len(waiting)} of {count} {noun}: {names}{more}"


def of_dag(session: Session, dag_id: str, condition: Mapping[str, Any]) -> AssetWait:
    """What the DAG with this asset condition (its serialized JSON) waits for."""
    aliases = assetcond.alias_names(condition)
    resolved = assetqueue.alias_assets(session, aliases) if aliases else {}
    uris = assetcond.asset_uris(condition)
    wanted = set(uris).union(*resolved.values())
    queued = assetviews.queued_of(session, dag_id, wanted)
    leaves = []
    for uri in uris:
        found = queued.get(uri)
        if found is None:  # not registered yet (the processor writes it with the DAG)
            leaves.append(Leaf("asset", uri, None, 0, None))
        else:
            leaves.append(Leaf("asset", uri, found.id, found.events, found.latest))
    for name in aliases:
        through = [queued[uri] for uri in sorted(resolved.get(name, ())) if uri in queued]
        times = [q.latest for q in through if q.latest is not None]
        events = sum(q.events for q in through)
        leaves.append(Leaf("alias", f"alias {name}", None, events, max(times, default=None)))
    updated = {uri for uri, found in queued.items() if found.events}
    met = assetcond.is_met(condition, updated, resolved)
    return AssetWait(in_words(condition), leaves, met)


def in_words(condition: Mapping[str, Any]) -> str:
    """The condition in words, without the brackets around the whole of it."""
    text = assetcond.describe(condition)
    parts = condition.get("all") or condition.get("any") or ()
    return text[1:-1] if len(parts) > 1 else text

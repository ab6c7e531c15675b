"""The asset pages: the list of assets (search, pages) with who produces and who is scheduled
on each, the graph of which DAGs feed which through assets, and one asset's page (its
producers, consumers, recent events and the DAGs whose queue holds some of them)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.api import display
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.store import assetreads, assetviews
from tradewind.ui import depgraph
from tradewind.ui.pages import AsViewerPage, page_not_found, render

router = APIRouter()

PAGE_SIZE = 50
RECENT_EVENTS = 50
MOST_ID = 2**31 - 1  # asset ids are 32-bit integers; a bigger number names no asset
Search = Annotated[str, Query(max_length=250)]


def extra_text(extra: dict[str, Any], limit: int) -> str:
    """An event's extra as indented JSON, its start alone when it is long."""
    if not extra:
        return ""
    shown = display.of_json(extra, limit)
    if shown.truncated:
        return f"{shown.value}… ({shown.size} bytes in all)"
    return json.dumps(extra, indent=2, ensure_ascii=False)


@router.get("/assets", response_class=HTMLResponse)
def asset_list(
    request: Request,
    *,
    session: DbSession,
    who: AsViewerPage,
    q: Search = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    found = assetviews.page_assets(
        session, q.strip() or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    ids = [row.id for row in found.assets]

    def link(**change: Any) -> str:
        params: dict[str, Any] = {"q": q, "page": page}
        params.update(change)
        kept = {k: v for k, v in params.items() if v not in ("", None, 1)}
        return "/assets" + ("?" + urlencode(kept) if kept else "")

    return render(
        request,
        "assets.html",
        who,
        assets=found.assets,
        total=found.total,
        producers=assetviews.producers(session, ids),
        consumers=assetviews.consumers(session, ids),
        q=q,
        page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)),
        first=(page - 1) * PAGE_SIZE + 1,
        link=link,
        view="list",
    )


@router.get("/assets/dependencies", response_class=HTMLResponse)
def dependency_graph(
    request: Request, *, session: DbSession, who: AsViewerPage, q: Search = ""
) -> HTMLResponse:
    deps = assetviews.dependencies(session)
    edges = depgraph.edges_of(deps)
    if q.strip():
        edges = depgraph.matching(deps, edges, q.strip())
    count = len({key for edge in edges for key in edge})
    drawing = depgraph.draw(deps, edges) if edges and count <= depgraph.MOST_NODES else None
    return render(
        request,
        "asset_deps.html",
        who,
        drawing=drawing,
        node_count=count,
        most_nodes=depgraph.MOST_NODES,
        q=q,
        view="graph",
    )


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(
    request: Request, asset_id: str, *, session: DbSession, who: AsViewerPage, web: Web
) -> HTMLResponse:
    known = asset_id.isascii() and asset_id.isdigit() and int(asset_id) <= MOST_ID
    asset = assetviews.get_asset(session, int(asset_id)) if known else None
    if asset is None:
        raise page_not_found(f"There is no asset with id {asset_id!r}.")
    events = assetreads.asset_events(session, [asset.uri], limit=RECENT_EVENTS, newest_first=True)
    limit = display.limit_of(web.settings)
    producers = assetviews.producers(session, [asset.id]).get(asset.id, [])
    consumers = assetviews.consumers(session, [asset.id]).get(asset.id, [])
    deps = depgraph.around_asset(asset.id, asset.uri, asset.name, producers, consumers)
    edges = depgraph.edges_of(deps)
    return render(
        request,
        "asset.html",
        who,
        asset=asset,
        asset_extra=extra_text(asset.extra, limit),
        producers=producers,
        consumers=consumers,
        waiting=assetviews.waiting(session, asset.id),
        events=events,
        extras={event.id: extra_text(event.extra, limit) for event in events},
        triggered=assetviews.run_triggers(session, [event.id for event in events]),
        drawing=depgraph.draw(deps, edges) if edges else None,
    )

"""The graph page in headless Chromium over a real web server and scheduler: nested task
groups expanded are boxes holding their members (and only them), the last node is in view,
the state stripes follow the run, and the wheel, a drag and the zoom buttons move the view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import live_ui
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

pytestmark = [sqlite_only, pytest.mark.timeout(240)]

DAG = """
with DAG("ui_graph", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("outer") as outer:
        prep = EmptyOperator(task_id="prep")
        with TaskGroup("inner") as inner:
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        with TaskGroup("side") as side:
            EmptyOperator(task_id="s1") >> EmptyOperator(task_id="s2")
        prep >> [inner, side]
    tail = [EmptyOperator(task_id=f"tail{i}") for i in range(6)]
    start >> outer >> tail[0]
    for up, down in zip(tail, tail[1:]):
        up >> down
    tail[-1] >> EmptyOperator(task_id="end")
    start >> tail[3]
"""


@pytest.fixture
def browser_page(web: Web, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """A Chromium page logged in as a viewer, the web server and the scheduler running."""
    web.system.add_dag("ui_graph", DAG)
    with live_ui(web, request.config) as running:
        yield running.page("viewer"), running.base


Box = dict[str, float]


def contains(outer: Box, inner: Box, slack: float = 0.5) -> bool:
    return (
        outer["x"] - slack <= inner["x"]
        and outer["y"] - slack <= inner["y"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def overlaps(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_nested_groups_zoom_and_pan(browser_page: tuple[Any, str], web: Web) -> None:
    from playwright.sync_api import expect

    page, base = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    run_id = web.system.trigger("ui_graph")
    page.goto(f"{base}/dags/ui_graph/graph")
    # Expand the outer group, then the inner one, with their nodes' links.
    page.click('g.node[data-t="group:outer"] a')
    page.wait_for_selector('g.group-box[data-g="outer"]')
    page.click('g.node[data-t="group:outer.inner"] a')
    page.wait_for_selector('g.group-box[data-g="outer.inner"]')
    assert "open=outer,outer.inner" in page.url
    # The stripes follow the run until it is done.
    expect(page.locator('g.node[data-t="end"] rect.stripe')).to_have_class(
        re.compile(r"\bs-success\b"), timeout=60_000
    )
    assert web.system.run_state("ui_graph", run_id) == "success"

    def box(selector: str) -> Box:
        found = page.locator(selector).bounding_box()
        assert found is not None, selector
        return dict(found)

    def node(key: str) -> Box:
        return box(f'g.node[data-t="{key}"] rect.box')

    outer = box('g.group-box[data-g="outer"] rect.groupbox')
    inner = box('g.group-box[data-g="outer.inner"] rect.groupbox')
    inside_outer = ["outer.prep", "outer.inner.a", "outer.inner.b", "group:outer.side"]
    for key in inside_outer:
        assert contains(outer, node(key)), key
    for key in ("start", "tail0", "end"):
        assert not overlaps(outer, node(key)), key
    assert contains(outer, inner)
    for key in ("outer.inner.a", "outer.inner.b"):
        assert contains(inner, node(key)), key
    for key in ("outer.prep", "group:outer.side"):  # the collapsed sibling is not swallowed
        assert not overlaps(inner, node(key)), key
    # Each box's label shows, inside the box and clear of its members.
    for group_id, members in (("outer", inside_outer), ("outer.inner", inside_outer[1:3])):
        label = page.locator(f'g.group-box[data-g="{group_id}"] text.grouplabel')
        expect(label).to_contain_text(group_id.rsplit(".", 1)[-1])
        text = box(f'g.group-box[data-g="{group_id}"] text.grouplabel')
        assert contains(box(f'g.group-box[data-g="{group_id}"] rect.groupbox'), text)
        for key in members:
            assert not overlaps(text, node(key)), (group_id, key)
    assert not overlaps(box('g.group-box[data-g="outer"] text.grouplabel'), inner)
    # The whole graph is in view, the last node too.
    frame = box(".graph-wrap")
    for key in ("start", "end", "tail5"):
        assert contains(frame, node(key)), key

    view = page.locator("svg.graph g.viewport")
    fitted = view.get_attribute("transform")
    assert fitted
    page.click("#graph-zoom-in")
    expect(view).not_to_have_attribute("transform", fitted)
    zoomed = view.get_attribute("transform")
    assert scale(zoomed) == pytest.approx(scale(fitted) * 1.25, rel=1e-3)
    page.click("#graph-zoom-out")
    assert scale(view.get_attribute("transform")) == pytest.approx(scale(fitted), rel=1e-3)
    # The wheel zooms around the cursor: the point under it stays put.
    before = node("end")
    x, y = before["x"] + before["width"] / 2, before["y"] + before["height"] / 2
    page.mouse.move(x, y)
    unzoomed = view.get_attribute("transform") or ""
    page.mouse.wheel(0, -400)
    expect(view).not_to_have_attribute("transform", unzoomed)
    after = node("end")
    assert scale(view.get_attribute("transform")) > scale(fitted)
    assert after["width"] > before["width"]
    assert after["x"] <= x <= after["x"] + after["width"]
    assert after["y"] <= y <= after["y"] + after["height"]
    # A drag pans by as much as the pointer moved.
    moved_from = translate(view.get_attribute("transform"))
    page.mouse.move(frame["x"] + 6, frame["y"] + 6)
    page.mouse.down()
    page.mouse.move(frame["x"] + 60, frame["y"] + 30, steps=5)
    page.mouse.move(frame["x"] + 106, frame["y"] + 46, steps=5)
    page.mouse.up()
    moved_to = translate(view.get_attribute("transform"))
    assert moved_to[0] - moved_from[0] == pytest.approx(100, abs=1)
    assert moved_to[1] - moved_from[1] == pytest.approx(40, abs=1)
    # ... from a node too, without following its link.
    start = node("tail2")
    moved_from = translate(view.get_attribute("transform"))
    page.mouse.move(start["x"] + 20, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(start["x"] - 10, start["y"] + 30, steps=5)
    page.mouse.move(start["x"] - 30, start["y"] + 40, steps=5)
    page.mouse.up()
    moved_to = translate(view.get_attribute("transform"))
    assert moved_to[0] - moved_from[0] == pytest.approx(-50, abs=1)
    assert moved_to[1] - moved_from[1] == pytest.approx(30, abs=1)
    assert "open=outer,outer.inner" in page.url  # a drag is no click
    # Fit brings it all back in view.
    page.click("#graph-fit")
    expect(view).to_have_attribute("transform", fitted)
    for key in ("start", "end"):
        assert contains(frame, node(key)), key
    # The keyboard: + zooms in, an arrow pans, 0 fits.
    page.focus("svg.graph")
    page.keyboard.press("+")
    assert scale(view.get_attribute("transform")) == pytest.approx(scale(fitted) * 1.25, rel=1e-3)
    before_pan = translate(view.get_attribute("transform"))
    page.keyboard.press("ArrowLeft")
    assert translate(view.get_attribute("transform"))[0] == pytest.approx(before_pan[0] + 60)
    page.keyboard.press("0")
    assert errors == []


def scale(transform: str | None) -> float:
    found = re.search(r"scale\(([-\d.]+)\)", transform or "")
    assert found, transform
    return float(found.group(1))


def translate(transform: str | None) -> tuple[float, float]:
    found = re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", transform or "")
    assert found, transform
    return float(found.group(1)), float(found.group(2))

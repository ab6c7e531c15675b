"""dag_display_name, task_display_name and group_display_name in the UI: shown as the labels
of the DAG page, grid rows and graph nodes, while URLs keep the ids."""

from __future__ import annotations

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_pages import login
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

NAMED = """
with DAG("named_ids", schedule=None, dag_display_name="Nightly Sales Load"):
    with TaskGroup("stage", group_display_name="Staging Area"):
        PythonOperator(task_id="pull", python_callable=lambda: 1,
                       task_display_name="Pull the files")
    EmptyOperator(task_id="done", task_display_name="All done")
"""


@sqlite_only
def test_display_names_label_the_dag_page_grid_and_graph(web: Web) -> None:
    web.system.add_dag("named_ids", NAMED)
    client = web.client
    login(client, "viewer")
    listed = client.get("/dags").text
    assert 'href="/dags/named_ids"' in listed
    assert ">Nightly Sales Load</a>" in listed
    grid = client.get("/dags/named_ids")
    assert grid.status_code == 200
    assert "<h1" in grid.text
    assert "Nightly Sales Load</h1>" in grid.text
    for label in ("Pull the files", "All done", "Staging Area"):
        assert label in grid.text, label
    # Ids stay in links and row keys.
    assert "/dags/named_ids/" in grid.text
    assert "stage.pull" in grid.text
    graph = client.get("/dags/named_ids/graph?open=stage").text
    for label in ("Nightly Sales Load", "Pull the files", "All done"):
        assert label in graph, label
    collapsed = client.get("/dags/named_ids/graph").text
    assert "Staging Area" in collapsed

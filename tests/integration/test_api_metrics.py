"""``GET /metrics``: what Prometheus scrapes, read from the metastore."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

GATED = """
with DAG("gated", schedule=None):
    PythonOperator(
        task_id="waits",
        python_callable=work,
        op_kwargs={"journal": JOURNAL, "gate": GATE},
    ) >> EmptyOperator(task_id="after")
"""


def samples(web: Web) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = web.get("/metrics", user="viewer")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_follow_a_run(web: Web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = tmp_path / "gate"
    body = GATED.replace("JOURNAL", repr(str(tmp_path / "journal"))).replace(
        "GATE", repr(str(gate))
    )
    web.system.add_dag("gated", body)
    run_id = web.system.trigger("gated")
    web.system.run_until(lambda: web.system.state("gated", run_id, "waits") == "running")
    during = samples(web)
    assert during[("tradewind_task_instances", (("state", "running"),))] == 1
    assert during[("tradewind_dag_runs", (("state", "running"),))] == 1
    assert during[("tradewind_pool_slots", (("pool", "default_pool"), ("use", "running")))] == 1
    assert during[("tradewind_dags", (("paused", "false"),))] == 1
    assert during[("tradewind_import_errors", ())] == 0
    assert during[("tradewind_scheduler_heartbeat_age_seconds", ())] >= 0
    gate.touch()
    assert web.system.wait("gated", run_id) == "success"
    after = samples(web)
    assert after[("tradewind_task_instances", (("state", "running"),))] == 0
    assert after[("tradewind_dag_runs", (("state", "success"),))] == 1


@sqlite_only
def test_metrics_need_a_login(web: Web) -> None:
    assert web.client.get("/metrics").status_code == 401

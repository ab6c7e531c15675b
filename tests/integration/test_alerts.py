"""E-mail alerts and notifiers through the real scheduler, local executor and task processes,
against an SMTP server (aiosmtpd) and an HTTP endpoint the tests start: email_on_failure,
email_on_retry, SmtpNotifier and WebhookNotifier in on_failure_callback lists (Airflow's import
paths), and a mail server that refuses or is down (logged; the run still finishes)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from receivers import http_receiver, self_signed, smtp_receiver
from scheduling import System, make_system_fixture, poll, sqlite_only  # noqa: F401
from webtest import free_port

from tradewind import tasklogs
from tradewind.parsing.processor import DagProcessor
from tradewind.states import DagRunState
from tradewind.workloads import TaskKey

pytestmark = [sqlite_only, pytest.mark.timeout(180)]

BASE_URL = "https://tradewind.example.com/"


def _system(make_system: Callable[..., System], port: int, **smtp: Any) -> System:
    return make_system(
        smtp={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, **smtp},
        email={"from_email": "tradewind@example.org"},
        webserver={"base_url": BASE_URL},
    )


def _link(dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    return (
        f"https://tradewind.example.com/dags/{dag_id}/runs/{quote(run_id, safe='')}"
        f"/tasks/{task_id}?try_number={try_number}"
    )


def _try_log(system: System, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    key = TaskKey(dag_id, run_id, task_id, -1, try_number)
    return tasklogs.log_path(system.settings.logging.base_log_folder, key).read_text()


FAILING = """
def boom():
    raise ValueError("the input file is empty")


def mark(context):
    Path({marker!r}).write_text(context["ti"].task_id)


with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1),
         default_args={{"email": ["ops@example.com", "lead@example.com"]}}) as dag:
    PythonOperator(task_id="load", python_callable=boom, on_failure_callback=mark{extra})
"""


def test_email_on_failure_sends_a_mail_with_the_log_link(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    with smtp_receiver() as smtp:
        system = _system(make_system, smtp.port)
        marker = tmp_path / "failed"
        system.add_dag("mail", FAILING.format(dag_id="mail", marker=str(marker), extra=""))
        run_id = system.trigger("mail")
        assert system.wait("mail", run_id) == DagRunState.FAILED.value
        mail = smtp.get()
    assert sorted(mail.recipients) == ["lead@example.com", "ops@example.com"]
    assert mail.sender == "tradewind@example.org"
    assert mail.subject == f"tradewind alert: mail.load failed ({run_id})"
    assert "Try 1 out of 1" in mail.body
    assert "ValueError: the input file is empty" in mail.body
    assert _link("mail", run_id, "load", 1).replace("&", "&amp;") in mail.body
    assert poll(marker.exists)
    assert "Sent the failed e-mail to ops@example.com" in _try_log(
        system, "mail", run_id, "load", 1
    )


RETRIED = """
def boom():
    raise RuntimeError("flaky upstream")


def mark(context):
    Path({marker!r}).write_text("done")


with DAG("retried", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="fetch", python_callable=boom, retries=1, retry_delay=0,
                   email="ops@example.com", email_on_retry=True, email_on_failure=False,
                   on_failure_callback=mark)
"""


def test_email_on_retry_sends_one_mail_for_the_retried_try(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    marker = tmp_path / "final"
    with smtp_receiver() as smtp:
        system = _system(make_system, smtp.port)
        system.add_dag("retried", RETRIED.format(marker=str(marker)))
        run_id = system.trigger("retried")
        assert system.wait("retried", run_id) == DagRunState.FAILED.value
        mail = smtp.get()
        # The last try's callback runs after its (unwanted) mail would have gone.
        assert poll(marker.exists)
        later = smtp.pending()
    assert mail.recipients == ["ops@example.com"]
    assert mail.subject == f"tradewind alert: retried.fetch up for retry ({run_id})"
    assert "Try 1 out of 2" in mail.body
    assert "RuntimeError: flaky upstream" in mail.body
    assert later == []


NOTIFIERS = """
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.notifications.basenotifier import BaseNotifier
from tradewind.alerts import WebhookNotifier


def boom():
    raise KeyError("customer_id")


def plain(context):
    Path({marker!r}).write_text(context["ti"].log_url)


with DAG("notified", schedule=None, start_date=datetime(2024, 1, 1),
         on_failure_callback=WebhookNotifier(url={hook!r} + "/run")) as dag:
    PythonOperator(
        task_id="transform",
        python_callable=boom,
        on_failure_callback=[
            SmtpNotifier(
                to="oncall@example.com",
                subject="{{{{ dag.dag_id }}}}.{{{{ ti.task_id }}}} failed on try "
                "{{{{ ti.try_number }}}}",
                html_content="<p>{{{{ exception }}}}</p><a href='{{{{ ti.log_url }}}}'>log</a>",
            ),
            WebhookNotifier(url={hook!r} + "/chat", headers={{"X-Token": "{{{{ run_id }}}}"}},
                            json={{"text": "{{{{ ti.task_id }}}} failed: {{{{ log_url }}}}"}}),
            WebhookNotifier(url={hook!r} + "/default"),
            plain,
        ],
    )
"""


def test_notifiers_in_an_on_failure_callback_list(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    marker = tmp_path / "plain"
    with smtp_receiver() as smtp, http_receiver() as hook:
        system = _system(make_system, smtp.port)
        system.add_dag("notified", NOTIFIERS.format(marker=str(marker), hook=hook.url))
        run_id = system.trigger("notified")
        assert system.wait("notified", run_id) == DagRunState.FAILED.value
        mail = smtp.get()
        got = [hook.get(), hook.get(), hook.get()]
        assert poll(marker.exists)
    link = _link("notified", run_id, "transform", 1)
    assert mail.recipients == ["oncall@example.com"]
    assert mail.subject == "notified.transform failed on try 1"
    assert "customer_id" in mail.body
    assert f"href='{link}'" in mail.body or f'href="{link}"' in mail.body.replace("&amp;", "&")
    requests = {request.path: request for request in got}
    chat = requests["/chat"]
    assert chat.method == "POST"
    assert chat.headers["X-Token"] == run_id
    assert json.loads(chat.body) == {"text": f"transform failed: {link}"}
    default = json.loads(requests["/default"].body)
    assert default["dag_id"] == "notified"
    assert default["task_id"] == "transform"
    assert default["run_id"] == run_id
    assert default["log_url"] == link
    assert "customer_id" in default["exception"]
    assert marker.read_text() == link
    # The DAG's own callback (a notifier too) links to the run in the grid.
    run = json.loads(requests["/run"].body)
    assert run["dag_id"] == "notified"
    assert run["task_id"] is None
    assert (
        run["log_url"]
        == f"https://tradewind.example.com/dags/notified?run={quote(run_id, safe='')}"
    )


@pytest.mark.parametrize("server", ["refusing", "down"])
def test_a_mail_server_that_refuses_or_is_down_is_logged(
    make_system: Callable[..., System], tmp_path: Path, server: str
) -> None:
    marker = tmp_path / "failed"
    body = FAILING.format(dag_id="unmailed", marker=str(marker), extra="")
    if server == "refusing":
        with smtp_receiver(refuse=True) as smtp:
            system = _system(make_system, smtp.port)
            system.add_dag("unmailed", body)
            run_id = system.trigger("unmailed")
            assert system.wait("unmailed", run_id) == DagRunState.FAILED.value
            assert poll(marker.exists)
            assert smtp.pending() == []
    else:
        system = _system(make_system, free_port(), smtp_retry_limit=2)
        system.add_dag("unmailed", body)
        run_id = system.trigger("unmailed")
        assert system.wait("unmailed", run_id) == DagRunState.FAILED.value
        assert poll(marker.exists)
    log = _try_log(system, "unmailed", run_id, "load", 1)
    assert "The failed e-mail to ops@example.com, lead@example.com was not sent" in log
    assert ("refused" if server == "refusing" else "after 2 tries") in log
    # The callbacks after the mail ran, and the scheduler goes on with other runs.
    assert marker.read_text() == "load"
    second = system.trigger("unmailed")
    assert system.wait("unmailed", second) == DagRunState.FAILED.value


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_mail_goes_over_tls(
    make_system: Callable[..., System],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tls: str,
) -> None:
    cert = self_signed(tmp_path)
    # The tries trust the test's certificate (and only it).
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    marker = tmp_path / "failed"
    with smtp_receiver(tls=tls, cert=cert) as smtp:
        system = _system(
            make_system,
            smtp.port,
            smtp_starttls=tls == "starttls",
            smtp_ssl=tls == "ssl",
            smtp_user="",
        )
        system.add_dag("tls", FAILING.format(dag_id="tls", marker=str(marker), extra=""))
        run_id = system.trigger("tls")
        assert system.wait("tls", run_id) == DagRunState.FAILED.value
        mail = smtp.get()
    assert mail.subject == f"tradewind alert: tls.load failed ({run_id})"


def test_starttls_asked_of_a_server_without_it_sends_nothing_in_clear(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    marker = tmp_path / "failed"
    with smtp_receiver() as smtp:
        system = _system(make_system, smtp.port, smtp_starttls=True)
        system.add_dag("clear", FAILING.format(dag_id="clear", marker=str(marker), extra=""))
        run_id = system.trigger("clear")
        assert system.wait("clear", run_id) == DagRunState.FAILED.value
        assert poll(marker.exists)
        assert smtp.pending() == []
    log = _try_log(system, "clear", run_id, "load", 1)
    assert "The failed e-mail to ops@example.com, lead@example.com was not sent" in log
    assert "STARTTLS" in log


def test_a_mail_server_that_never_answers_holds_up_nothing_but_the_mail(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    marker = tmp_path / "failed"
    # A server that takes connections and never says a word.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        system = _system(make_system, silent.getsockname()[1], smtp_timeout=3, smtp_retry_limit=1)
        system.add_dag("hung", FAILING.format(dag_id="hung", marker=str(marker), extra=""))
        system.add_dag(
            "other",
            """
            with DAG("other", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
                EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
            """,
        )
        run_id = system.trigger("hung")
        # The try reported its failure before mailing: the run ends, other runs go on.
        assert system.wait("hung", run_id) == DagRunState.FAILED.value
        other = system.trigger("other")
        assert system.wait("other", other) == DagRunState.SUCCESS.value
        # The mail gives up at smtp_timeout; then the callbacks run.
        assert poll(marker.exists)
    log = _try_log(system, "hung", run_id, "load", 1)
    assert "The failed e-mail to ops@example.com, lead@example.com was not sent" in log


AIRFLOW_FILE = """
from datetime import datetime, timedelta

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import dag, task

default_args = {
    "owner": "data",
    "email": ["ops@example.com"],
    "email_on_failure": True,
    "email_on_retry": True,
    "retries": 1,
    "retry_delay": timedelta(seconds=0),
}


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, default_args=default_args)
def airflow_alerts():
    @task(on_failure_callback=SmtpNotifier(
        to="oncall@example.com",
        subject="[airflow] {{ ti.dag_id }}.{{ ti.task_id }} failed",
    ))
    def flaky():
        raise RuntimeError("the warehouse is down")

    flaky()


airflow_alerts()
"""


def test_an_airflow_dag_file_gets_its_mails(make_system: Callable[..., System]) -> None:
    with smtp_receiver() as smtp:
        system = _system(make_system, smtp.port)
        (system.dags / "airflow_alerts.py").write_text(AIRFLOW_FILE)
        DagProcessor(system.settings, system.sessions).scan()
        run_id = system.trigger("airflow_alerts")
        assert system.wait("airflow_alerts", run_id) == DagRunState.FAILED.value
        mails = [smtp.get(), smtp.get(), smtp.get()]
    subjects = sorted((mail.subject, tuple(mail.recipients)) for mail in mails)
    assert subjects == [
        ("[airflow] airflow_alerts.flaky failed", ("oncall@example.com",)),
        (f"tradewind alert: airflow_alerts.flaky failed ({run_id})", ("ops@example.com",)),
        (f"tradewind alert: airflow_alerts.flaky up for retry ({run_id})", ("ops@example.com",)),
    ]

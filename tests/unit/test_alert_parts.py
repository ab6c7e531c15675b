"""Alerts without servers: the [smtp] and [email] settings, alert mails' text and log links,
notifiers' templated fields, deadline alerts (references, checks, serialization) and the
Airflow import paths of all of them."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG
from tradewind.alerts import (
    AsyncCallback,
    BaseNotifier,
    DeadlineAlert,
    DeadlineReference,
    SmtpNotifier,
    SyncCallback,
    WebhookNotifier,
)
from tradewind.authoring.deadline import deadline_of
from tradewind.cli.config import hide_secrets
from tradewind.operators import EmptyOperator
from tradewind.parsing.serialize import deserialize_dag, serialize_dag
from tradewind.runtime import mail
from tradewind.settings import Settings, SettingsError, load_settings

UTC = dt.UTC


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(environ={f"TRADEWIND__{k}": v for k, v in env.items()}, home=tmp_path)


def test_smtp_settings_have_airflow_names_and_defaults(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert settings.smtp.smtp_host == "localhost"
    assert settings.smtp.smtp_port == 25
    assert settings.smtp.smtp_starttls is True
    assert settings.smtp.smtp_ssl is False
    assert settings.smtp.smtp_retry_limit == 5
    assert settings.email.default_email_on_failure is True
    assert settings.webserver.base_url == ""
    changed = _settings(tmp_path, SMTP__SMTP_PORT="2525", SMTP__SMTP_PASSWORD="hunter2")
    assert changed.smtp.smtp_port == 2525
    assert hide_secrets(changed.sections())["smtp"]["smtp_password"] == "***"
    with pytest.raises(SettingsError, match=r"smtp\.smtp_port"):
        _settings(tmp_path, SMTP__SMTP_PORT="0")


class _Ti:
    dag_id, run_id, task_id, map_index, try_number, max_tries, hostname = (
        "etl",
        "manual__2024-01-01T00:00:00+00:00",
        "load",
        3,
        2,
        2,
        "worker-1",
    )


def test_the_log_link_uses_the_base_url(tmp_path: Path) -> None:
    plain = _settings(tmp_path)
    assert mail.log_url(plain, {"ti": _Ti()}) == (
        "http://127.0.0.1:8080/dags/etl/runs/manual__2024-01-01T00%3A00%3A00%2B00%3A00"
        "/tasks/load?map_index=3&try_number=2"
    )
    behind = _settings(tmp_path, WEBSERVER__BASE_URL="https://tw.example.com/")
    assert mail.log_url(behind, {"run_id": "r1", "dag": DAG("etl", schedule=None)}) == (
        "https://tw.example.com/dags/etl?run=r1"
    )


def test_the_alert_mail_names_the_try_and_the_exception(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    context: dict[str, Any] = {
        "ti": _Ti(),
        "run_id": _Ti.run_id,
        "exception": ValueError("<bad> row"),
    }
    subject, body = mail.alert_message(settings, context, "failed")
    assert subject == f"tradewind alert: etl.load failed ({_Ti.run_id})"
    assert "Try 2 out of 3" in body
    assert "ValueError: &lt;bad&gt; row" in body
    assert "Host: worker-1" in body
    template = tmp_path / "subject.j2"
    template.write_text("[{{ ti.dag_id }}] {{ alert_kind }}")
    custom = settings.model_copy(
        update={"email": settings.email.model_copy(update={"subject_template": template})}
    )
    assert mail.alert_message(custom, context, "up for retry")[0] == "[etl] up for retry"


def test_a_notifier_renders_its_fields_on_a_copy() -> None:
    sent: list[Any] = []

    class Chat(BaseNotifier):
        template_fields = ("text",)

        def __init__(self, text: str) -> None:
            self.text = text

        def notify(self, context: Any) -> None:
            sent.append(self.text)

    notifier = Chat("{{ run_id }} failed, see {{ log_url }}")
    notifier({"run_id": "r1", "log_url": "http://x/log"})
    notifier({"run_id": "r2", "log_url": "http://x/log2"})
    assert sent == ["r1 failed, see http://x/log", "r2 failed, see http://x/log2"]
    assert notifier.text == "{{ run_id }} failed, see {{ log_url }}"


def test_notifiers_take_airflow_arguments() -> None:
    smtp = SmtpNotifier(to="a@example.com", subject="s", body="b", from_email="f@example.com")
    assert (smtp.to, smtp.subject, smtp.html_content) == ("a@example.com", "s", "b")
    hook = WebhookNotifier(url="http://x", method="put", json={"a": "{{ run_id }}"})
    assert hook.method == "PUT"
    assert "json" in hook.template_fields
    # Notifiers are callables: they go alone or in lists, with plain callables.
    task = EmptyOperator(task_id="t", on_failure_callback=[smtp, hook, print])
    assert task.on_failure_callback == [smtp, hook, print]


def test_deadline_references() -> None:
    queued = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    logical = dt.datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    fixed = dt.datetime(2024, 6, 1, tzinfo=UTC)
    for reference, expected in [
        (DeadlineReference.DAGRUN_QUEUED_AT, queued + dt.timedelta(minutes=15)),
        (DeadlineReference.DAGRUN_LOGICAL_DATE, logical + dt.timedelta(minutes=15)),
        (DeadlineReference.FIXED_DATETIME(fixed), fixed + dt.timedelta(minutes=15)),
    ]:
        alert = DeadlineAlert(
            reference=reference, interval=dt.timedelta(minutes=15), callback=AsyncCallback(print)
        )
        assert deadline_of(alert.serialize(), queued, logical) == expected
    not_queued = DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=dt.timedelta(minutes=1),
        callback=print,
    )
    assert deadline_of(not_queued.serialize(), None, logical) is None
    with pytest.raises(ValueError, match="aware"):
        DeadlineReference.FIXED_DATETIME(dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timedelta"):
        DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=5, callback=print)  # type: ignore[arg-type]


def test_a_dag_keeps_its_deadlines_through_serialization() -> None:
    alerts = [
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=dt.timedelta(minutes=30),
            callback=SyncCallback(WebhookNotifier, kwargs={"url": "http://x"}),
        ),
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=dt.timedelta(hours=2),
            callback=AsyncCallback("mypackage.alerts.page_oncall"),
        ),
    ]
    with DAG("with_deadlines", schedule=None, deadline=alerts) as dag:
        EmptyOperator(task_id="t")
    assert dag.deadline == alerts
    restored = deserialize_dag(serialize_dag(dag))
    assert [dict(spec) for spec in restored.deadlines] == [
        {
            "reference": "dagrun_queued_at",
            "moment": None,
            "interval": 1800.0,
            "callback": "tradewind.runtime.notifiers.WebhookNotifier",
        },
        {
            "reference": "dagrun_logical_date",
            "moment": None,
            "interval": 7200.0,
            "callback": "mypackage.alerts.page_oncall",
        },
    ]
    with DAG("without", schedule=None) as plain:
        EmptyOperator(task_id="t")
    assert "deadlines" not in serialize_dag(plain)
    with pytest.raises(Exception, match="deadline must be a DeadlineAlert"):
        DAG("bad", schedule=None, deadline="15 minutes")


def test_airflow_import_paths() -> None:
    from tradewind import compat

    source = textwrap.dedent(
        """
        from airflow.notifications.basenotifier import BaseNotifier
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier
        from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, SyncCallback
        from airflow.sdk.bases.notifier import BaseNotifier as SdkNotifier
        from airflow.sdk.definitions.deadline import DeadlineAlert as Alert
        from airflow.utils.email import send_email
        NAMES = (BaseNotifier, SmtpNotifier, AsyncCallback, DeadlineAlert, DeadlineReference,
                 SyncCallback, SdkNotifier, Alert, send_email)
        """
    )
    compat.uninstall()
    assert compat.install()
    namespace: dict[str, Any] = {}
    try:
        exec(compile(source, "uses_airflow.py", "exec"), namespace)
    finally:
        compat.uninstall()
    assert namespace["NAMES"] == (
        BaseNotifier,
        SmtpNotifier,
        AsyncCallback,
        DeadlineAlert,
        DeadlineReference,
        SyncCallback,
        BaseNotifier,
        DeadlineAlert,
        mail.send_email,
    )


def test_a_deadline_callback_gets_its_rendered_kwargs_and_the_context() -> None:
    from tradewind.runtime.deadline_callbacks import call

    got: list[Any] = []

    def sync(team: str, context: Any) -> None:
        got.append(("sync", team, context["run_id"]))

    async def coroutine(team: str, **kwargs: Any) -> None:
        got.append(("async", team, kwargs["context"]["run_id"]))

    def no_context(team: str) -> None:
        got.append(("plain", team))

    class Page(BaseNotifier):
        template_fields = ("team",)

        def __init__(self, team: str) -> None:
            self.team = team

        def notify(self, context: Any) -> None:
            got.append(("notifier", self.team))

    context = {"run_id": "r1", "log_url": "http://x"}
    call(SyncCallback(sync, kwargs={"team": "data-{{ run_id }}"}), context)
    call(AsyncCallback(coroutine, kwargs={"team": "t"}), context)
    call(AsyncCallback(no_context, kwargs={"team": "t"}), context)
    call(AsyncCallback(Page, kwargs={"team": "{{ run_id }}"}), context)
    call(AsyncCallback(Page("made {{ run_id }}")), context)
    assert got == [
        ("sync", "data-r1", "r1"),
        ("async", "t", "r1"),
        ("plain", "t"),
        ("notifier", "r1"),
        ("notifier", "made r1"),
    ]


def test_a_notifier_field_naming_a_template_file_is_rendered_from_it(tmp_path: Path) -> None:
    (tmp_path / "failed.html").write_text("<p>{{ run_id }} failed</p>")
    dag = DAG("files", schedule=None, template_searchpath=str(tmp_path))
    notifier = SmtpNotifier(to="a@example.com", subject="report.txt", html_content="failed.html")
    notifier.render_template_fields({"dag": dag, "run_id": "r1"})
    assert notifier.html_content == "<p>r1 failed</p>"
    assert notifier.subject == "report.txt"


def test_send_email_takes_airflow_arguments_in_airflow_order(tmp_path: Path) -> None:
    attachment = tmp_path / "report.csv"
    attachment.write_text("a,b\n")
    message = mail.send_email(
        "a@example.com; b@example.com",
        "Subject",
        "<p>body</p>",
        [str(attachment)],
        True,  # dryrun: built, not sent
        ["c@example.com"],
        custom_headers={"X-Priority": "1"},
        settings=_settings(tmp_path),
    )
    assert message["To"] == "a@example.com, b@example.com"
    assert message["Cc"] == "c@example.com"
    assert message["From"] == "tradewind@example.com"
    assert message["X-Priority"] == "1"
    assert [part.get_filename() for part in message.iter_attachments()] == ["report.csv"]


@pytest.mark.parametrize("argv", [[], ["not json"], ['[{"dag_id": "d"}]'], ["[1]"], ["a", "b"]])
def test_the_task_alerts_process_refuses_bad_requests_with_its_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from tradewind.runtime import task_callbacks

    assert task_callbacks.main(argv) == 2
    assert (
        "usage: python -m tradewind.runtime.task_callbacks REQUESTS_JSON" in capsys.readouterr().out
    )


def test_a_task_alert_request_goes_over_as_json_and_back() -> None:
    from tradewind.runtime.task_callbacks import Request
    from tradewind.scheduler.callbacks import MAX_ERROR, TaskCallback

    sent = TaskCallback("/dags/a.py", "d", "r", "t", 2, 3, retry=True, error="x" * 5000)
    got = Request.from_json(sent.to_json())
    assert (got.dag_file, got.dag_id, got.run_id, got.task_id) == ("/dags/a.py", "d", "r", "t")
    assert (got.map_index, got.try_number, got.retry) == (2, 3, True)
    assert got.error == "x" * MAX_ERROR

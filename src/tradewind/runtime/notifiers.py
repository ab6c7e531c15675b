"""Notifiers: callbacks that send a message (Airflow's ``BaseNotifier`` and its kin).

A notifier is an object with templated fields; called with a context (as any
``on_*_callback`` is), it renders a copy of itself with that context and calls ``notify``.
It may stand alone or in a list with plain callables::

    on_failure_callback=[SmtpNotifier(to="ops@example.com"), WebhookNotifier(url=...), page_me]

The context holds ``log_url``, the address of the task instance's page in the UI, for
messages to link to. A notifier that fails is logged, and the task's outcome stands.
"""

from __future__ import annotations

import copy
import json as jsonlib
import logging
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from tradewind.authoring import templating
from tradewind.runtime import lookups, mail

log = logging.getLogger(__name__)


def with_log_url(context: Mapping[str, Any]) -> dict[str, Any]:
    """``context`` with ``log_url`` (also set on its ``ti``, as Airflow's ``ti.log_url``)."""
    if "log_url" in context:
        return dict(context)
    try:
        url = mail.log_url(lookups.settings(), context)
    except Exception as exc:  # no settings to build it from: the callbacks still run
        log.warning("No log link for the callbacks: %s", exc)
        return dict(context)
    ti = context.get("ti")
    if ti is not None and hasattr(ti, "__dict__"):
        ti.log_url = url
    return {**context, "log_url": url}


class BaseNotifier:
    """A message to send with the context of a callback: set ``template_fields`` and write
    ``notify(context)``."""

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()

    def render_template_fields(self, context: Mapping[str, Any]) -> None:
        """Render each templated field with ``context`` (in place)."""
        env = templating.template_environment(_dag_of(context))
        ext = tuple(self.template_ext)
        for name in self.template_fields:
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, templating.render_value(value, context, env, ext))

    def notify(self, context: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def __call__(self, *args: Any) -> None:
        # A callback is called with the context; Airflow 2's SLA callbacks passed more.
        context = with_log_url(args[0] if args and isinstance(args[0], Mapping) else {})
        rendered = copy.copy(self)  # the notifier itself stays a template for the next call
        try:
            rendered.render_template_fields(context)
            rendered.notify(context)
        except Exception:
            log.exception("%s failed to send its notification", type(self).__name__)


def _dag_of(context: Mapping[str, Any]) -> Any:
    dag = context.get("dag")
    return dag if hasattr(dag, "template_searchpath") else None


DEFAULT_SUBJECT = (
    "DAG {{ dag.dag_id }}{% if ti is defined %} - Task {{ ti.task_id }}{% endif %}"
    " - Run {{ run_id }}{% if exception is defined %} failed{% endif %}"
)
DEFAULT_HTML = (
    "<p>DAG <b>{{ dag.dag_id }}</b>, run <b>{{ run_id }}</b>"
    "{% if ti is defined %}, task <b>{{ ti.task_id }}</b>, try {{ ti.try_number }}{% endif %}.</p>"
    "{% if exception is defined %}<p>Exception:<br><pre>{{ exception }}</pre></p>{% endif %}"
    '<p>Log: <a href="{{ log_url }}">{{ log_url }}</a></p>'
)


class SmtpNotifier(BaseNotifier):
    """Send a mail through the ``[smtp]`` server (Airflow's smtp provider's ``SmtpNotifier``).

    ``subject`` and ``html_content`` (or ``body``) are templates; by default the mail names
    the DAG, run, task and exception, with a link to the log.
    """

    template_fields = ("from_email", "to", "subject", "html_content", "files", "cc", "bcc")
    template_ext = (".html", ".j2", ".jinja")

    def __init__(
        self,
        *,
        to: str | Sequence[str],
        from_email: str | None = None,
        subject: str | None = None,
        html_content: str | None = None,
        body: str | None = None,
        files: Sequence[str] | None = None,
        cc: str | Sequence[str] | None = None,
        bcc: str | Sequence[str] | None = None,
        smtp_conn_id: str = "smtp_default",
        **_: Any,
    ) -> None:
        self.to = to
        self.from_email = from_email
        self.subject = subject or DEFAULT_SUBJECT
        self.html_content = html_content or body or DEFAULT_HTML
        self.files = list(files or [])
        self.cc = cc
        self.bcc = bcc
        self.smtp_conn_id = smtp_conn_id  # the [smtp] settings are the server

    def notify(self, context: Mapping[str, Any]) -> None:
        mail.send_email(
            self.to,
            str(self.subject),
            str(self.html_content),
            files=self.files,
            cc=self.cc,
            bcc=self.bcc,
            from_email=self.from_email,
        )
        log.info("SmtpNotifier: sent %r to %s", self.subject, self.to)


def default_payload(context: Mapping[str, Any]) -> dict[str, Any]:
    """What a WebhookNotifier without ``json`` or ``body`` sends."""
    ti = context.get("ti")
    dag = context.get("dag")
    exception = context.get("exception")
    payload = {
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": context.get("run_id"),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
        "exception": None if exception is None else str(exception),
        "log_url": context.get("log_url"),
    }
    what = f"{payload['dag_id']}" + (f".{payload['task_id']}" if payload["task_id"] else "")
    failed = " failed" if exception is not None else ""
    payload["text"] = f"{what}{failed} (run {payload['run_id']}): {payload['log_url']}"
    return payload


class WebhookNotifier(BaseNotifier):
    """Send an HTTP request (a chat webhook, an incident tool): ``json`` (templated, sent as
    JSON) or ``body`` (templated text); neither: a JSON summary with ``text`` and ``log_url``.
    A response other than 2xx is an error (logged)."""

    template_fields = ("url", "headers", "json", "body")

    def __init__(
        self,
        *,
        url: str,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        body: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.method = method.upper()
        self.headers = dict(headers or {})
        self.json = json
        self.body = body
        self.timeout = timeout

    def notify(self, context: Mapping[str, Any]) -> None:
        headers = dict(self.headers)
        if self.body is not None:
            data = str(self.body).encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = self.json if self.json is not None else default_payload(context)
            data = jsonlib.dumps(payload, default=str).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(str(self.url), data=data, headers=headers)
        request.method = self.method
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            log.info("WebhookNotifier: %s %s answered %s", self.method, self.url, response.status)

"""E-mail over SMTP: :func:`send_email` (Airflow's ``airflow.utils.email.send_email``) and the
alerts of ``email_on_failure`` / ``email_on_retry``.

Mails are sent from the process of the try (after its outcome has been reported) or of a
callback, never from the scheduler. A mail server that refuses or does not answer is logged by
:func:`send_alert`; the outcome of the task stands.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from tradewind.runtime import lookups
from tradewind.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SUBJECT = (
    "tradewind alert: {{ ti.dag_id }}.{{ ti.task_id }} {{ alert_kind }} ({{ run_id }})"
)
DEFAULT_HTML = """\
<p>Task <b>{{ ti.task_id }}</b>{% if ti.map_index >= 0 %} [{{ ti.map_index }}]{% endif %} \
of DAG <b>{{ ti.dag_id }}</b>, run <b>{{ run_id }}</b>: {{ alert_kind }}.</p>
<p>Try {{ ti.try_number }} out of {{ ti.max_tries + 1 }}<br>
Exception:<br><pre>{{ exception_text }}</pre><br>
Log: <a href="{{ log_url }}">{{ log_url }}</a><br>
Host: {{ ti.hostname }}</p>
"""


class MailError(Exception):
    """The mail could not be sent (the message says why)."""


def _addresses(value: str | Iterable[str] | None) -> list[str]:
    """Airflow's address lists: a list, or one string of addresses separated by , or ;."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return [part.strip() for part in value if part and part.strip()]


def send_email(  # noqa: PLR0917 - Airflow's send_email, argument for argument
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: Sequence[str] | None = None,
    dryrun: bool = False,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    conn_id: str | None = None,
    custom_headers: Mapping[str, str] | None = None,
    *,
    from_email: str | None = None,
    settings: Settings | None = None,
    **_: Any,
) -> EmailMessage:
    """Send an HTML mail through the ``[smtp]`` server (``dryrun``: only build it); the message
    is returned; :class:`MailError` when it cannot be sent. ``conn_id`` and ``mime_subtype``
    are Airflow's and change nothing here (the server is ``[smtp]``)."""
    current = settings or lookups.settings()
    recipients = _addresses(to)
    if not recipients:
        raise MailError("no recipient")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = from_email or current.email.from_email or current.smtp.smtp_mail_from
    message["To"] = ", ".join(recipients)
    if cc:
        message["Cc"] = ", ".join(_addresses(cc))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid()
    for name, value in (custom_headers or {}).items():
        message[name] = value
    message.set_content(html_content, subtype="html", charset=mime_charset)
    for name in files or ():
        path = Path(name)
        message.add_attachment(
            path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name
        )
    if not dryrun:
        _deliver(current, message, recipients + _addresses(cc) + _addresses(bcc))
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    smtp = settings.smtp
    if smtp.smtp_ssl:
        return smtplib.SMTP_SSL(
            smtp.smtp_host,
            smtp.smtp_port,
            timeout=smtp.smtp_timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(smtp.smtp_host, smtp.smtp_port, timeout=smtp.smtp_timeout)


def _deliver(settings: Settings, message: EmailMessage, recipients: list[str]) -> None:
    smtp = settings.smtp
    for attempt in range(1, smtp.smtp_retry_limit + 1):
        try:
            server = _connect(settings)
            break
        except (OSError, smtplib.SMTPException) as exc:
            if attempt == smtp.smtp_retry_limit:
                raise MailError(
                    f"cannot reach the mail server {smtp.smtp_host}:{smtp.smtp_port} "
                    f"after {attempt} tries: {exc}"
                ) from exc
            time.sleep(min(0.2 * attempt, 2.0))  # a back-off between connection tries
    try:
        with server:
            if smtp.smtp_starttls and not smtp.smtp_ssl:
                # Not "when offered": a server that does not offer it gets no mail in clear.
                server.starttls(context=ssl.create_default_context())
            if smtp.smtp_user:
                server.login(smtp.smtp_user, smtp.smtp_password)
            server.send_message(message, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"the mail server {smtp.smtp_host}:{smtp.smtp_port} refused: {exc}"
        ) from exc


def log_url(settings: Settings, context: Mapping[str, Any]) -> str:
    """The address of the task instance's page in the UI (its log, try by try)."""
    web = settings.webserver
    base = web.base_url.rstrip("/") or f"http://{web.host}:{web.port}"
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "")
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or ""
    url = f"{base}/dags/{quote(str(dag_id), safe='')}"
    task_id = getattr(ti, "task_id", None)
    if task_id is None:  # a run's alert: the grid, with the run chosen
        return f"{url}?run={quote(str(run_id), safe='')}" if run_id else url
    url += f"/runs/{quote(str(run_id), safe='')}/tasks/{quote(str(task_id), safe='')}"
    query = [f"try_number={getattr(ti, 'try_number', 1)}"]
    map_index = getattr(ti, "map_index", -1)
    if map_index >= 0:
        query.insert(0, f"map_index={map_index}")
    return f"{url}?{'&'.join(query)}"


def _template(path: Path | None, default: str) -> str:
    if path is None:
        return default
    return path.read_text(encoding="utf-8")


def alert_message(settings: Settings, context: Mapping[str, Any], kind: str) -> tuple[str, str]:
    """The subject and HTML body of an ``email_on_failure`` (``kind`` "failed") or
    ``email_on_retry`` ("up for retry") mail, from the ``[email]`` templates."""
    exception = context.get("exception")
    text = "" if exception is None else str(exception)
    if isinstance(exception, BaseException):
        text = "".join(traceback.format_exception_only(type(exception), exception)).strip()
    values = {
        **context,
        "alert_kind": kind,
        "log_url": log_url(settings, context),
        "exception_text": text,
        "exception_html": html.escape(text),
    }
    env = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
    env.filters["e"] = html.escape
    subject = env.from_string(_template(settings.email.subject_template, DEFAULT_SUBJECT))
    body_env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    body = body_env.from_string(_template(settings.email.html_content_template, DEFAULT_HTML))
    return subject.render(values).strip(), body.render(values)


def send_alert(task: Any, context: Mapping[str, Any], kind: str) -> bool:
    """Mail the task's ``email`` about this try; a failure to send is logged, never raised."""
    recipients = _addresses(getattr(task, "email", None))
    if not recipients:
        return False
    try:
        settings = lookups.settings()
        subject, body = alert_message(settings, context, kind)
        send_email(recipients, subject, body, settings=settings)
    except Exception as exc:  # a mail that cannot go must not change the task's outcome
        log.error("The %s e-mail to %s was not sent: %s", kind, ", ".join(recipients), exc)
        return False
    log.info("Sent the %s e-mail to %s", kind, ", ".join(recipients))
    return True


def failed_try_alerts(task: Any, context: Mapping[str, Any], *, retry: bool) -> None:
    """The mail of a failed try: ``email_on_retry`` when a retry remains, else
    ``email_on_failure`` (each unset: ``[email] default_email_on_*``); only with ``email``."""
    if not getattr(task, "email", None):
        return
    try:
        defaults = lookups.settings().email
    except Exception as exc:
        log.error("No e-mail alert: the settings cannot be read: %s", exc)
        return
    if retry:
        wanted = getattr(task, "email_on_retry", None)
        if wanted if wanted is not None else defaults.default_email_on_retry:
            send_alert(task, context, "up for retry")
    else:
        wanted = getattr(task, "email_on_failure", None)
        if wanted if wanted is not None else defaults.default_email_on_failure:
            send_alert(task, context, "failed")

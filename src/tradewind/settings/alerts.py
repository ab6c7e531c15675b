"""The settings of alerts: ``[smtp]`` (the mail server, named as Airflow's) and ``[email]``
(who mails come from and how they read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import field_validator

from tradewind.settings.sections import Section


class SmtpSettings(Section):
    """The SMTP server e-mail alerts and SmtpNotifier go through (Airflow's ``[smtp]``)."""

    smtp_host: str = "localhost"
    smtp_port: int = 25
    # STARTTLS after connecting (plain port), or TLS from the first byte (smtp_ssl, port 465).
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    # Log in when a user is set.
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_mail_from: str = "tradewind@example.com"
    # Seconds to connect and for each answer of the server.
    smtp_timeout: float = 30.0
    # Tries to connect before giving up (each failure is logged; the task's outcome stands).
    smtp_retry_limit: int = 5

    @field_validator("smtp_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 < value <= 65535:
            raise ValueError("must be a TCP port (1-65535)")
        return value

    @field_validator("smtp_timeout")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("smtp_retry_limit")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value


class EmailSettings(Section):
    """How alert e-mails read (Airflow's ``[email]``)."""

    # The sender; empty: smtp.smtp_mail_from.
    from_email: str = ""
    # Jinja templates (files) for the subject and the HTML body of email_on_failure and
    # email_on_retry mails, rendered with the task's context; empty: the built-in ones.
    subject_template: Path | None = None
    html_content_template: Path | None = None
    default_email_on_failure: bool = True
    default_email_on_retry: bool = True

    @field_validator("subject_template", "html_content_template", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

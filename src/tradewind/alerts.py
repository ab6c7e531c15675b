"""Alerts for DAG authors: notifiers for ``on_*_callback``; ``DAG(deadline=)`` alerts.

    from tradewind.alerts import SmtpNotifier, WebhookNotifier, DeadlineAlert, DeadlineReference

(Airflow's import paths work too: ``airflow.notifications.basenotifier``,
``airflow.providers.smtp.notifications.smtp``, ``airflow.sdk``.) See docs/alerts.md.
"""

from __future__ import annotations

from tradewind.authoring.deadline import (
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
)
from tradewind.runtime.mail import send_email
from tradewind.runtime.notifiers import BaseNotifier, SmtpNotifier, WebhookNotifier

__all__ = [
    "AsyncCallback",
    "BaseNotifier",
    "DeadlineAlert",
    "DeadlineReference",
    "SmtpNotifier",
    "SyncCallback",
    "WebhookNotifier",
    "send_email",
]

"""The ``airflow`` modules of alerts: notifiers, e-mail and deadline alerts (see
:data:`tradewind.compat.table.MODULES`, which takes these in)."""

from __future__ import annotations

_NOTIFIER = {"BaseNotifier": "tradewind.runtime.notifiers:BaseNotifier"}
_SMTP = {
    "SmtpNotifier": "tradewind.runtime.notifiers:SmtpNotifier",
    "send_smtp_notification": "tradewind.runtime.notifiers:SmtpNotifier",
}
_EMAIL = {"send_email": "tradewind.runtime.mail:send_email"}
_DEADLINE = {
    name: f"tradewind.authoring.deadline:{name}"
    for name in ("DeadlineAlert", "DeadlineReference", "AsyncCallback", "SyncCallback")
}

MODULES: dict[str, dict[str, str]] = {
    "airflow.notifications": {},
    "airflow.notifications.basenotifier": _NOTIFIER,
    "airflow.sdk.bases.notifier": _NOTIFIER,
    "airflow.providers.smtp": {},
    "airflow.providers.smtp.notifications": {},
    "airflow.providers.smtp.notifications.smtp": _SMTP,
    "airflow.utils.email": _EMAIL,
    "airflow.sdk.definitions.deadline": _DEADLINE,
    "airflow.sdk.definitions.callback": {
        name: _DEADLINE[name] for name in ("AsyncCallback", "SyncCallback")
    },
}
# Names added to ``airflow.sdk`` (Airflow 3's authoring namespace).
SDK_NAMES: dict[str, str] = {**_NOTIFIER, **_DEADLINE}

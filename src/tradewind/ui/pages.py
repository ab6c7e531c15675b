"""What every UI page uses: the templates and their filters, ``render``, the role checks
(``AsViewerPage`` ...) and the errors a page raises (``LoginRequired``, ``PageError``).

The pages themselves are server-rendered over the metastore, with small fetches for live
updates and for writes (which go through the REST API); each module of this package with a
``router`` holds some, and :mod:`tradewind.ui.app` mounts them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from tradewind.api.deps import DbSession, Web, identify
from tradewind.api.security import Principal, Role
from tradewind.version import __version__

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# Task and run states in the legend's order, with their labels.
STATES = (
    "success",
    "failed",
    "running",
    "queued",
    "scheduled",
    "up_for_retry",
    "up_for_reschedule",
    "upstream_failed",
    "skipped",
    "deferred",
    "restarting",
    "removed",
    "none",
)
FINISHED_RUN_STATES = frozenset({"success", "failed"})
# The mark over a run's bar in the grid, by run type (scheduled runs have none).
RUN_MARKS = {"manual": "▸", "asset_triggered": "◆", "backfill": "↺"}


class LoginRequired(Exception):
    """The page needs a logged-in user and the visitor is not one."""


class PageError(Exception):
    """A page that cannot be shown: rendered as an error page with this status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def page_not_found(message: str) -> PageError:
    return PageError(404, "Not found", message)


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in; anything else becomes the DAG list."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target)
    ):
        return "/dags"
    return target


def page_caller(role: Role) -> Any:
    """A dependency: the visitor, who must hold ``role`` (else a 403 page, or the login)."""

    def check(request: Request, session: DbSession, web: Web) -> Principal:
        who = identify(request, session, web)
        if who is None:
            raise LoginRequired()
        request.state.who = who
        if not who.can(role):
            raise PageError(
                403,
                "Not allowed",
                f"This page needs the {role.label} role or higher; you are {who.role.label}.",
            )
        return who

    return Depends(check)


AsViewerPage = Annotated[Principal, page_caller(Role.VIEWER)]
AsOpPage = Annotated[Principal, page_caller(Role.OP)]
AsAdminPage = Annotated[Principal, page_caller(Role.ADMIN)]


def render(
    request: Request, name: str, who: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The template ``name`` with what every page shows: the caller, their CSRF token, roles."""
    role = who.role if who else Role.VIEWER
    base = {
        "who": who,
        "csrf_token": getattr(request.state, "csrf_token", None) or "",
        "can_edit": who is not None and who.can(Role.USER),
        "can_op": who is not None and who.can(Role.OP),
        "can_admin": who is not None and who.can(Role.ADMIN),
        "role": role.label,
        "version": __version__,
        "states": STATES,
        "path": request.url.path,
        "default_tz": request.app.state.web.settings.webserver.default_ui_timezone,
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def fmt_dt(value: datetime | None) -> str:
    """A date as plain text in UTC (for attributes and options, where no element can go)."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def fmt_time(value: datetime | None) -> Markup:
    """A date as a ``<time>`` element: its text is UTC, and the page shows it in the time zone
    its visitor chose (app.js rewrites every ``time[datetime]``)."""
    if value is None:
        return Markup("")
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return Markup('<time datetime="{}">{}</time>').format(aware.isoformat(), fmt_dt(aware))


def fmt_duration(value: float | timedelta | None) -> str:
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def run_mark(state: str | None, start: datetime | None, end: datetime | None) -> str:
    """What a run's panel shows that changes as it runs: a page fetches the panel again when the
    mark the live state reports differs from the shown panel's."""
    dates = (date.isoformat() if date else "" for date in (start, end))
    return "|".join((state or "", *dates))


def state_class(state: str | None) -> str:
    return f"s-{state or 'none'}"


templates.env.filters["dt"] = fmt_time
templates.env.filters["dt_text"] = fmt_dt
templates.env.filters["duration"] = fmt_duration
templates.env.filters["sc"] = state_class
templates.env.globals["run_mark"] = run_mark
templates.env.globals["run_marks"] = RUN_MARKS
templates.env.filters["urlpart"] = lambda value: quote(str(value), safe="")

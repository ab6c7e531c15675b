"""Browse and Admin pages: the audit log and import errors (read here), and variables,
connections, pools and users (listed and edited in the page through the REST API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tradewind.api.conntest import CONN_TYPES
from tradewind.api.deps import DbSession, Web
from tradewind.metastore.store import audit as audit_store
from tradewind.metastore.store import dags as dag_store
from tradewind.ui.pages import AsAdminPage, AsOpPage, AsViewerPage, render

router = APIRouter()

AUDIT_PAGE = 50


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text, textarea, number, password, checkbox, select
    required: bool = False
    options: tuple[str, ...] = ()
    help: str = ""
    labels: tuple[str, ...] = ()  # of a select's options, when not the options themselves


@dataclass(frozen=True)
class Resource:
    title: str
    singular: str
    api: str
    list_key: str
    id_field: str
    columns: tuple[tuple[str, str], ...]
    fields: tuple[FormField, ...]
    protected: tuple[str, ...] = field(default=())  # ids that cannot be deleted
    selectable: bool = False  # rows have a checkbox (what some actions work on)


RESOURCES = {
    "variables": Resource(
        "Variables",
        "variable",
        "/api/v1/variables",
        "variables",
        "key",
        (("key", "Key"), ("value", "Value"), ("description", "Description")),
        (
            FormField("key", "Key", required=True),
            FormField("value", "Value", "textarea", required=True),
            FormField("description", "Description"),
        ),
        selectable=True,
    ),
    "connections": Resource(
        "Connections",
        "connection",
        "/api/v1/connections",
        "connections",
        "connection_id",
        (
            ("connection_id", "Id"),
            ("conn_type", "Type"),
            ("host", "Host"),
            ("port", "Port"),
            ("schema", "Schema"),
            ("login", "Login"),
            ("has_password", "Password"),
            ("description", "Description"),
        ),
        (
            FormField("connection_id", "Connection id", required=True),
            FormField(
                "conn_type",
                "Type",
                "select",
                True,
                tuple(name for name, _ in CONN_TYPES),
                labels=tuple(f"{label} ({name})" for name, label in CONN_TYPES),
            ),
            FormField("host", "Host"),
            FormField("port", "Port", "number"),
            FormField("schema", "Schema"),
            FormField("login", "Login"),
            FormField("password", "Password", "password", help="Left empty: unchanged."),
            FormField("extra", "Extra (JSON object)", "textarea"),
            FormField("description", "Description"),
        ),
    ),
    "pools": Resource(
        "Pools",
        "pool",
        "/api/v1/pools",
        "pools",
        "name",
        (
            ("name", "Pool"),
            ("slots", "Slots"),
            ("running_slots", "Running"),
            ("queued_slots", "Queued"),
            ("open_slots", "Open"),
            ("description", "Description"),
        ),
        (
            FormField("name", "Name", required=True),
            FormField("slots", "Slots", "number", required=True),
            FormField("description", "Description"),
        ),
        ("default_pool",),
    ),
    "users": Resource(
        "Users",
        "user",
        "/api/v1/users",
        "users",
        "username",
        (
            ("username", "User"),
            ("role", "Role"),
            ("email", "Email"),
            ("active", "Active"),
            ("created_at", "Created"),
            ("last_login", "Last login"),
        ),
        (
            FormField("username", "User name", required=True),
            FormField("role", "Role", "select", True, ("viewer", "user", "op", "admin")),
            FormField("email", "Email"),
            FormField("password", "Password", "password", help="Needed for a new user."),
            FormField("active", "Active", "checkbox"),
        ),
    ),
}


def _resource_page(request: Request, who: Any, name: str, **more: Any) -> HTMLResponse:
    resource = RESOURCES[name]
    return render(
        request,
        "resource.html",
        who,
        resource=resource,
        spec=asdict(resource),
        section="admin",
        resource_name=name,
        **more,
    )


@router.get("/admin/variables", response_class=HTMLResponse)
def variables_page(request: Request, who: AsOpPage) -> HTMLResponse:
    return _resource_page(request, who, "variables")


@router.get("/admin/connections", response_class=HTMLResponse)
def connections_page(request: Request, who: AsOpPage, web: Web) -> HTMLResponse:
    """The connections; the form tests one unless ``core.test_connection`` is Hidden."""
    testing = web.settings.core.test_connection
    return _resource_page(request, who, "connections", conn_test=testing != "Hidden")


@router.get("/admin/pools", response_class=HTMLResponse)
def pools_page(request: Request, who: AsOpPage) -> HTMLResponse:
    return _resource_page(request, who, "pools")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, who: AsAdminPage) -> HTMLResponse:
    return _resource_page(request, who, "users")


@router.get("/browse/import-errors", response_class=HTMLResponse)
def import_errors_page(request: Request, session: DbSession, who: AsViewerPage) -> HTMLResponse:
    errors = dag_store.list_import_errors(session)
    return render(request, "import_errors.html", who, errors=errors)


@router.get("/browse/audit-log", response_class=HTMLResponse)
def audit_page(
    request: Request,
    *,
    session: DbSession,
    who: AsViewerPage,
    event: Annotated[str, Query(max_length=60)] = "",
    owner: Annotated[str, Query(max_length=250)] = "",
    dag_id: Annotated[str, Query(max_length=250)] = "",
    run_id: Annotated[str, Query(max_length=250)] = "",
    task_id: Annotated[str, Query(max_length=250)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    filters = {
        "event": event.strip(),
        "owner": owner.strip(),
        "dag_id": dag_id.strip(),
        "run_id": run_id.strip(),
        "task_id": task_id.strip(),
    }
    entries, total = audit_store.list_entries(
        session,
        audit_store.AuditFilter(
            event=filters["event"] or None,
            owner=filters["owner"] or None,
            dag_id=filters["dag_id"] or None,
            run_id=filters["run_id"] or None,
            task_id=filters["task_id"] or None,
        ),
        limit=AUDIT_PAGE,
        offset=(page - 1) * AUDIT_PAGE,
    )
    kept = {k: v for k, v in filters.items() if v}

    def link(to: int) -> str:
        return "/browse/audit-log?" + urlencode({**kept, "page": to})

    return render(
        request,
        "audit.html",
        who,
        entries=entries,
        total=total,
        page=page,
        pages=max(1, -(-total // AUDIT_PAGE)),
        filters=filters,
        link=link,
    )

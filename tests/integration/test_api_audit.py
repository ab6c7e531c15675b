"""The audit log through the REST API: filters, pages, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.store import audit as audit_store

API = "/api/v1"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _seed(web: Web) -> None:
    with web.system.sessions.begin() as session:
        for minute, (event, owner, dag_id) in enumerate(
            [
                ("trigger", "user", "a"),
                ("clear", "user", "a"),
                ("trigger", "op", "b"),
                ("pause", "admin", "b"),
            ]
        ):
            audit_store.record(
                session,
                event=event,
                owner=owner,
                now=T0 + timedelta(minutes=minute),
                dag_id=dag_id,
                run_id="r1",
                extra={"minute": minute},
            )


def test_filters_and_pages(web: Web) -> None:
    """On every dialect (time comparisons differ between them)."""
    _seed(web)
    everything = web.get(f"{API}/eventLogs", user="viewer").json()
    assert everything["total_entries"] == 4
    assert [e["event"] for e in everything["event_logs"]] == [
        "pause",
        "trigger",
        "clear",
        "trigger",
    ]
    first = everything["event_logs"][0]
    assert first["extra"] == {"minute": 3}
    assert first["when"].startswith("2024-05-01T12:03:00")

    def events(**params: object) -> list[str]:
        answer = web.get(f"{API}/eventLogs", params=params)
        assert answer.status_code == 200, answer.text
        return [e["event"] for e in answer.json()["event_logs"]]

    assert events(event="trigger") == ["trigger", "trigger"]
    assert events(owner="user", dag_id="a") == ["clear", "trigger"]
    assert events(after="2024-05-01T12:01:00Z", before="2024-05-01T14:02:00+02:00") == ["clear"]
    assert events(limit=1, offset=1) == ["trigger"]
    assert events(run_id="nope") == []


@sqlite_only
def test_bad_filters_are_400(web: Web) -> None:
    for params in (
        {"after": "2024-05-01T12:00:00"},  # no time zone
        {"before": "yesterday"},
        {"limit": 0},
        {"after": "1700000000"},  # a number is not an RFC 3339 date-time
        {"before": "2024-05-01 12:00:00Z"},  # nor is a space for the T
        {"owner": ["a", "b"]},  # one value only
    ):
        answer = web.get(f"{API}/eventLogs", params=params)
        assert answer.status_code == 400, params
        assert answer.json()["detail"]
    # A bound before the earliest instant UTC holds is that instant: every entry is after it.
    earliest = web.get(f"{API}/eventLogs", params={"after": "0001-01-01T00:00:00+05:00"})
    assert earliest.status_code == 200
    assert earliest.json()["total_entries"] == web.get(f"{API}/eventLogs").json()["total_entries"]
    assert web.client.get(f"{API}/eventLogs").status_code == 401

"""How failed logins add up to lockouts (the rule the web server applies to each key)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradewind.metastore.store.logins import Count, Limit, after_failure

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = Limit(
    max_failures=3,
    window=timedelta(minutes=10),
    lockout=timedelta(minutes=1),
    lockout_max=timedelta(minutes=5),
)


def fail(count: Count | None, times: int, at: datetime, limit: Limit = LIMIT) -> Count:
    for _ in range(times):
        count = after_failure(count, at, limit)
    assert count is not None
    return count


def test_the_limit_locks_and_each_lockout_is_longer_up_to_the_longest() -> None:
    count = fail(None, 2, T0)
    assert (count.failures, count.locked_until) == (2, None)
    count = fail(count, 1, T0)
    assert count.locked_until == T0 + timedelta(minutes=1)
    assert (count.failures, count.lockouts) == (0, 1)
    lengths = []
    at = T0
    for _ in range(4):
        assert count.locked_until is not None
        at = count.locked_until
        count = fail(count, 3, at)
        assert count.locked_until is not None
        lengths.append(count.locked_until - at)
    assert lengths == [timedelta(minutes=m) for m in (2, 4, 5, 5)]


def test_failures_older_than_the_window_no_longer_count() -> None:
    count = fail(None, 2, T0)
    later = T0 + LIMIT.window
    count = fail(count, 2, later)
    assert (count.failures, count.locked_until) == (2, None)


def test_a_quiet_window_after_a_lockout_starts_afresh() -> None:
    count = fail(None, 3, T0)
    assert count.locked_until is not None
    assert count.expires_at == count.locked_until + LIMIT.window
    just_before = fail(count, 3, count.expires_at - timedelta(seconds=1))
    assert just_before.lockouts == 2
    after = fail(count, 3, count.expires_at)
    assert after.lockouts == 1
    assert after.locked_until == count.expires_at + LIMIT.lockout


def test_no_limit_never_locks() -> None:
    count = fail(None, 1000, T0, Limit(0, LIMIT.window, LIMIT.lockout, LIMIT.lockout_max))
    assert (count.failures, count.locked_until) == (1000, None)

"""The pure parts of size limits and masking: limits and their messages, cut previews, the
audit log's bounded details, secrets masked in XCom values and in connection extras at any
depth, text no database can store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tradewind import DAG, limits
from tradewind.api import display, text
from tradewind.metastore.store import audit
from tradewind.metastore.store import connections as conn_store
from tradewind.operators import PythonOperator
from tradewind.runtime import context as context_module
from tradewind.runtime import execute
from tradewind.runtime.masking import SecretsMasker
from tradewind.testing import EmptySource
from tradewind.workloads import TaskKey


def test_a_value_over_its_limit_is_refused_with_the_setting_named() -> None:
    limits.check_json("conf", {"a": "x" * 100}, 1 / 1024, "core.max_conf_mb")
    with pytest.raises(limits.TooLarge) as refused:
        limits.check_json("conf", {"a": "x" * 2000}, 1 / 1024, "core.max_conf_mb")
    assert str(refused.value) == "conf is 1.96 KB, over the limit of 1 KB (core.max_conf_mb)"
    with pytest.raises(limits.TooLarge, match="is 4 MB, over the limit of 2 MB"):
        limits.check_text("the value", "é" * (2 * limits.MB), 2, "core.max_variable_mb")
    assert limits.describe(812) == "812 bytes"


def test_previews_cut_long_values_on_a_character_boundary() -> None:
    short = display.of_json({"a": 1}, 100)
    assert short == display.Preview({"a": 1}, False, 8)
    cut = display.of_json(["é" * 100], 21)
    assert cut.truncated
    assert cut.value == '["' + "é" * 9  # 2 + 9 x 2 bytes; half an é is left out
    assert cut.size == len(json.dumps(["é" * 100], ensure_ascii=False).encode())
    assert display.of_text("abc", 2) == display.Preview("ab", True, 3)
    assert display.of_json(12345, 2) == display.Preview(12345, False, 5)


def test_the_audit_log_keeps_a_bounded_rendition_of_large_details() -> None:
    small = {"conf": {"a": 1}, "logical_date": None}
    assert json.loads(audit.bounded(small)) == small
    large = {"conf": {"rows": ["r" * 100] * 10_000}, "logical_date": "2024-01-01"}
    kept = json.loads(audit.bounded(large))
    assert len(json.dumps(kept)) < 2 * audit.MAX_EXTRA_CHARS
    assert kept["logical_date"] == "2024-01-01"
    assert kept["conf"].startswith('{"rows": ["rrr')
    assert kept["conf"].endswith(f"... ({len(json.dumps(large['conf']))} characters)")
    many = {f"key{i}": i for i in range(5000)}
    assert len(audit.bounded(many)) < 2 * audit.MAX_EXTRA_CHARS


def test_known_secrets_are_masked_in_json_values_and_learnt_from_masked_ones() -> None:
    masker = SecretsMasker()
    assert masker.mask_value({"a": "pw-123"}) == {"a": "pw-123"}
    masker.add("pw-123")
    masker.add("98765")
    value = {"cmd": "login pw-123", "pin": 98765, "pw-123": [True, None, 1.5]}
    assert masker.mask_value(value) == {
        "cmd": "login ***",
        "pin": "***",
        "***": [True, None, 1.5],
    }
    # A try that pulls a value another try masked learns what it must not show.
    pulling = SecretsMasker()
    pulling.add_masked({"out": "token tok-777", "n": 1}, {"out": "token ***", "n": 1})
    assert pulling.mask("echo token tok-777") == "echo ***"
    pulling.add_masked({"key-42x": 1, "b": 2}, {"***": 1, "b": 2})
    assert pulling.mask("key-42x") == "***"


def test_connection_extra_is_masked_at_any_depth() -> None:
    extra = {
        "auth": {"password": "p1", "user": "u"},
        "hosts": [{"api_key": "k1"}, {"name": "n"}],
        "client_secret": {"id": "i1", "value": "v1"},
        "empty_token": "",
        "port": 1,
    }
    masked = conn_store.mask_fields(extra)
    assert masked == {
        "auth": {"password": "***", "user": "u"},
        "hosts": [{"api_key": "***"}, {"name": "n"}],
        "client_secret": "***",
        "empty_token": "",
        "port": 1,
    }
    assert sorted(conn_store.secret_leaves(extra)) == ["i1", "k1", "p1", "v1"]
    sent_back = {**masked, "port": 2}
    assert conn_store.unmask_fields(sent_back, extra) == {**extra, "port": 2}
    conn = conn_store.Connection("c", "http", password="pw", extra=json.dumps(extra))
    assert json.loads(conn.masked().extra or "") == masked
    assert {"pw", "p1", "k1"} <= set(conn.secrets())


def test_text_a_database_cannot_store() -> None:
    assert text.problem("café ☕") is None
    assert text.problem("a\x00b") == "must not contain NUL characters"
    assert text.problem("a\udfff") == "must be valid Unicode text (it has a lone surrogate)"


def _finished(function: Any, max_xcom_mb: float) -> dict[str, Any]:
    """The FINISHED message of a try of a PythonOperator running ``function``."""
    with DAG("d") as dag:
        task = PythonOperator(task_id="t", python_callable=function)
    when = datetime(2024, 1, 1, tzinfo=UTC)
    run = context_module.DagRunView("d", "r", when, when, when)
    source = EmptySource()
    ti = context_module.TaskInstanceView(
        TaskKey("d", "r", "t"), task, source, hostname="h", pid=1, max_xcom_mb=max_xcom_mb
    )
    context = context_module.build_context(dag, task, run, ti, source)
    return execute.execute_task(task, context, ti, None).message()


def test_an_xcom_over_the_limit_fails_the_try_and_is_not_reported() -> None:
    def returns(ti: Any) -> str:
        ti.xcom_push("small", 1)
        return "x" * 3000

    def pushes(ti: Any) -> None:
        ti.xcom_push("big", ["y"] * 1000)

    for function, what in ((returns, "the return value of task 't'"), (pushes, "XCom 'big'")):
        message = _finished(function, 2 / 1024)
        assert message["state"] == "failed"
        assert f"{what}" in message["error"]
        assert "over the limit of 2 KB (core.max_xcom_mb)" in message["error"]
        assert "x" * 3000 not in json.dumps(message)
        assert all(key == "small" for key, *_ in message["xcoms"])
    assert _finished(returns, 1)["xcoms"] == [["small", 1], ["return_value", "x" * 3000]]

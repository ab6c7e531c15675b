"""Traces and lineage without a scheduler: dataset names, derived ids, settings, missing extras."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tradewind.settings import SettingsError, load_settings
from tradewind.telemetry import dispatch, lineage, records, tracing


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/a/b.csv", ("s3://bucket", "a/b.csv")),
        ("file:///tmp/x", ("file", "/tmp/x")),
        ("postgres://host:5432/db/schema/table", ("postgres://host:5432", "db/schema/table")),
        ("orders", ("ns", "orders")),
    ],
)
def test_dataset_names_from_uris(uri: str, expected: tuple[str, str]) -> None:
    assert lineage.dataset_name(uri, "ns") == expected


def test_a_try_s_traceparent_is_under_its_run_s_trace() -> None:
    parent = records.traceparent("d", "r", "t", -1, 2)
    version, trace, span, flags = parent.split("-")
    assert (version, flags) == ("00", "01")
    assert int(trace, 16) == records.trace_id("d", "r")
    assert int(span, 16) == records.try_span_id("d", "r", "t", -1, 2)
    assert records.try_span_id("d", "r", "t", -1, 1) != records.try_span_id("d", "r", "t", -1, 2)


def test_settings_of_both_sections(tmp_path: Path) -> None:
    env = {
        "TRADEWIND__TRACES__OTEL_ON": "true",
        "TRADEWIND__TRACES__OTEL_PORT": "4318",
        "TRADEWIND__TRACES__OTEL_SSL_ACTIVE": "true",
        "TRADEWIND__OPENLINEAGE__TRANSPORT": '{"type": "console"}',
        "TRADEWIND__OPENLINEAGE__DISABLED_FOR_OPERATORS": "a.B; c.D",
    }
    settings = load_settings(environ=env, home=tmp_path)
    assert settings.traces.endpoint == "https://localhost:4318/v1/traces"
    assert settings.openlineage.enabled
    assert settings.openlineage.operators_off == {"a.B", "c.D"}
    default = load_settings(environ={}, home=tmp_path)
    assert not default.traces.otel_on
    assert not default.openlineage.enabled
    with pytest.raises(SettingsError, match="transport type"):
        load_settings(environ={"TRADEWIND__OPENLINEAGE__TRANSPORT": '{"type": "x"}'}, home=tmp_path)


def test_missing_packages_name_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    monkeypatch.setitem(sys.modules, "openlineage.client", None)
    traces_on = load_settings(environ={"TRADEWIND__TRACES__OTEL_ON": "1"}, home=tmp_path)
    with pytest.raises(tracing.TracesUnavailable, match=r"tradewind\[otel\]"):
        dispatch.Telemetry.from_settings(traces_on)
    lineage_on = load_settings(
        environ={"TRADEWIND__OPENLINEAGE__TRANSPORT": '{"type": "console"}'}, home=tmp_path
    )
    with pytest.raises(lineage.LineageUnavailable, match=r"tradewind\[openlineage\]"):
        dispatch.Telemetry.from_settings(lineage_on)


def test_console_transport_and_disabled_operators(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(
        environ={
            "TRADEWIND__OPENLINEAGE__TRANSPORT": '{"type": "console"}',
            "TRADEWIND__OPENLINEAGE__DISABLED_FOR_OPERATORS": "ops.Quiet",
        },
        home=Path("/nonexistent"),
    ).openlineage
    writer = lineage.LineageWriter(settings)
    ran = records.TryRecord("d", "r", "t", -1, 1, "running", start=None, operator="ops.Loud")
    quiet = records.TryRecord("d", "r", "q", -1, 1, "running", start=None, operator="ops.Quiet")
    writer.write(ran)
    writer.write(quiet)
    assert writer.event(ran).job.name == "d.t"

"""The HTTP lineage transport reads proxies, the CA bundle and ``~/.netrc`` from the
environment once, when the writer is made: events still go through the proxy the
environment names, with the credentials ``.netrc`` holds for the endpoint's host."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from telemetry_receivers import lineage_receiver

from tradewind.settings import load_settings
from tradewind.telemetry import lineage, records

ENDPOINT = "http://lineage.invalid:5000"  # never resolved: the proxy takes every request


def _writer(url: str) -> lineage.LineageWriter:
    transport = json.dumps({"type": "http", "url": url})
    settings = load_settings(
        environ={"TRADEWIND__OPENLINEAGE__TRANSPORT": transport}, home=Path("/nonexistent")
    )
    return lineage.LineageWriter(settings.openlineage)


def test_events_go_through_the_proxy_of_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine lineage.invalid login alice password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with lineage_receiver() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        writer = _writer(ENDPOINT)
        monkeypatch.delenv("HTTP_PROXY")  # read when the writer was made, not per event
        for task in ("a", "b"):
            writer.write(records.TryRecord("d", "r", task, -1, 1, "running", start=None))
        events = proxy.wait_for(lambda found: len(found) == 2)
        writer.close()

    assert [e["job"]["name"] for e in events] == ["d.a", "d.b"]
    # A proxy is asked for the whole URL; the endpoint's credentials come from .netrc.
    assert proxy.paths == [f"{ENDPOINT}/api/v1/lineage"] * 2
    assert (
        proxy.headers[0]["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    )


def test_the_ca_bundle_of_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    writer = _writer("https://lineage.invalid")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    transport = writer._client.transport
    assert transport.verify == "/etc/ssl/certs/ca-certificates.crt"
    assert transport.session.trust_env is False
    writer.close()

"""A pod's log: the try's log with its messages taken out, read live in chunks or kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")

from kubernetes.client.exceptions import ApiException

from tradewind.executors.base import REPORT_TAG
from tradewind.executors.kubernetes import podlogs

FINISHED = {"type": "finished", "state": "success", "xcoms": [["return_value", "é" * 50]]}
POD_LOG = (
    "[t] INFO - Task d.t, on pod-1 (pid 7), log on stdout\n"
    + REPORT_TAG
    + json.dumps({"type": "running", "pid": 7})
    + "\nhéllo from the task\n"
    + "no newline before the report "
    + REPORT_TAG
    + json.dumps(FINISHED)
    + "\n"
    + "after the report: a callback\n"
)
TRY_LOG = (
    "[t] INFO - Task d.t, on pod-1 (pid 7), log on stdout\n"
    "héllo from the task\n"
    "no newline before the report \n"
    "after the report: a callback\n"
)


class Api:
    """Serves one pod's log as the client would, honouring limit_bytes."""

    def __init__(self, log: bytes, status: int | None = None, body: str = "") -> None:
        self.log = log
        self.status = status
        self.body = body
        self.asked: list[int | None] = []

    def read_namespaced_pod_log(self, name: str, namespace: str, **kw: Any) -> Response:
        if self.status is not None:
            refused = ApiException(status=self.status, reason="Refused")
            refused.body = self.body
            raise refused
        limit = kw.get("limit_bytes")
        self.asked.append(limit)
        return Response(self.log if limit is None else self.log[:limit])


class Response:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, size: int) -> Any:
        for at in range(0, len(self.data), 5):
            yield self.data[at : at + 5]

    def release_conn(self) -> None:
        pass


def test_the_filter_takes_the_messages_out_wherever_the_pieces_are_cut() -> None:
    data = POD_LOG.encode()
    for size in (1, 3, 17, len(data)):
        found = podlogs.LogFilter()
        out = b"".join(found.feed(data[i : i + size]) for i in range(0, len(data), size))
        out += found.close()
        assert out.decode() == TRY_LOG, size
        assert found.finished == FINISHED


def test_kept_log_is_the_try_s_log_and_replaces_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "logs" / "attempt=1.log"
    dest.parent.mkdir()
    dest.write_text("an older copy\n")

    kept = podlogs.keep(Api(POD_LOG.encode()), "ns", "pod-1", dest)

    assert kept == podlogs.Kept(FINISHED, "")
    assert dest.read_text() == TRY_LOG
    assert not list(tmp_path.glob("logs/*.part"))


def test_a_log_that_cannot_be_read_is_said_and_kept_empty(tmp_path: Path) -> None:
    dest = tmp_path / "attempt=1.log"

    kept = podlogs.keep(Api(b"", status=500), "ns", "pod-1", dest)

    assert kept.finished is None
    assert kept.unreadable == "500 Refused"
    assert dest.read_text() == ""


def test_live_reads_in_chunks_give_the_try_s_log_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(podlogs, "_SLACK", 8)
    api = Api(POD_LOG.encode())
    got, offset = "", 0
    for _ in range(100):
        chunk = podlogs.read_live(api, "ns", "pod-1", offset, limit=16)
        got += chunk.content
        offset = chunk.offset
        if chunk.at_end:
            break
    assert got == TRY_LOG
    assert offset == len(TRY_LOG.encode())
    # A read asks for what it needs from the start (more only past a long message line).
    assert api.asked[0] == 16 + 8
    assert len(api.asked) < 100


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (404, "", "pod pod-1 is gone and its log is not kept here"),
        (
            400,
            json.dumps({"message": 'container "base" is waiting to start: ContainerCreating'}),
            'pod pod-1 has no log yet: container "base" is waiting to start',
        ),
        (403, json.dumps({"message": "forbidden"}), "cannot be read: 403 forbidden"),
    ],
)
def test_a_live_read_that_fails_says_why(status: int, body: str, says: str) -> None:
    with pytest.raises(podlogs.PodLogError, match=says):
        podlogs.read_live(Api(b"", status=status, body=body), "ns", "pod-1", 0)


def test_a_log_file_that_cannot_be_written_does_not_hide_the_report(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log's folder should be")

    kept = podlogs.keep(Api(POD_LOG.encode()), "ns", "pod-1", blocked / "attempt=1.log")

    assert kept.finished == FINISHED
    assert kept.unreadable == ""
    assert kept.unwritten

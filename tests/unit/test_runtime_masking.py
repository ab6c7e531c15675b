"""Secrets masking, the log file layout, and what the reader registers as secret."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from pathlib import Path

from sqlalchemy.engine import Engine

from tradewind import tasklogs
from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import variables as variable_store
from tradewind.runtime import logs
from tradewind.runtime.masking import MaskingStream, SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.workloads import TaskKey


def test_masker_replaces_every_known_secret() -> None:
    masker = SecretsMasker()
    masker.add("hunter2")
    masker.add("hunter2-extended")
    masker.add("ab")  # too short to mask without wrecking the log
    assert masker.mask("pw=hunter2 long=hunter2-extended ab") == "pw=*** long=*** ab"


def test_masker_takes_the_leaves_of_json_values() -> None:
    masker = SecretsMasker()
    masker.add_json_text(json.dumps({"user": "svc", "keys": ["k-111", "k-222"], "n": 12345}))
    assert masker.mask("svc k-111 k-222 12345 other") == "*** *** *** *** other"


def test_masking_stream_masks_secrets_written_in_pieces() -> None:
    masker = SecretsMasker()
    masker.add("hunter2")
    target = io.StringIO()
    stream = MaskingStream(target, masker)
    print("the password is", "hun", end="", file=stream)
    print("ter2", file=stream)
    stream.write("tail hunter2")
    assert target.getvalue() == "the password is ***\n"
    stream.flush()
    assert target.getvalue() == "the password is ***\ntail ***"


def test_log_path_layout(tmp_path: Path) -> None:
    key = TaskKey("etl", "manual__2024-01-01T00:00:00+00:00", "load", -1, 2)
    assert tasklogs.log_path(tmp_path, key) == (
        tmp_path
        / "dag_id=etl"
        / "run_id=manual__2024-01-01T00:00:00+00:00"
        / "task_id=load"
        / "attempt=2.log"
    )
    mapped = TaskKey("etl", "a/b", "load", 3, 1)
    assert tasklogs.log_path(tmp_path, mapped) == (
        tmp_path / "dag_id=etl" / "run_id=a%2Fb" / "task_id=load" / "map_index=3" / "attempt=1.log"
    )


def test_try_log_captures_prints_logging_and_subprocess_output(tmp_path: Path) -> None:
    masker = SecretsMasker()
    masker.add("hunter2")
    path = tmp_path / "a" / "attempt=1.log"
    stdout, stderr = sys.stdout, sys.stderr
    with logs.TryLog(path, masker):
        print("printed hunter2")
        logging.getLogger("user.code").warning("logged hunter2")
        os.system("echo from a subprocess")  # written to fd 1 directly
    assert (sys.stdout, sys.stderr) == (stdout, stderr)
    text = path.read_text()
    assert "printed ***" in text
    assert "WARNING - logged ***" in text
    assert "from a subprocess" in text
    assert "hunter2" not in text


def test_reader_registers_secrets_it_hands_out(sqlite_engine: Engine) -> None:
    cipher = crypto.Cipher(crypto.generate_key())
    with engine_module.session_factory(sqlite_engine).begin() as session:
        variable_store.set_variable(session, "db_password", "pw-123456", cipher)
        variable_store.set_variable(session, "region", "eu-west-1", cipher)
        connection_store.add_connection(
            session,
            connection_store.Connection(
                "api", "http", password="p@ss word", extra=json.dumps({"token": "tok-999"})
            ),
            cipher,
        )
    masker = SecretsMasker()
    reader = MetastoreReader(sqlite_engine, cipher, masker)
    assert reader.variable("db_password") == "pw-123456"
    assert reader.variable("region") == "eu-west-1"
    conn = reader.connection("api")
    assert conn is not None
    assert reader.variable("missing") is None
    assert masker.mask("pw-123456 eu-west-1 p@ss word tok-999") == "*** eu-west-1 *** ***"
    assert masker.mask(conn.get_uri()) == "http://:***@?token=***"

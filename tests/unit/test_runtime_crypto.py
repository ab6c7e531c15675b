"""Fernet encryption of secrets at rest, and the key written on first init."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

from tradewind.metastore import crypto


def test_round_trip_encrypts_and_decrypts() -> None:
    cipher = crypto.Cipher(crypto.generate_key())
    stored, encrypted = cipher.encrypt("hunter2")
    assert encrypted
    assert "hunter2" not in stored
    assert cipher.decrypt(stored, True, what="x") == "hunter2"


def test_rotated_keys_still_decrypt_old_values() -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    stored, _ = crypto.Cipher(old).encrypt("before rotation")
    rotated = crypto.Cipher(f"{new},{old}")
    assert rotated.decrypt(stored, True, what="x") == "before rotation"
    fresh, _ = rotated.encrypt("after")
    assert crypto.Cipher(new).decrypt(fresh, True, what="x") == "after"


def test_a_different_key_is_a_clear_error() -> None:
    stored, _ = crypto.Cipher(crypto.generate_key()).encrypt("secret")
    with pytest.raises(crypto.CryptoError, match=r"variable 'pw'.*another core\.fernet_key"):
        crypto.Cipher(crypto.generate_key()).decrypt(stored, True, what="variable 'pw'")


def test_without_a_key_values_stay_clear_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cipher = crypto.Cipher("")
    with caplog.at_level(logging.WARNING):
        assert cipher.encrypt("a") == ("a", False)
        assert cipher.encrypt("b") == ("b", False)
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "clear text" in caplog.records[0].message
    assert cipher.decrypt("a", False, what="x") == "a"
    with pytest.raises(crypto.CryptoError, match=r"encrypted but core\.fernet_key is empty"):
        cipher.decrypt("gAAAA", True, what="x")


def test_a_malformed_key_is_refused() -> None:
    with pytest.raises(crypto.CryptoError, match="not a valid Fernet key"):
        crypto.Cipher("not-a-key")


def test_ensure_fernet_key_creates_the_config_file(tmp_path: Path) -> None:
    key = crypto.ensure_fernet_key(tmp_path)
    data = tomllib.loads((tmp_path / "tradewind.toml").read_text())
    assert data == {"core": {"fernet_key": key}}
    crypto.Cipher(key)  # a usable key
    assert crypto.ensure_fernet_key(tmp_path) == key  # written once, then kept


def test_ensure_fernet_key_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    original = (
        "# my settings\n"
        "[core]\n"
        'dags_folder = "/srv/dags"  # where DAGs live\n'
        "\n"
        "[logging]\n"
        'level = "DEBUG"\n'
    )
    (tmp_path / "tradewind.toml").write_text(original)
    key = crypto.ensure_fernet_key(tmp_path)
    text = (tmp_path / "tradewind.toml").read_text()
    assert "# my settings" in text
    assert "# where DAGs live" in text
    assert tomllib.loads(text) == {
        "core": {"dags_folder": "/srv/dags", "fernet_key": key},
        "logging": {"level": "DEBUG"},
    }


def test_ensure_fernet_key_fills_an_empty_key_and_adds_a_missing_table(tmp_path: Path) -> None:
    config = tmp_path / "tradewind.toml"
    config.write_text('[core]\nfernet_key = ""\nparallelism = 4\n')
    key = crypto.ensure_fernet_key(tmp_path)
    assert tomllib.loads(config.read_text())["core"] == {"fernet_key": key, "parallelism": 4}

    other = tmp_path / "other"
    other.mkdir()
    (other / "tradewind.toml").write_text('[logging]\nlevel = "ERROR"')
    key = crypto.ensure_fernet_key(other)
    assert tomllib.loads((other / "tradewind.toml").read_text()) == {
        "logging": {"level": "ERROR"},
        "core": {"fernet_key": key},
    }


def test_secret_looking_names() -> None:
    for name in ("db_password", "API_KEY", "github_token", "aws_secret", "Authorization"):
        assert crypto.looks_secret(name), name
    for name in ("region", "bucket", "host"):
        assert not crypto.looks_secret(name), name

"""Config errors never echo a secret; a config file holding a password that others can read is warned about."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from sync.config import ConfigError, SmtpConfig


@pytest.mark.parametrize("value", ["['S3cr3t']", "{ x = 'S3cr3t' }", "true"])
def test_wrong_password_type_is_named_not_echoed(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[smtp]\nhost = "h"\nuser = "u@example.com"\npassword = {value}\n')
    path.chmod(0o600)
    with pytest.raises(ConfigError) as ei:
        SmtpConfig.from_env({"HOME": str(tmp_path)}, config_path=path)
    text = str(ei.value)
    assert "S3cr3t" not in text and "password in" in text and "value not shown" in text
    assert "S3cr3t" not in repr(ei.value.to_json())


def test_plain_settings_still_show_what_was_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COBRO_SMTP_PORT must be a whole number, got 'abc'"):
        SmtpConfig.from_env({"COBRO_SMTP_HOST": "h", "COBRO_SMTP_PORT": "abc"})


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_password_in_a_file_others_can_read_is_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[smtp]\nhost = "h"\nuser = "u@example.com"\npassword = "S3cr3t"\n')
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="cobro.config"):
        config = SmtpConfig.from_env({"HOME": str(tmp_path)}, config_path=path)
    assert config is not None and config.password == "S3cr3t"
    assert f"{path} can be read by other users (mode 644); run `chmod 600 {path}`" in caplog.text
    assert "S3cr3t" not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="cobro.config"):
        SmtpConfig.from_env({"HOME": str(tmp_path)}, config_path=path)
    assert "can be read" not in caplog.text
    caplog.clear()
    nopass = tmp_path / "nopass.toml"  # no secret in it: readable is fine
    nopass.write_text('[smtp]\nhost = "h"\nsecurity = "none"\n')
    nopass.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="cobro.config"):
        SmtpConfig.from_env({"HOME": str(tmp_path)}, config_path=nopass)
    assert "can be read" not in caplog.text

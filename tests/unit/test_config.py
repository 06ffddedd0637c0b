"""Configuration: defaults, validation naming the variable, and the secret staying secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deployments.common.settings import PROJECT_ROOT, ConfigError, load_settings

SECRET = "hunter2-very-secret"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    """No platform variables set and no .env in the working directory."""
    for name in list(os.environ):
        if name.startswith(("DTN_", "IQFEED_", "REDIS_", "SESSION_", "JANITOR_", "INITIAL_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults(clean_env: pytest.MonkeyPatch):
    settings = load_settings()
    assert settings.redis_url is None
    assert settings.session_timeout_s == 1800
    assert settings.initial_chunk_size == 5000
    assert (settings.iqfeed_lookup_port, settings.iqfeed_admin_port) == (9100, 9300)
    assert settings.has_dtn_credentials is False


def test_environment_overrides(clean_env: pytest.MonkeyPatch):
    clean_env.setenv("REDIS_URL", "redis://cache.internal:6380/2")
    clean_env.setenv("SESSION_TIMEOUT_S", "120")
    settings = load_settings()
    assert settings.redis_url.get_secret_value() == "redis://cache.internal:6380/2"
    assert settings.session_timeout_s == 120


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SESSION_TIMEOUT_S", "abc"),
        ("SESSION_TIMEOUT_S", "5"),
        ("IQFEED_LOOKUP_PORT", "70000"),
        ("INITIAL_CHUNK_SIZE", "0"),
        ("REDIS_URL", "http://localhost:6379"),
        ("JANITOR_INTERVAL_S", "-1"),
    ],
)
def test_invalid_value_names_the_variable(clean_env: pytest.MonkeyPatch, variable, value):
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert variable in str(raised.value)


def test_incomplete_dtn_credentials_name_what_is_missing(clean_env: pytest.MonkeyPatch):
    clean_env.setenv("DTN_LOGIN", "trader")
    clean_env.setenv("DTN_PASSWORD", SECRET)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "DTN_PRODUCT_ID" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_password_never_shows(clean_env: pytest.MonkeyPatch):
    clean_env.setenv("DTN_PRODUCT_ID", "PRODUCT")
    clean_env.setenv("DTN_LOGIN", "trader")
    clean_env.setenv("DTN_PASSWORD", SECRET)
    settings = load_settings()
    assert settings.has_dtn_credentials
    assert settings.dtn_password.get_secret_value() == SECRET
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert SECRET not in text


def test_check_command_fails_at_start_naming_the_variable(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DTN_", "SESSION_", "REDIS_"))
    }
    env.update(SESSION_TIMEOUT_S="soon", DTN_PASSWORD=SECRET)
    result = subprocess.run(
        [sys.executable, "-m", "deployments.common.settings", "--check"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "SESSION_TIMEOUT_S" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_check_command_summarises_a_valid_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTN_", "REDIS_"))}
    env["DTN_PASSWORD"] = ""
    result = subprocess.run(
        [sys.executable, "-m", "deployments.common.settings", "--check"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "embedded Valkey" in result.stdout and "IQFeed simulator" in result.stdout

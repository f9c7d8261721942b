"""Configuration comes from the environment only; unknown or invalid values fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ZOOM_", "WHISPER_", "SUMMARY_"))
    }
    base.pop("DATABASE_URL", None)
    base.pop("REDIS_URL", None)
    base.update({"DJANGO_SETTINGS_MODULE": "rtms_assistant.settings", "DJANGO_DATA_DIR": str(tmp_path)})
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nothing_configured_is_a_working_embedded_setup(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUGG": "1"}, "unknown DJANGO_* setting(s): DJANGO_DEBUGG"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "needs DATABASE_URL"),
        ({"WHISPER_ENGINE": "whisper.cpp"}, "WHISPER_ENGINE must be one of"),
        ({"WHISPER_BEAM_SIZE": "five"}, "WHISPER_BEAM_SIZE must be an integer"),
        ({"SUMMARY_BACKEND": "openai"}, "SUMMARY_BACKEND=openai needs"),
        ({"RTMS_MEDIA": "audio,smell"}, "RTMS_MEDIA has unknown media types"),
        ({"RTMS_RECONNECT_JITTER": "1.5"}, "RTMS_RECONNECT_JITTER < 1"),
        (
            {"RTMS_RECONNECT_INITIAL_DELAY_SECONDS": "10", "RTMS_RECONNECT_MAX_DELAY_SECONDS": "5"},
            "RTMS_RECONNECT_MAX_DELAY_SECONDS must be >= RTMS_RECONNECT_INITIAL_DELAY_SECONDS",
        ),
        ({"RTMS_RECONNECT_WINDOW_SECONDS": "0"}, "RTMS_RECONNECT_WINDOW_SECONDS must be"),
    ],
)
def test_invalid_configuration_fails_loudly(tmp_path, env, message):
    result = run_check(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_scaled_mode_requires_a_shared_secret_key(tmp_path):
    result = run_check(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required in scaled mode" in result.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
        "DJANGO_ALLOWED_HOSTS": "rtms.example.com",
        "DJANGO_HTTPS": "1",
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(env, DJANGO_SETTINGS_MODULE="rtms_assistant.settings", DJANGO_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _run_check(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ({}, "SECRET_KEY and ALLOWED_HOSTS"),
        ({"SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "vote.seoul.go.kr"}, "SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_secret_and_hosts(present, missing):
    result = _run_check({"DEBUG": "false", **present})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"configuration error: DEBUG is off, so {missing} must be set"]


def test_production_settings_pass_the_deploy_check():
    result = _run_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "vote.seoul.go.kr",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_default_is_korean_seoul_time():
    assert settings.TIME_ZONE == "Asia/Seoul"
    assert settings.USE_TZ
    assert settings.LANGUAGE_CODE == "ko"
    assert ("en", "English") in settings.LANGUAGES


def test_database_settings_follow_the_engine():
    db = settings.DATABASES["default"]
    if settings.DATABASE_IS_POSTGRES:
        # Persistent connections leak under ASGI; the pool replaces them.
        assert db["CONN_MAX_AGE"] == 0
        assert "pool" in db["OPTIONS"]
    else:
        assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.config.production_env import secret_keys
from voting import sealing

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SETTINGS = {
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    *sealing.new_key_set(),  # the ballot box's keys, public and private halves
    "VOTER_KEY_SECRET",
    "MFA_ENCRYPTION_KEY",
    "AUDIT_CHAIN_KEY",
}


def public_keys() -> dict[str, str]:
    """The public halves of a fresh key set (``manage.py ballot_keys``): what every web process
    holds. The private halves belong to the counter alone."""
    keys = sealing.new_key_set()
    return {name: keys[name] for name in ("BALLOT_SEALING_PUBLIC_KEY", "BOARD_VERIFY_KEY")}


def _run_check(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_SETTINGS}
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
        ({**public_keys(), **secret_keys()}, "SECRET_KEY and ALLOWED_HOSTS"),
        ({"SECRET_KEY": "x" * 50, **public_keys(), **secret_keys()}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": "vote.seoul.go.kr", **public_keys(), **secret_keys()}, "SECRET_KEY"),
        (
            {},
            "SECRET_KEY and ALLOWED_HOSTS and BALLOT_SEALING_PUBLIC_KEY and BOARD_VERIFY_KEY"
            " and VOTER_KEY_SECRET and MFA_ENCRYPTION_KEY and AUDIT_CHAIN_KEY",
        ),
    ],
    ids=["secret-and-hosts", "hosts", "secret", "everything"],
)
def test_production_refuses_to_start_without_secret_and_hosts(present, missing):
    result = _run_check({"DEBUG": "false", **present})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"configuration error: DEBUG is off, so {missing} must be set"]


@pytest.mark.parametrize(
    "missing",
    [
        ("BALLOT_SEALING_PUBLIC_KEY",),
        ("BOARD_VERIFY_KEY",),
        ("BALLOT_SEALING_PUBLIC_KEY", "BOARD_VERIFY_KEY"),
    ],
    ids=["sealing-key", "verify-key", "both"],
)
def test_production_refuses_to_start_without_the_ballot_boxs_public_keys(missing):
    """Without the counter's public key no envelope can be sealed, and without the board's
    verify key nobody can check the board: production exits at start, naming what is missing,
    even with every private key set (they are the counter's, and never stand in for these)."""
    keys = sealing.new_key_set()
    present = {name: value for name, value in keys.items() if name not in missing}
    result = _run_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "vote.seoul.go.kr",
            **secret_keys(),
            **present,
        }
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"configuration error: DEBUG is off, so {' and '.join(missing)} must be set"]


@pytest.mark.parametrize(
    "missing",
    [
        ("VOTER_KEY_SECRET",),
        ("MFA_ENCRYPTION_KEY",),
        ("AUDIT_CHAIN_KEY",),
        ("VOTER_KEY_SECRET", "MFA_ENCRYPTION_KEY", "AUDIT_CHAIN_KEY"),
    ],
    ids=["voter-key", "mfa-key", "audit-chain-key", "all-three"],
)
def test_production_refuses_to_start_without_the_keys_that_outlive_secret_key(missing):
    """The voter key decides "one vote per number", the MFA key opens officials' TOTP secrets and
    the audit chain's key checks every audit entry: derived from SECRET_KEY, its first rotation
    would let every number vote again, lock every official out and fail the whole audit log.
    Production names what is missing and exits; SECRET_KEY never stands in."""
    present = {name: value for name, value in secret_keys().items() if name not in missing}
    result = _run_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "vote.seoul.go.kr",
            **public_keys(),
            **present,
        }
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"configuration error: DEBUG is off, so {' and '.join(missing)} must be set"]


def _keys_started(env_overrides: dict[str, str]) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_SETTINGS}
    env.update(env_overrides)
    code = (
        "from django.conf import settings as s; "
        "print(s.VOTER_KEY_SECRET, s.MFA_ENCRYPTION_KEY, s.AUDIT_CHAIN_KEY)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split()


def test_production_uses_the_keys_started_it_is_given():
    keys = secret_keys()
    started = _keys_started(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "vote.seoul.go.kr",
            **public_keys(),
            **keys,
        }
    )
    assert started == [
        keys["VOTER_KEY_SECRET"],
        keys["MFA_ENCRYPTION_KEY"],
        keys["AUDIT_CHAIN_KEY"],
    ]


def test_under_debug_the_keys_fall_back_so_make_run_needs_no_setup():
    """`make run`: DEBUG on, no keys. The fallback keeps a development database's participations
    and its enrolled demo official valid."""
    secret = "development-secret-" + "d" * 40
    voter, mfa, audit_chain = _keys_started({"SECRET_KEY": secret})
    assert (voter, mfa) == (secret, secret)
    assert audit_chain == hashlib.sha256(f"mvoting-audit-chain:{secret}".encode()).hexdigest()


def test_production_settings_pass_the_deploy_check():
    result = _run_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "vote.seoul.go.kr",
            **public_keys(),
            **secret_keys(),
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

"""The environment a production process starts with, for tests that start one in a subprocess."""

import os
import socket
from pathlib import Path

from voting import sealing

ROOT = Path(__file__).resolve().parents[2]

# What the test runner's own environment may carry and a production start must not inherit.
INHERITED_OUT = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "EMAIL_URL")


def secret_keys() -> dict[str, str]:
    """The keys production requires besides SECRET_KEY and the ballot box's: each its own random
    value, as docs/operations/secrets.md says to generate them."""
    return {
        "VOTER_KEY_SECRET": "voter-key-" + os.urandom(24).hex(),
        "MFA_ENCRYPTION_KEY": "mfa-key-" + os.urandom(24).hex(),
        "AUDIT_CHAIN_KEY": "audit-chain-key-" + os.urandom(24).hex(),
    }


def production_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """A web process's environment: DEBUG off, every required setting, the public ballot keys
    only, a throw-away SQLite file and no Redis (so the test needs nothing else running)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in INHERITED_OUT
        and not key.startswith(("BALLOT_", "BOARD_", "VOTER_", "MFA_", "AUDIT_", "DJANGO_"))
    }
    keys = sealing.new_key_set()
    env.update(
        DEBUG="false",
        SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
        ALLOWED_HOSTS="vote.seoul.go.kr",
        BALLOT_SEALING_PUBLIC_KEY=keys["BALLOT_SEALING_PUBLIC_KEY"],
        BOARD_VERIFY_KEY=keys["BOARD_VERIFY_KEY"],
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        STATIC_ROOT=str(workdir / "static"),
        SECURE_SSL_REDIRECT="false",
        PYTHONPATH=str(ROOT),
        **secret_keys(),
    )
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

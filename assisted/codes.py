"""One-time codes and PINs: made from the system's random source, stored as keyed hashes.

The key is the server's ``SECRET_KEY`` (with a purpose of its own, ``salted_hmac``) and each hash
has a random salt: a reader of the database cannot test the million six-digit codes offline, nor
tell two equal PINs apart.
"""

import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

CODE_DIGITS = 6
_PURPOSE = "assisted.codes"


def new_code(digits: int = CODE_DIGITS) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def make_hash(code: str) -> str:
    salt = secrets.token_hex(8)
    return f"{salt}${_digest(salt, code)}"


def matches(code: str, stored: str) -> bool:
    salt, _sep, digest = stored.partition("$")
    if not salt or not digest:
        return False
    return constant_time_compare(_digest(salt, normalise(code)), digest)


def normalise(code: str) -> str:
    """What the operator typed, as the caller read it: digits only (spaces, dashes dropped)."""
    return "".join(ch for ch in code if ch.isdigit())


def _digest(salt: str, code: str) -> str:
    return salted_hmac(_PURPOSE, f"{salt}:{code}", algorithm="sha256").hexdigest()

"""The rotating QR tokens of an on-site session.

A token is (session id, time step, HMAC-SHA256 of both under the session's own secret), packed
into 24 bytes and written in base64url without padding: 32 characters, so the QR code that
carries it (inside a URL) stays coarse enough to scan from the back of a hall.

- The step is ``unix time // ONSITE_TOKEN_SECONDS``: the screen shows a new code every step, and a
  code is accepted during its own step and the next one (a scan made just before the change
  still counts), never later. A photo of the screen sent out of the venue is useless within
  seconds.
- The MAC is truncated to 96 bits: a guess can only be checked online, one request at a time,
  against a code that dies in seconds.
- Each session has its own secret (``OnsiteSession.secret``): a token of one session can never
  pass for another's, and rotating a session's secret kills its codes at once.
"""

import base64
import binascii
import hashlib
import hmac
import math
import re
import struct
import time
from dataclasses import dataclass

from django.conf import settings

# Session id (unsigned 64 bits, a BigAutoField) and step (unsigned 32 bits), big-endian.
_HEADER = struct.Struct(">QI")
_MAC_BYTES = 12
TOKEN_BYTES = _HEADER.size + _MAC_BYTES
_MAX_ID = 2**63 - 1
# 24 bytes are 32 base64url characters exactly, with no padding.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")
# Versioned domain separation: the same secret could one day sign something else.
_CONTEXT = b"mvoting/onsite-token/v1|"


def step_seconds() -> int:
    return max(1, int(settings.ONSITE_TOKEN_SECONDS))


def current_step(*, now: float | None = None) -> int:
    return math.floor((time.time() if now is None else now) / step_seconds())


def step_ends_at(step: int) -> float:
    """The Unix time at which ``step`` gives way to the next one."""
    return (step + 1) * step_seconds()


def _mac(*, secret: str, header: bytes) -> bytes:
    key = bytes.fromhex(secret)
    return hmac.new(key, _CONTEXT + header, hashlib.sha256).digest()[:_MAC_BYTES]


def issue(*, session_id: int, secret: str, step: int) -> str:
    header = _HEADER.pack(session_id, step)
    raw = header + _mac(secret=secret, header=header)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Claim:
    """What a token says before it is checked: which session, which step."""

    session_id: int
    step: int
    header: bytes
    mac: bytes

    def signed_by(self, secret: str) -> bool:
        return hmac.compare_digest(self.mac, _mac(secret=secret, header=self.header))


def parse(token: str) -> Claim | None:
    """The token's claim, or None when it is not a token at all (wrong length, not base64url)."""
    if not isinstance(token, str) or not _SHAPE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    header, mac = raw[: _HEADER.size], raw[_HEADER.size :]
    session_id, step = _HEADER.unpack(header)
    if session_id > _MAX_ID:
        return None  # beyond a BigAutoField: no such session, and the database would overflow
    return Claim(session_id=session_id, step=step, header=header, mac=mac)


class Freshness:
    CURRENT = "current"  # this step or the one before: accepted
    EXPIRED = "expired"  # older
    FUTURE = "future"  # not issued yet by this server's clock: never accepted


def freshness(step: int, *, now: float | None = None) -> str:
    current = current_step(now=now)
    if step > current:
        return Freshness.FUTURE
    if step >= current - 1:
        return Freshness.CURRENT
    return Freshness.EXPIRED

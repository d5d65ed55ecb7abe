"""The ballot box's keys, and sealing and opening what they protect.

Two key pairs, each split between who may use which half:

- **Sealing** (X25519 + XSalsa20-Poly1305, libsodium's ``crypto_box``): web processes hold only
  the counter's public key; each process makes an ephemeral key pair of its own (never stored,
  replaced every ``SEAL_KEY_SECONDS``) and seals each envelope with the box between the two,
  prefixing the ephemeral public key. Only the counter's private key opens it. This is a sealed
  box (one ephemeral key per message) with the ephemeral key kept for a while: a sealed box costs
  two X25519 multiplications per ballot on the web side and one on the counter's (~66 µs each
  measured, which capped the count near 5,000 ballots/s); the shared box costs one per process
  per period, then symmetric encryption. What a stolen ephemeral key opens — the envelopes that
  process sealed in that period — passed through that process's memory in clear anyway. The
  counter also derives from its private key the key of its per-poll state (the breakdown
  accumulator).
- **Signing** (Ed25519): the counter signs each board entry; the public key is published, and
  the standalone verifier (verifier/verify_board.py) checks the board against it.

Settings (hex, 32 bytes each): ``BALLOT_SEALING_PUBLIC_KEY`` and ``BOARD_VERIFY_KEY`` for every
process; ``BALLOT_SEALING_PRIVATE_KEY`` and ``BOARD_SIGNING_KEY`` for the counter only
(``manage.py ballot_keys`` makes a set). With ``DEBUG`` on at start and a key unset, a
development key is derived from ``SECRET_KEY`` so ``make run`` needs no set-up; production
refuses to start without the public halves, and the counter without the private ones.
"""

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from nacl.exceptions import CryptoError
from nacl.public import Box, PrivateKey, PublicKey
from nacl.secret import SecretBox
from nacl.signing import SigningKey, VerifyKey


class SealingError(Exception):
    """An envelope or state blob that does not open: altered, or sealed to another key."""


def _dev_seed(label: str) -> bytes:
    if not settings.BALLOT_DEV_KEYS:
        raise ImproperlyConfigured(f"{label} is not set (manage.py ballot_keys makes a set)")
    return hashlib.sha256(f"mvoting-dev-{label}:{settings.SECRET_KEY}".encode()).digest()


def _from_hex(setting: str) -> bytes | None:
    value = getattr(settings, setting, "") or ""
    if not value:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting} must be 64 hex characters") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{setting} must be 64 hex characters")
    return raw


def _private_key() -> PrivateKey:
    raw = _from_hex("BALLOT_SEALING_PRIVATE_KEY")
    return PrivateKey(raw if raw else _dev_seed("BALLOT_SEALING_PRIVATE_KEY"))


def sealing_public_key() -> PublicKey:
    raw = _from_hex("BALLOT_SEALING_PUBLIC_KEY")
    if raw:
        return PublicKey(raw)
    return PrivateKey(_dev_seed("BALLOT_SEALING_PRIVATE_KEY")).public_key


def signing_key() -> SigningKey:
    raw = _from_hex("BOARD_SIGNING_KEY")
    return SigningKey(raw if raw else _dev_seed("BOARD_SIGNING_KEY"))


def verify_key_hex() -> str:
    raw = _from_hex("BOARD_VERIFY_KEY")
    if raw:
        return raw.hex()
    return SigningKey(_dev_seed("BOARD_SIGNING_KEY")).verify_key.encode().hex()


class Counter:
    """The private halves, as the counter holds them. Built only where ballots are counted."""

    def __init__(self) -> None:
        self.private = _private_key()
        self.signer = signing_key()
        if self.private.public_key.encode() != sealing_public_key().encode():
            raise ImproperlyConfigured("BALLOT_SEALING_PRIVATE_KEY does not match the public key")
        if self.signer.verify_key.encode().hex() != verify_key_hex():
            raise ImproperlyConfigured("BOARD_SIGNING_KEY does not match BOARD_VERIFY_KEY")
        self._boxes: OrderedDict[bytes, Box] = OrderedDict()
        state_key = hashlib.blake2b(
            self.private.encode(), digest_size=32, person=b"mvoting-state"
        ).digest()
        self._state = SecretBox(state_key)

    def open(self, sealed: bytes) -> dict:
        sealed = bytes(sealed)
        try:
            return json.loads(self._box(sealed[:32]).decrypt(sealed[32:]))
        except (CryptoError, ValueError, TypeError) as exc:
            raise SealingError("an envelope does not open with the counter's key") from exc

    def _box(self, ephemeral: bytes) -> Box:
        # One X25519 multiplication per web process and period, not per envelope.
        box = self._boxes.get(ephemeral)
        if box is None:
            box = self._boxes[ephemeral] = Box(self.private, PublicKey(ephemeral))
            if len(self._boxes) > 4096:
                self._boxes.popitem(last=False)
        return box

    def sign(self, message: bytes) -> str:
        return self.signer.sign(message).signature.hex()

    def seal_state(self, document: dict) -> bytes:
        # Padded to whole 16 KiB blocks: the length must not move with the numbers inside.
        return bytes(self._state.encrypt(pad(document, block=16384)))

    def open_state(self, sealed: bytes | None) -> dict:
        if not sealed:
            return {}
        try:
            return json.loads(self._state.decrypt(bytes(sealed)))
        except (CryptoError, ValueError) as exc:
            raise SealingError("the count state does not open with the counter's key") from exc


def pad(document: dict, *, block: int, at_least: int = 0) -> bytes:
    """JSON padded with spaces to a whole number of blocks (JSON ignores trailing spaces), so a
    ciphertext's length says nothing about the numbers or choices inside."""
    raw = json.dumps(document, separators=(",", ":")).encode()
    size = max(len(raw), at_least)
    size = -(-size // block) * block
    return raw + b" " * (size - len(raw))


def envelope_size(max_choices: int) -> int:
    """One length for every envelope of a poll: room for its largest possible choice."""
    return 256 + 24 * max_choices


class _Sealer:
    """This process's ephemeral key pair and its box with the counter's public key."""

    def __init__(self) -> None:
        ephemeral = PrivateKey.generate()
        self.counter_key = sealing_public_key().encode()
        self.prefix = ephemeral.public_key.encode()
        self.box = Box(ephemeral, PublicKey(self.counter_key))
        self.pid = os.getpid()
        self.expires = time.monotonic() + SEAL_KEY_SECONDS

    def fresh(self) -> bool:
        return (
            self.pid == os.getpid()  # never share a key across a fork
            and time.monotonic() < self.expires
            and self.counter_key == sealing_public_key().encode()
        )


SEAL_KEY_SECONDS = 3600
_sealer: _Sealer | None = None
_sealer_lock = threading.Lock()


def _current_sealer() -> _Sealer:
    global _sealer
    sealer = _sealer
    if sealer is None or not sealer.fresh():
        with _sealer_lock:
            if _sealer is None or not _sealer.fresh():
                _sealer = _Sealer()
            sealer = _sealer
    return sealer


def seal_envelope(*, payload: dict, max_choices: int) -> bytes:
    plain = pad(payload, block=64, at_least=envelope_size(max_choices))
    sealer = _current_sealer()
    # The ephemeral public key, a random nonce, the ciphertext: one length per poll.
    return sealer.prefix + bytes(sealer.box.encrypt(plain))


def verify_signature(*, message: bytes, signature_hex: str) -> bool:
    try:
        VerifyKey(bytes.fromhex(verify_key_hex())).verify(message, bytes.fromhex(signature_hex))
    except (CryptoError, ValueError):
        return False
    return True


def new_key_set() -> dict[str, str]:
    """A fresh set of keys, as settings lines (``manage.py ballot_keys``)."""
    sealing = PrivateKey.generate()
    signing = SigningKey.generate()
    return {
        "BALLOT_SEALING_PUBLIC_KEY": sealing.public_key.encode().hex(),
        "BALLOT_SEALING_PRIVATE_KEY": sealing.encode().hex(),
        "BOARD_VERIFY_KEY": signing.verify_key.encode().hex(),
        "BOARD_SIGNING_KEY": signing.encode().hex(),
    }

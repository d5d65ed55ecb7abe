"""Ballot receipts: a random code shown once to the voter; only two unrelated hashes are stored.

The **tracker** (SHA-256 of the code) is published on the board once the ballot is counted; the
**envelope lookup** (SHA-256 of a prefix and the code) is kept on the sealed envelope until then.
Neither can be computed from the other without the code (100 bits), so nothing stored ties an
envelope to the batch it was counted in. The standalone verifier computes the tracker the same
way (verifier/verify_board.py).
"""

import hashlib
import secrets

# Crockford's base32: no I, L, O, U, so a code read aloud or retyped survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUPS, _GROUP_LEN = 4, 5  # 20 symbols = 100 bits: not guessable, even with the hash public


def new_code() -> str:
    symbols = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LEN))
    return "-".join(symbols[i : i + _GROUP_LEN] for i in range(0, len(symbols), _GROUP_LEN))


def normalise(code: str) -> str:
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans({"I": "1", "L": "1", "O": "0"}))


def tracker(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def envelope_lookup(code: str) -> str:
    return hashlib.sha256(b"mvoting-envelope:" + normalise(code).encode()).hexdigest()


def looks_valid(code: str) -> bool:
    cleaned = normalise(code)
    return len(cleaned) == _GROUPS * _GROUP_LEN and all(c in _ALPHABET for c in cleaned)

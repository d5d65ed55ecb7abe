#!/usr/bin/env python3
"""Check a poll's public board yourself: every counted ballot, chained and signed by the city.

The board of a poll is a public log of the ballots counted so far. Ballots are counted in
batches (never fewer than ``batch_min`` at once, so that no single vote can be singled out by
when it was cast), and each batch is one *entry* of the board:

* ``seq``       the batch number: 1, 2, 3, ... without gaps;
* ``prev``      the hash of the batch before it ("0" * 64 for the first), which chains the
                batches together: no batch can be changed, removed or reordered later without
                changing every hash after it;
* ``trackers``  one tracker per ballot: the SHA-256 of the receipt code the voter was shown,
                sorted;
* ``ballots``   the ballots themselves, shuffled apart from the trackers, so nobody can tell
                which ballot goes with which tracker: the receipt proves your ballot was
                counted, not how you voted. A choice ballot is the sorted list of option ids
                it chose; a ranked one, option ids most preferred first; a score one, a list
                of [option id, score] pairs. The totals count, per option, the ballots that
                name it (chose, ranked or scored it);
* ``channels``  how many of the batch's ballots came through the app, the call centre
                (assisted) or on site; absent (null) on batches written before channels were
                recorded;
* ``hash``      SHA-256 of the batch's canonical JSON (poll, seq, prev, trackers, ballots,
                and channels where the batch has them);
* ``signature`` the city's Ed25519 signature of "mvoting-board-v1:{poll}:{seq}:{hash}".

The ``head`` repeats the last batch's number, hash and signature: since each hash covers the one
before it, the head's signature vouches for the whole board. The ``totals`` are the results the
city publishes.

This program checks, using nothing but the Python standard library (so you can read all of it):

1. the board is signed with the key you give (the one the city publishes), not some other key;
2. the batches are numbered 1, 2, 3, ... and each one's ``prev`` is the hash of the one before;
3. each batch's hash is right, its trackers are sorted and unique, it holds as many trackers as
   ballots, and at least ``batch_min`` of them; no tracker appears twice on the board;
4. the head is the last batch, and its signature is valid (with ``--all-signatures``: every
   batch's signature too, though the chain of hashes already makes the head's enough);
5. the published totals are exactly the count of the ballots on the board, option by option;
6. with ``--receipt``: your receipt's tracker is on the board, and in which batch.

Run it with a bare ``python3`` (3.8 or newer), against the live board:

    python3 verify_board.py --url https://vote.example.seoul.kr --poll 12 --key <city key, hex>

or against a saved copy (``GET /api/v1/polls/12/board/`` as JSON, all pages' entries in one list):

    python3 verify_board.py --file board.json --key <hex> --receipt 7K2QX-ABCDE-12345-FGHJK-MNPQR

Add ``--token`` with your session token if the board of the poll is only shown to signed-in
voters. It prints what it checked and exits 0 if every check passed, 1 if any failed, and 2 if it
could not run (bad arguments, network or file errors).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # typing.TypeGuard is 3.10+; the verifier runs on 3.8
    from typing import TypeGuard
from dataclasses import dataclass, field

__all__ = [
    "BoardFetchError",
    "Report",
    "board_url",
    "ed25519_verify",
    "entry_hash",
    "fetch",
    "format_report",
    "main",
    "merge_pages",
    "normalise_receipt",
    "signed_message",
    "tracker_of",
    "verify",
]

GENESIS_PREV = "0" * 64
SIGNATURE_CONTEXT = "mvoting-board-v1"

_HEX64 = re.compile(r"[0-9a-f]{64}")  # a SHA-256 hex digest, as Python's hexdigest() writes it
_ANY_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_ANY_HEX128 = re.compile(r"[0-9a-fA-F]{128}")
_OPTION_ID = re.compile(r"0|-?[1-9][0-9]*")  # str(int): how the totals spell an option id


# --------------------------------------------------------------------------------------------
# Ed25519 signature verification (RFC 8032, section 5.1), in plain Python integers.
#
# The curve is the twisted Edwards curve  -x^2 + y^2 = 1 + d x^2 y^2  over the integers modulo
# the prime p = 2^255 - 19. Points are kept in "extended coordinates" (X, Y, Z, T), standing for
# x = X/Z, y = Y/Z with x*y = T/Z, which lets points be added without any division (RFC 8032,
# 5.1.4). This code is written to be read, not to be fast or constant-time: it only ever handles
# public data (keys, messages and signatures), so timing leaks nothing secret.
# --------------------------------------------------------------------------------------------

_P = 2**255 - 19  # the field prime p
_L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point B
_D = (-121665 * pow(121666, _P - 2, _P)) % _P  # the curve constant d = -121665/121666
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)  # a square root of -1 modulo p

# The base point B (RFC 8032, 5.1): y = 4/5, with the even ("positive") x.
_B_X = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_B_Y = 46316835694926478169428394003475163141307993866256225615783033603165251855960
_B = (_B_X, _B_Y, 1, (_B_X * _B_Y) % _P)
_IDENTITY = (0, 1, 1, 0)  # the neutral element: x = 0, y = 1


def _point_add(p1: tuple, p2: tuple) -> tuple:
    """P1 + P2 in extended coordinates: the complete addition formula of RFC 8032, 5.1.4.

    "Complete" means it is right for every pair of points, doubling and the neutral element
    included, so the scalar multiplication below needs no special cases.
    """
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = t1 * 2 * _D * t2 % _P
    dd = z1 * 2 * z2 % _P
    e, f, g, h = b - a, dd - c, dd + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(s: int, point: tuple) -> tuple:
    """[s]P, the point added to itself s times, by "double and add" over the bits of s."""
    result = _IDENTITY
    addend = point
    while s > 0:
        if s & 1:
            result = _point_add(result, addend)
        addend = _point_add(addend, addend)
        s >>= 1
    return result


def _point_equal(p1: tuple, p2: tuple) -> bool:
    """Whether two extended-coordinate points are the same point: X1/Z1 = X2/Z2, Y1/Z1 = Y2/Z2."""
    x1, y1, z1, _ = p1
    x2, y2, z2, _ = p2
    return (x1 * z2 - x2 * z1) % _P == 0 and (y1 * z2 - y2 * z1) % _P == 0


def _has_small_order(point: tuple) -> bool:
    """Whether [8]P is the neutral element, i.e. P is one of the 8 points of small order.

    RFC 8032 allows such points, but a public key of small order makes signatures that are valid
    for *every* message, and libsodium (behind PyNaCl, which the server signs with) rejects them
    in both keys and R. So do we, so that this verifier and libsodium accept the same signatures.
    """
    return _point_equal(_scalar_mult(8, point), _IDENTITY)


def _decode_point(encoded: bytes) -> tuple | None:
    """Decode a 32-byte point encoding (RFC 8032, 5.1.3), or None if it is not a valid point.

    The encoding is y in little-endian, with the top bit of the last byte holding the lowest
    bit ("sign") of x. x is recovered from the curve equation: x^2 = (y^2 - 1) / (d y^2 + 1).
    """
    if len(encoded) != 32:
        return None
    number = int.from_bytes(encoded, "little")
    x_sign = number >> 255
    y = number & ((1 << 255) - 1)
    if y >= _P:
        return None  # step 1: a y that is not reduced modulo p is a non-canonical encoding
    # Step 2: a candidate square root of u/v is x = u v^3 (u v^7)^((p-5)/8).
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    # Step 3: it is right if v x^2 = u; if v x^2 = -u, the root is x times sqrt(-1); otherwise
    # u/v has no square root and no point has this y.
    vx2 = v * x * x % _P
    if vx2 == u:
        pass
    elif vx2 == (-u) % _P:
        x = x * _SQRT_M1 % _P
    else:
        return None
    # Step 4: pick the root whose lowest bit is the sign bit. x = 0 has no negative, so a sign
    # bit of 1 with x = 0 is a non-canonical encoding.
    if x == 0 and x_sign == 1:
        return None
    if x & 1 != x_sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    RFC 8032, 5.1.7, pure Ed25519 (no context, message not prehashed). Also rejected, as
    libsodium does: S >= L (a "malleable" second form of a valid signature), non-canonical point
    encodings, and keys or R of small order. Never raises on bad input; returns False.
    """
    if not isinstance(public_key, bytes) or not isinstance(signature, bytes):
        return False
    if len(public_key) != 32 or len(signature) != 64:
        return False
    # Step 1: the signature is R (a point, 32 bytes) followed by S (an integer, 32 bytes,
    # little-endian); the public key A is a point too. S must be below L.
    r_bytes, s_bytes = signature[:32], signature[32:]
    s = int.from_bytes(s_bytes, "little")
    if s >= _L:
        return False
    a_point = _decode_point(public_key)
    r_point = _decode_point(r_bytes)
    if a_point is None or r_point is None:
        return False
    if _has_small_order(a_point) or _has_small_order(r_point):
        return False
    # Step 2: k = SHA-512(R || A || M), read as a little-endian integer (reduced modulo L, which
    # leaves [k]A unchanged since A has order L).
    k = int.from_bytes(hashlib.sha512(r_bytes + public_key + message).digest(), "little") % _L
    # Step 3: the signature is valid if [S]B = R + [k]A. The RFC also allows checking the
    # "cofactored" [8][S]B = [8]R + [8][k]A instead; the two agree on every signature an honest
    # signer makes, and this one is what libsodium checks.
    return _point_equal(_scalar_mult(s, _B), _point_add(r_point, _scalar_mult(k, a_point)))


# --------------------------------------------------------------------------------------------
# The board's hashes, signed messages and trackers.
# --------------------------------------------------------------------------------------------


def entry_hash(
    poll: int,
    seq: int,
    prev: str,
    trackers: list,
    ballots: list,
    channels: dict | None = None,
) -> str:
    """The hash of one board entry: SHA-256 (hex) of its canonical JSON.

    Canonical: keys sorted, no spaces, non-ASCII escaped, so every program that writes the same
    values writes the same bytes. ``channels`` (the batch's ballots per channel: app, assisted,
    onsite) is hashed where the entry has it; entries written before channels were recorded
    have none, and hash as they always did.
    """
    content = {"poll": poll, "seq": seq, "prev": prev, "trackers": trackers, "ballots": ballots}
    if channels is not None:
        content["channels"] = channels
    canonical = json.dumps(
        content,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    return hashlib.sha256(canonical).hexdigest()


def signed_message(poll: int, seq: int, hash: str) -> bytes:
    """The bytes the city signs for entry ``seq`` of ``poll``, whose hash is ``hash``."""
    return f"{SIGNATURE_CONTEXT}:{poll}:{seq}:{hash}".encode()


_RECEIPT_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def normalise_receipt(code: str) -> str:
    """A receipt code as the tracker is computed from it: upper case, without "-" or spaces,
    and the letters that look like digits read as those digits (I and L as 1, O as 0)."""
    return code.upper().replace("-", "").replace(" ", "").translate(_RECEIPT_LOOKALIKES)


def tracker_of(code: str) -> str:
    """The tracker (SHA-256 hex of the normalised code) that a receipt code shows up as."""
    return hashlib.sha256(normalise_receipt(code).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Checking a board document.
# --------------------------------------------------------------------------------------------

# The checks, in the order they are reported. Each problem found belongs to one of them.
CHECK_FORMAT = "document well-formed"
CHECK_PAGES = "all pages agree"
CHECK_POLL = "board is of the poll asked for"
CHECK_KEY = "signed with the given key"
CHECK_SEQ = "batches numbered 1, 2, 3, ... without gaps"
CHECK_CHAIN = "each batch chained to the one before"
CHECK_HASH = "batch hashes"
CHECK_TRACKERS = "trackers sorted and unique"
CHECK_SIZE = "batch sizes (trackers = ballots >= batch_min)"
CHECK_HEAD = "head is the last batch"
CHECK_HEAD_SIG = "head signature"
CHECK_ALL_SIGS = "every batch's signature"
CHECK_TOTAL_BALLOTS = "total number of ballots"
CHECK_TOTAL_OPTIONS = "totals per option"
CHECK_RECEIPTS = "receipts on the board"


@dataclass
class Report:
    """What ``verify`` found. ``ok`` is True only if no problem was found."""

    ok: bool
    problems: list[str]
    ballots: int  # ballots on the board
    entries: int  # batches on the board
    found: dict[str, int | None]  # receipt code -> seq of the batch holding it, or None
    poll: int | None = None
    batch_min: int | None = None
    head_seq: int | None = None
    options: dict[str, int] = field(default_factory=dict)  # option id -> ballots choosing it
    checks: list[tuple[str, bool]] = field(default_factory=list)  # (check, passed), in order
    notes: list[str] = field(default_factory=list)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not a number


def _decode_hex(text: str, pattern: re.Pattern) -> bytes | None:
    if isinstance(text, str) and pattern.fullmatch(text):
        return bytes.fromhex(text)
    return None


class _Findings:
    """Problems found so far, each filed under the check it fails."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.run: list[str] = []

    def ran(self, *checks: str) -> None:
        for check in checks:
            if check not in self.run:
                self.run.append(check)

    def fail(self, check: str, message: str) -> None:
        self.ran(check)
        self.problems.append((check, message))

    def failed(self, check: str) -> bool:
        return any(c == check for c, _ in self.problems)


def verify(
    document: dict,
    *,
    key_hex: str,
    receipts: list[str] | tuple[str, ...] = (),
    all_signatures: bool = False,
    poll: int | None = None,
) -> Report:
    """Check a board ``document`` (all pages' entries in one list) against the city's key.

    ``key_hex`` is the city's published Ed25519 public key (64 hex digits; a ValueError if it is
    not). ``receipts`` are receipt codes to look for. ``all_signatures`` checks every entry's
    signature, not only the head's. ``poll``, if given, is the poll the board must be of.
    Never raises on a malformed document: what is wrong with it is reported as problems.
    """
    if not isinstance(key_hex, str) or not _ANY_HEX64.fullmatch(key_hex.strip()):
        raise ValueError("the key must be 64 hexadecimal digits (an Ed25519 public key)")
    key_hex = key_hex.strip().lower()
    receipts = list(receipts)
    findings = _Findings()
    report = Report(ok=False, problems=[], ballots=0, entries=0, found={})
    for code in receipts:
        report.found[code] = None
    _check_document(document, key_hex, receipts, all_signatures, poll, findings, report)
    order = [
        CHECK_FORMAT,
        CHECK_PAGES,
        CHECK_POLL,
        CHECK_KEY,
        CHECK_SEQ,
        CHECK_CHAIN,
        CHECK_HASH,
        CHECK_TRACKERS,
        CHECK_SIZE,
        CHECK_HEAD,
        CHECK_HEAD_SIG,
        CHECK_ALL_SIGS,
        CHECK_TOTAL_BALLOTS,
        CHECK_TOTAL_OPTIONS,
        CHECK_RECEIPTS,
    ]
    report.checks = [(c, not findings.failed(c)) for c in order if c in findings.run]
    report.problems = [message for _, message in findings.problems]
    report.ok = not report.problems
    return report


def _check_document(
    document: object,
    key_hex: str,
    receipts: list[str],
    all_signatures: bool,
    expected_poll: int | None,
    findings: _Findings,
    report: Report,
) -> None:
    fail = findings.fail
    findings.ran(CHECK_FORMAT)
    if not isinstance(document, dict):
        fail(CHECK_FORMAT, "the board is not a JSON object")
        return

    # Pages that disagreed on the poll, key, head or totals (see fetch()).
    page_problems = document.get("page_problems")
    if page_problems:
        for problem in page_problems:
            fail(CHECK_PAGES, str(problem))
    elif page_problems is not None:
        findings.ran(CHECK_PAGES)

    poll = document.get("poll")
    verify_key = document.get("verify_key")
    batch_min = document.get("batch_min")
    entries = document.get("entries")
    head = document.get("head")
    totals = document.get("totals")
    if not _is_int(poll):
        fail(CHECK_FORMAT, f"'poll' is not an integer: {poll!r}")
    if not isinstance(verify_key, str) or not _ANY_HEX64.fullmatch(verify_key):
        fail(CHECK_FORMAT, "'verify_key' is not 64 hexadecimal digits")
    if not _is_int(batch_min) or batch_min < 1:
        fail(CHECK_FORMAT, f"'batch_min' is not a positive integer: {batch_min!r}")
    if not isinstance(entries, list):
        fail(CHECK_FORMAT, "'entries' is not a list")
    if head is not None and not isinstance(head, dict):
        fail(CHECK_FORMAT, "'head' is neither an object nor null")
    if not isinstance(totals, dict):
        fail(CHECK_FORMAT, "'totals' is not an object")
    if findings.failed(CHECK_FORMAT):
        return  # without these, nothing else can be checked
    # Checked just above; the type checker learns it here.
    poll, verify_key, batch_min = cast(int, poll), cast(str, verify_key), cast(int, batch_min)
    entries = cast(list, entries)
    report.poll = poll
    report.batch_min = batch_min

    if expected_poll is not None:
        findings.ran(CHECK_POLL)
        if poll != expected_poll:
            fail(CHECK_POLL, f"the board is of poll {poll}, not of poll {expected_poll} as asked")

    findings.ran(CHECK_KEY)
    if verify_key.lower() != key_hex:
        fail(
            CHECK_KEY,
            f"the board's key {verify_key.lower()} is not the key given ({key_hex}): "
            "it was not signed by the city",
        )
    public_key = bytes.fromhex(key_hex)  # signatures are checked against the *given* key

    findings.ran(CHECK_SEQ, CHECK_CHAIN, CHECK_HASH, CHECK_TRACKERS, CHECK_SIZE)
    if all_signatures:
        findings.ran(CHECK_ALL_SIGS)
    option_counts: Counter = Counter()
    tracker_seq: dict[str, int] = {}  # tracker -> the seq of the batch holding it
    ballot_total = 0
    previous_hash: str | None = GENESIS_PREV
    last_entry = None  # the last entry, if well-formed
    for index, entry in enumerate(entries):
        position = index + 1
        where = f"batch #{position}"
        if not isinstance(entry, dict):
            fail(CHECK_FORMAT, f"{where} is not an object")
            previous_hash = None
            last_entry = None
            continue
        seq = entry.get("seq")
        prev = entry.get("prev")
        trackers = entry.get("trackers")
        ballots = entry.get("ballots")
        channels = entry.get("channels")
        stated_hash = entry.get("hash")
        signature = entry.get("signature")
        if _is_int(seq):
            where = f"batch seq {seq}" if seq == position else f"batch #{position} (seq {seq})"
        malformed = _entry_format_problems(seq, prev, trackers, ballots, stated_hash, signature)
        for problem in malformed:
            fail(CHECK_FORMAT, f"{where}: {problem}")
        if malformed:
            previous_hash = stated_hash if isinstance(stated_hash, str) else None
            last_entry = None
            continue
        # _entry_format_problems found none: each field has its type.
        seq, prev, stated_hash = cast(int, seq), cast(str, prev), cast(str, stated_hash)
        signature = cast(str, signature)
        trackers, ballots = cast(list, trackers), cast(list, ballots)

        if seq != position:
            fail(CHECK_SEQ, f"{where}: expected seq {position} here, found {seq}")
        if previous_hash is not None and prev != previous_hash:
            if position == 1:
                fail(CHECK_CHAIN, f"{where}: the first batch's prev is not {GENESIS_PREV}")
            else:
                fail(
                    CHECK_CHAIN,
                    f"{where}: prev {prev[:16]}... is not the hash of the batch before it "
                    f"({previous_hash[:16]}...): a batch was removed, reordered or changed",
                )
        computed = entry_hash(poll, seq, prev, trackers, ballots, channels)
        if computed != stated_hash:
            fail(
                CHECK_HASH,
                f"{where}: its contents hash to {computed[:16]}..., not to its stated hash "
                f"{stated_hash[:16]}...: a ballot, tracker or field was changed",
            )
        if any(trackers[i] >= trackers[i + 1] for i in range(len(trackers) - 1)):
            fail(CHECK_TRACKERS, f"{where}: its trackers are not sorted ascending without repeats")
        for tracker in trackers:
            if tracker in tracker_seq and tracker_seq[tracker] != seq:
                fail(
                    CHECK_TRACKERS,
                    f"{where}: tracker {tracker[:16]}... is also in batch seq "
                    f"{tracker_seq[tracker]}",
                )
            tracker_seq.setdefault(tracker, seq)
        if len(trackers) != len(ballots):
            fail(CHECK_SIZE, f"{where}: {len(trackers)} trackers but {len(ballots)} ballots")
        if channels is not None and (
            not isinstance(channels, dict)
            or not all(isinstance(k, str) and _is_int(n) and n > 0 for k, n in channels.items())
            or sum(channels.values()) != len(ballots)
        ):
            fail(CHECK_SIZE, f"{where}: its ballots per channel do not add up to its ballots")
        if len(ballots) < batch_min:
            fail(
                CHECK_SIZE,
                f"{where}: {len(ballots)} ballots, fewer than the minimum batch of {batch_min}",
            )
        for number, ballot in enumerate(ballots, start=1):
            named = [item[0] if isinstance(item, list) else item for item in ballot]
            if len(set(named)) != len(named):
                fail(CHECK_FORMAT, f"{where}: ballot {number} names the same option twice")
            option_counts.update(str(option) for option in set(named))
        ballot_total += len(ballots)
        if all_signatures and not ed25519_verify(
            public_key, signed_message(poll, seq, stated_hash), bytes.fromhex(signature)
        ):
            fail(CHECK_ALL_SIGS, f"{where}: its signature is not valid for the given key")
        previous_hash = stated_hash
        last_entry = entry

    report.entries = len(entries)
    report.ballots = ballot_total
    report.options = {k: option_counts[k] for k in sorted(option_counts, key=_option_sort_key)}

    _check_head(head, entries, last_entry, poll, public_key, findings, report)
    _check_totals(totals, ballot_total, option_counts, entries, findings, report)

    if receipts:
        findings.ran(CHECK_RECEIPTS)
    for code in receipts:
        seq = tracker_seq.get(tracker_of(code))
        report.found[code] = seq
        if seq is None:
            fail(
                CHECK_RECEIPTS,
                f"receipt {code}: NOT FOUND on the board (if the poll is still open, its batch "
                "may not have been counted yet)",
            )


def _entry_format_problems(seq, prev, trackers, ballots, stated_hash, signature) -> list[str]:
    """What is missing or mistyped in an entry, so that it cannot be checked further."""
    problems = []
    if not _is_int(seq):
        problems.append(f"'seq' is not an integer: {seq!r}")
    if not isinstance(prev, str) or not _HEX64.fullmatch(prev):
        problems.append("'prev' is not 64 lower-case hexadecimal digits")
    if not isinstance(stated_hash, str) or not _HEX64.fullmatch(stated_hash):
        problems.append("'hash' is not 64 lower-case hexadecimal digits")
    if _decode_hex(signature, _ANY_HEX128) is None:
        problems.append("'signature' is not 128 hexadecimal digits")
    if not isinstance(trackers, list) or not all(
        isinstance(t, str) and _HEX64.fullmatch(t) for t in trackers
    ):
        problems.append("'trackers' is not a list of 64-digit lower-case hexadecimal trackers")
    if not isinstance(ballots, list) or not all(
        isinstance(b, list) and all(_is_option(item) for item in b) for b in ballots
    ):
        problems.append(
            "'ballots' is not a list of lists of option ids (integers) or [option id, score] pairs"
        )
    return problems


def _is_option(item) -> bool:
    """An option id, or a score ballot's [option id, score] pair."""
    if isinstance(item, list):
        return len(item) == 2 and _is_int(item[0]) and _is_int(item[1])
    return _is_int(item)


def _option_sort_key(option: str) -> tuple:
    return (0, int(option), "") if _OPTION_ID.fullmatch(option) else (1, 0, option)


def _check_head(head, entries, last_entry, poll, public_key, findings: _Findings, report) -> None:
    fail = findings.fail
    findings.ran(CHECK_HEAD)
    if not entries:
        if head is not None:
            fail(CHECK_HEAD, "the board has no batches, but its head names one")
        return
    if head is None:
        fail(CHECK_HEAD, f"the board has {len(entries)} batches but no head")
        return
    findings.ran(CHECK_HEAD_SIG)
    head_seq, head_hash, head_signature = head.get("seq"), head.get("hash"), head.get("signature")
    signature = _decode_hex(head_signature, _ANY_HEX128)
    if not _is_int(head_seq) or not isinstance(head_hash, str) or not _HEX64.fullmatch(head_hash):
        fail(CHECK_FORMAT, "the head's seq or hash is malformed")
        return
    report.head_seq = head_seq
    if signature is None:
        fail(CHECK_HEAD_SIG, "the head's signature is not 128 hexadecimal digits")
    elif not ed25519_verify(public_key, signed_message(poll, head_seq, head_hash), signature):
        fail(CHECK_HEAD_SIG, "the head's signature is not valid for the given key")
    if last_entry is None:
        fail(CHECK_HEAD, "the last batch is malformed, so the head cannot be matched to it")
        return
    if head_seq != last_entry["seq"] or head_seq != len(entries):
        fail(
            CHECK_HEAD,
            f"the head is batch seq {head_seq}, but the board's last batch is seq "
            f"{last_entry['seq']} of {len(entries)}: batches are missing or extra",
        )
    if head_hash != last_entry["hash"]:
        fail(CHECK_HEAD, "the head's hash is not the last batch's hash")
    # The head's signature vouches for the last batch's hash and, through the chain of hashes,
    # for every batch. If the last batch carries a signature of its own that differs from the
    # head's, check that one as well, so that no invalid signature is left on the board unseen.
    if (
        CHECK_ALL_SIGS not in findings.run  # with --all-signatures, it was checked already
        and not findings.failed(CHECK_HEAD)
        and last_entry["signature"].lower() != str(head_signature).lower()
        and not ed25519_verify(
            public_key,
            signed_message(poll, last_entry["seq"], last_entry["hash"]),
            bytes.fromhex(last_entry["signature"]),
        )
    ):
        fail(CHECK_HEAD_SIG, "the last batch's own signature is not valid for the given key")


def _check_totals(totals, ballot_total, option_counts, entries, findings: _Findings, report):
    fail = findings.fail
    findings.ran(CHECK_TOTAL_BALLOTS, CHECK_TOTAL_OPTIONS)
    total_ballots = totals.get("ballots")
    options = totals.get("options")
    if not _is_int(total_ballots):
        fail(CHECK_TOTAL_BALLOTS, f"totals.ballots is not an integer: {total_ballots!r}")
    elif total_ballots != ballot_total:
        if not entries:
            fail(
                CHECK_TOTAL_BALLOTS,
                f"the totals claim {total_ballots} ballots, but no batch has been counted",
            )
        else:
            fail(
                CHECK_TOTAL_BALLOTS,
                f"the totals claim {total_ballots} ballots, the board holds {ballot_total}",
            )
    if not entries:
        report.notes.append("no batch counted yet")
    if not isinstance(options, dict):
        fail(CHECK_TOTAL_OPTIONS, "totals.options is not an object")
        return
    for option, count in options.items():
        if not _OPTION_ID.fullmatch(option):
            fail(CHECK_TOTAL_OPTIONS, f"totals.options has a key that is no option id: {option!r}")
        elif not _is_int(count) or count < 0:
            fail(CHECK_TOTAL_OPTIONS, f"option {option}: the total {count!r} is not a count")
    for option in sorted(set(options) | set(option_counts), key=_option_sort_key):
        claimed, counted = options.get(option), option_counts.get(option, 0)
        if claimed is None:
            fail(
                CHECK_TOTAL_OPTIONS,
                f"option {option}: chosen on {counted} board ballots, but missing from the totals",
            )
        elif _is_int(claimed) and claimed != counted:
            fail(
                CHECK_TOTAL_OPTIONS,
                f"option {option}: the totals claim {claimed}, the board's ballots count {counted}",
            )


# --------------------------------------------------------------------------------------------
# Fetching the board over HTTP.
# --------------------------------------------------------------------------------------------


class BoardFetchError(Exception):
    """The board could not be fetched: network or HTTP error, or not a board document."""


# Fields every page repeats; pages that disagree on them are reported as problems.
_PAGE_INVARIANTS = ("poll", "verify_key", "batch_min", "head", "totals")
_MAX_PAGES = 1_000_000


def board_url(base: str, poll: int) -> str:
    """The board's address on the server at ``base``."""
    return f"{base.rstrip('/')}/api/v1/polls/{int(poll)}/board/"


def _get_json(url: str, token: str | None, timeout: float) -> dict:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise BoardFetchError(f"not an http(s) address: {url}")
    headers = {"Accept": "application/json", "User-Agent": "mvoting-verify-board/1"}
    if token:
        headers["X-Session-Token"] = token
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only, above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise BoardFetchError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise BoardFetchError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    try:
        page = json.loads(body)
    except ValueError as exc:
        raise BoardFetchError(f"{url}: the response is not JSON ({exc})") from exc
    if not isinstance(page, dict) or not isinstance(page.get("entries"), list):
        raise BoardFetchError(f"{url}: the response is not a board page")
    return page


def fetch(url: str, poll: int, token: str | None = None, *, timeout: float = 30.0) -> dict:
    """Fetch the board of ``poll`` from the server at ``url`` (e.g. "https://vote.example"),
    following "next" page by page, and return one document with every page's entries.

    If the pages disagree on the poll, key, batch_min, head or totals, the returned document
    says so in a "page_problems" list, which ``verify`` reports. Raises BoardFetchError if a page
    cannot be fetched or is not a board page.
    """
    next_url: str | None = board_url(url, poll)
    seen: set[str] = set()
    pages: list[dict] = []
    while next_url:
        if next_url in seen or len(pages) >= _MAX_PAGES:
            raise BoardFetchError(f"the pages link back to {next_url}: they never end")
        seen.add(next_url)
        page = _get_json(next_url, token, timeout)
        pages.append(page)
        following = page.get("next")
        if following is not None and not isinstance(following, str):
            raise BoardFetchError(f"{next_url}: 'next' is not an address")
        next_url = urllib.parse.urljoin(next_url, following) if following else None
    return merge_pages(pages)


def merge_pages(pages: list[dict]) -> dict:
    """One document from the pages of a board: the first page's fields, every page's entries."""
    first = pages[0]
    document = {key: value for key, value in first.items() if key != "next"}
    document["entries"] = [entry for page in pages for entry in page["entries"]]
    document["page_problems"] = [
        f"page {number} differs from page 1 in '{key}'"
        for number, page in enumerate(pages[1:], start=2)
        for key in _PAGE_INVARIANTS
        if page.get(key) != first.get(key)
    ]
    return document


# --------------------------------------------------------------------------------------------
# The command line.
# --------------------------------------------------------------------------------------------

_MAX_PROBLEMS_SHOWN = 50


def format_report(report: Report) -> str:
    """The human-readable report the command prints."""
    lines = []
    poll = "?" if report.poll is None else report.poll
    lines.append(f"Board of poll {poll}")
    lines.append(f"  batches: {report.entries}   ballots: {report.ballots}")
    head = "none" if report.head_seq is None else f"seq {report.head_seq}"
    lines.append(f"  head:    {head}   minimum batch: {report.batch_min}")
    lines.extend(f"  {note}" for note in report.notes)
    if report.options:
        lines.append("  ballots choosing each option (from the board):")
        lines.extend(f"    option {option}: {n}" for option, n in report.options.items())
    lines.append("Checks:")
    lines.extend(
        f"  {'ok    ' if passed else 'FAILED'}  {check}" for check, passed in report.checks
    )
    if report.found:
        lines.append("Receipts:")
        for code, seq in report.found.items():
            lines.append(f"  {code}: " + ("NOT FOUND" if seq is None else f"found in batch {seq}"))
    if report.problems:
        lines.append("Problems:")
        lines.extend(f"  - {problem}" for problem in report.problems[:_MAX_PROBLEMS_SHOWN])
        if len(report.problems) > _MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(report.problems) - _MAX_PROBLEMS_SHOWN} more")
    lines.append("RESULT: " + ("all checks passed" if report.ok else "FAILED"))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify_board.py",
        description="Verify a poll's public board: hash chain, city signature, totals, receipts.",
        epilog="Exit status: 0 every check passed, 1 a check failed, 2 could not run.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="the server's address, e.g. https://vote.example.kr")
    source.add_argument("--file", help="a saved board document (JSON)")
    parser.add_argument("--poll", type=int, help="the poll's id (with --url)")
    parser.add_argument("--key", required=True, help="the city's published key (64 hex digits)")
    parser.add_argument(
        "--receipt", action="append", default=[], metavar="CODE", help="a receipt code to look for"
    )
    parser.add_argument(
        "--all-signatures",
        action="store_true",
        help="check every batch's signature, not only the head's",
    )
    parser.add_argument("--token", help="a session token, if the board needs signing in")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.url is not None and args.poll is None:
        parser.print_usage(sys.stderr)
        print("error: --url needs --poll", file=sys.stderr)
        return 2
    if not _ANY_HEX64.fullmatch(args.key.strip()):
        print("error: --key must be 64 hexadecimal digits", file=sys.stderr)
        return 2
    try:
        if args.url is not None:
            document = fetch(args.url, args.poll, args.token)
        else:
            with open(args.file, encoding="utf-8") as handle:
                document = json.load(handle)
    except BoardFetchError as exc:
        print(f"error: could not fetch the board: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: could not read {args.file}: {exc}", file=sys.stderr)
        return 2
    report = verify(
        document,
        key_hex=args.key,
        receipts=args.receipt,
        all_signatures=args.all_signatures,
        poll=args.poll,
    )
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

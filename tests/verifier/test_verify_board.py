"""The standalone board verifier (verifier/verify_board.py): its pure-Python Ed25519 against
libsodium (PyNaCl) and `cryptography`, every board check against boards signed here, the command
line, and fetching a paginated board over HTTP. No database."""

import hashlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_scalarmult_ed25519_base_noclamp
from nacl.signing import SigningKey

from verifier import verify_board as vb
from verifier.verify_board import (
    BoardFetchError,
    ed25519_verify,
    entry_hash,
    fetch,
    signed_message,
    tracker_of,
    verify,
)

SCRIPT = Path(vb.__file__)
POLL = 12
BATCH_MIN = 3
CITY_KEY = SigningKey(hashlib.sha256(b"test city key").digest())
CITY_KEY_HEX = CITY_KEY.verify_key.encode().hex()
OTHER_KEY = SigningKey(hashlib.sha256(b"someone else").digest())


# --- Building boards ------------------------------------------------------------------------


def receipt(n: int) -> str:
    """A receipt code as shown to a voter (deterministic per n)."""
    digits = f"{n:05d}"
    return f"7K2QX-ABCDE-{digits}-FGHJK-MNPQR"


def make_entries(batches: list[list[tuple[str, list[int]]]]) -> list[dict]:
    """Entries (contents only) from batches of (receipt code, ballot): trackers sorted ascending,
    the ballots given in the trackers' order."""
    entries = []
    for batch in batches:
        pairs = sorted((tracker_of(code), ballot) for code, ballot in batch)
        entries.append(
            {"trackers": [t for t, _ in pairs], "ballots": [ballot for _, ballot in pairs]}
        )
    return entries


def seal(entries: list[dict], *, key: SigningKey = CITY_KEY, poll: int = POLL) -> list[dict]:
    """Number, chain, hash and sign entries as the server does (whatever their contents)."""
    sealed, prev = [], "0" * 64
    for seq, entry in enumerate(entries, start=1):
        digest = entry_hash(poll, seq, prev, entry["trackers"], entry["ballots"])
        signature = key.sign(signed_message(poll, seq, digest)).signature.hex()
        sealed.append(
            {
                "seq": seq,
                "prev": prev,
                "trackers": entry["trackers"],
                "ballots": entry["ballots"],
                "hash": digest,
                "signature": signature,
            }
        )
        prev = digest
    return sealed


def totals_of(entries: list[dict]) -> dict:
    options: dict[str, int] = {}
    for entry in entries:
        for ballot in entry["ballots"]:
            for option in set(ballot):
                options[str(option)] = options.get(str(option), 0) + 1
    return {"ballots": sum(len(e["ballots"]) for e in entries), "options": options}


def document(
    entries: list[dict], *, key: SigningKey = CITY_KEY, poll: int = POLL, batch_min=BATCH_MIN
) -> dict:
    """A board document around sealed entries: head = the last entry, totals counted from them."""
    last = entries[-1] if entries else None
    return {
        "poll": poll,
        "verify_key": key.verify_key.encode().hex(),
        "batch_min": batch_min,
        "entries": entries,
        "next": None,
        "head": (
            {"seq": last["seq"], "hash": last["hash"], "signature": last["signature"]}
            if last
            else None
        ),
        "totals": totals_of(entries),
    }


# Three batches of 3, 4 and 3 ballots; receipt n is ballot n.
BALLOTS = [[3], [4, 7], [3], [4], [7], [3, 4, 7], [3], [], [4], [7, 3]]
BATCHES = [range(0, 3), range(3, 7), range(7, 10)]


def valid_board(**kwargs) -> dict:
    batches = [[(receipt(n), BALLOTS[n]) for n in batch] for batch in BATCHES]
    return document(seal(make_entries(batches), **kwargs), **kwargs)


def resealed(board: dict) -> dict:
    """The board with its entries re-chained and re-signed by the city and totals recounted:
    a tampering the city itself could sign, left only for the content checks to catch."""
    return document(seal(board["entries"]), batch_min=board["batch_min"])


def check(board: dict, **kwargs):
    kwargs.setdefault("key_hex", CITY_KEY_HEX)
    return verify(board, **kwargs)


def assert_fails(report, *fragments: str) -> None:
    assert not report.ok
    text = "\n".join(report.problems)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in problems:\n{text}"


# --- Ed25519 ----------------------------------------------------------------------------------

# RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte): secret, public, msg, sig.
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
        "1cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
        "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_vectors(secret, public, message, signature):
    key = SigningKey(bytes.fromhex(secret))
    assert key.verify_key.encode().hex() == public  # the vectors are what libsodium makes, too
    assert key.sign(bytes.fromhex(message)).signature.hex() == signature
    assert ed25519_verify(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))
    assert not ed25519_verify(
        bytes.fromhex(public), bytes.fromhex(message) + b"\x00", bytes.fromhex(signature)
    )


def flip(data: bytes, bit: int) -> bytes:
    mutable = bytearray(data)
    mutable[bit // 8] ^= 1 << (bit % 8)
    return bytes(mutable)


MESSAGES = [b"", b"x", signed_message(POLL, 1, "ab" * 32), bytes(range(256)) * 3]


@pytest.mark.parametrize("message", MESSAGES)
def test_pynacl_signatures_verify_and_tampering_does_not(message):
    public = CITY_KEY.verify_key.encode()
    signature = CITY_KEY.sign(message).signature
    assert ed25519_verify(public, message, signature)
    if message:
        assert not ed25519_verify(public, flip(message, 0), signature)
        assert not ed25519_verify(public, flip(message, 8 * len(message) - 1), signature)
    for bit in (0, 100, 255, 256, 300, 500):  # in R (bits 0-255) and in S (256-511)
        assert not ed25519_verify(public, message, flip(signature, bit))
    for bit in (0, 77, 254):
        assert not ed25519_verify(flip(public, bit), message, signature)
    assert not ed25519_verify(OTHER_KEY.verify_key.encode(), message, signature)


def test_cryptography_signatures_verify():
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = private.public_key().public_bytes_raw()
    for message in MESSAGES:
        signature = private.sign(message)
        assert ed25519_verify(public, message, signature)
        assert not ed25519_verify(public, message + b"!", signature)


def test_s_not_below_l_is_rejected():
    """S + L satisfies the same equation (L is the group order), but RFC 8032 rejects S >= L,
    so a signature has no second, "malleated" form."""
    message = b"mvoting"
    public = CITY_KEY.verify_key.encode()
    signature = CITY_KEY.sign(message).signature
    s = int.from_bytes(signature[32:], "little")
    for bigger in (s + vb._L, vb._L, 2**256 - 1):
        forged = signature[:32] + bigger.to_bytes(32, "little")
        assert not ed25519_verify(public, message, forged)


def test_small_order_key_is_rejected():
    """With the neutral point as the key, R = [S]B makes [S]B = R + [k]A for *any* message:
    such keys (and R) are rejected, as libsodium rejects them."""
    identity_key = (1).to_bytes(32, "little")  # x = 0, y = 1
    s = 12345
    r = crypto_scalarmult_ed25519_base_noclamp(s.to_bytes(32, "little"))
    assert not ed25519_verify(identity_key, b"anything", r + s.to_bytes(32, "little"))


def test_non_canonical_and_malformed_encodings_are_rejected():
    assert vb._decode_point(bytes.fromhex("58" + "66" * 31))[:2] == vb._B[:2]  # B itself
    assert vb._decode_point(vb._P.to_bytes(32, "little")) is None  # y = p, not reduced
    assert vb._decode_point((vb._P + 1).to_bytes(32, "little")) is None  # y = p + 1 (= 1)
    assert vb._decode_point(((1 << 255) | 1).to_bytes(32, "little")) is None  # x = 0, sign 1
    assert vb._decode_point((2).to_bytes(32, "little")) is None  # y = 2 is on no point
    public = CITY_KEY.verify_key.encode()
    signature = CITY_KEY.sign(b"m").signature
    assert not ed25519_verify(public[:31], b"m", signature)
    assert not ed25519_verify(public, b"m", signature[:63])
    assert not ed25519_verify(public.hex(), b"m", signature)  # type: ignore[arg-type]


# --- Hashes, messages, trackers -----------------------------------------------------------------


def test_entry_hash_is_sha256_of_the_canonical_json():
    canonical = (
        b'{"ballots":[[3],[4,7]],"poll":12,"prev":"' + b"0" * 64 + b'","seq":1,'
        b'"trackers":["aa","bb"]}'
    )
    assert entry_hash(12, 1, "0" * 64, ["aa", "bb"], [[3], [4, 7]]) == (
        hashlib.sha256(canonical).hexdigest()
    )


def test_signed_message():
    assert signed_message(12, 3, "ab" * 32) == b"mvoting-board-v1:12:3:" + b"ab" * 32


def test_tracker_normalises_the_receipt_code():
    expected = hashlib.sha256(b"7K2QXABCDE12345FGHJKMNPQR").hexdigest()
    assert tracker_of("7K2QX-ABCDE-12345-FGHJK-MNPQR") == expected
    assert tracker_of("7k2qx abcde 12345 fghjk mnpqr") == expected
    assert tracker_of("o-l i") == hashlib.sha256(b"011").hexdigest()  # O→0, L→1, I→1


# --- Verifying boards ---------------------------------------------------------------------------


def test_valid_board_passes():
    board = valid_board()
    report = check(board, all_signatures=True, poll=POLL)
    assert report.ok, report.problems
    assert report.problems == []
    assert (report.entries, report.ballots, report.head_seq) == (3, 10, 3)
    assert report.options == {"3": 5, "4": 4, "7": 4}
    assert all(passed for _, passed in report.checks)
    assert check(board).ok


def test_board_survives_json_round_trip_and_upper_case_key():
    board = json.loads(json.dumps(valid_board()))
    assert check(board, key_hex=CITY_KEY_HEX.upper()).ok


def test_changed_ballot_fails():
    board = valid_board()
    board["entries"][1]["ballots"][0] = [3]
    report = check(board)
    assert_fails(report, "batch seq 2: its contents hash to", "a ballot, tracker or field")
    assert dict(report.checks)[vb.CHECK_HASH] is False


def test_changed_ballot_with_recomputed_hashes_fails_on_signature():
    """Tampering that recomputes every hash down the chain still cannot sign the head."""
    board = valid_board()
    board["entries"][1]["ballots"][0] = [3]
    forged = seal(board["entries"], key=OTHER_KEY)
    board["entries"] = forged
    board["head"] = {k: forged[-1][k] for k in ("seq", "hash", "signature")}
    board["totals"] = totals_of(forged)
    assert_fails(check(board), "the head's signature is not valid")


def test_changed_tracker_fails():
    board = valid_board()
    trackers = board["entries"][0]["trackers"]
    trackers[1] = trackers[1][:-1] + ("0" if trackers[1][-1] != "0" else "1")
    assert_fails(check(board), "batch seq 1: its contents hash to")


def test_reordered_entries_fail():
    board = valid_board()
    entries = board["entries"]
    entries[1], entries[2] = entries[2], entries[1]
    assert_fails(
        check(board), "batch #2 (seq 3): expected seq 2 here", "not the hash of the batch before"
    )


def test_entry_removed_from_the_middle_fails():
    board = valid_board()
    del board["entries"][1]
    board["totals"] = totals_of(board["entries"])
    report = check(board)
    assert_fails(report, "expected seq 2 here, found 3", "a batch was removed, reordered")
    assert dict(report.checks)[vb.CHECK_CHAIN] is False


def test_last_entry_dropped_fails_on_the_head():
    board = valid_board()
    board["entries"].pop()
    report = check(board)
    assert_fails(
        report,
        "the head is batch seq 3, but the board's last batch is seq 2",
        "the head's hash is not the last batch's hash",
        "the totals claim 10 ballots, the board holds 7",
    )
    assert dict(report.checks)[vb.CHECK_HEAD] is False


def test_wrong_key_fails():
    board = valid_board(key=OTHER_KEY)
    report = check(board)
    assert_fails(report, "is not the key given", "the head's signature is not valid")
    assert dict(report.checks)[vb.CHECK_KEY] is False


def test_document_key_swapped_for_the_given_one_fails():
    board = valid_board(key=OTHER_KEY)
    board["verify_key"] = CITY_KEY_HEX
    assert_fails(check(board), "the head's signature is not valid for the given key")


def test_forged_head_signature_fails():
    board = valid_board()
    head = board["head"]
    head["signature"] = OTHER_KEY.sign(signed_message(POLL, 3, head["hash"])).signature.hex()
    assert_fails(check(board), "the head's signature is not valid")
    head["signature"] = "00" * 64
    assert_fails(check(board), "the head's signature is not valid")


def test_invalid_entry_signature_is_caught_with_all_signatures():
    board = valid_board()
    entry = board["entries"][1]
    entry["signature"] = OTHER_KEY.sign(signed_message(POLL, 2, entry["hash"])).signature.hex()
    assert check(board).ok  # the head's signature covers batch 2 through the chain
    assert_fails(check(board, all_signatures=True), "batch seq 2: its signature is not valid")


def test_invalid_last_entry_signature_differing_from_the_head_fails():
    board = valid_board()
    entry = board["entries"][-1]
    entry["signature"] = OTHER_KEY.sign(signed_message(POLL, 3, entry["hash"])).signature.hex()
    assert_fails(check(board), "the last batch's own signature is not valid")


@pytest.mark.parametrize("delta", [1, -1])
def test_total_ballots_off_by_one_fails(delta):
    board = valid_board()
    board["totals"]["ballots"] += delta
    report = check(board)
    assert_fails(report, f"the totals claim {10 + delta} ballots, the board holds 10")
    assert dict(report.checks)[vb.CHECK_TOTAL_BALLOTS] is False


def test_option_total_off_by_one_fails():
    board = valid_board()
    board["totals"]["options"]["4"] += 1
    assert_fails(check(board), "option 4: the totals claim 5, the board's ballots count 4")


def test_option_missing_from_totals_or_extra_fails():
    board = valid_board()
    del board["totals"]["options"]["7"]
    assert_fails(check(board), "option 7: chosen on 4 board ballots, but missing from the totals")
    board = valid_board()
    board["totals"]["options"]["9"] = 1
    assert_fails(check(board), "option 9: the totals claim 1, the board's ballots count 0")
    board["totals"]["options"]["9"] = 0
    assert check(board).ok  # an option nobody chose may be listed with 0


def test_entry_below_batch_min_fails():
    board = valid_board()
    board["entries"][2]["trackers"].pop()
    board["entries"][2]["ballots"].pop()
    report = check(resealed(board))
    assert_fails(report, "batch seq 3: 2 ballots, fewer than the minimum batch of 3")
    assert [check for check, passed in report.checks if not passed] == [vb.CHECK_SIZE]


def test_trackers_and_ballots_of_different_lengths_fail():
    board = valid_board()
    board["entries"][1]["ballots"].pop()
    assert_fails(check(resealed(board)), "batch seq 2: 4 trackers but 3 ballots")


def test_unsorted_trackers_fail():
    board = valid_board()
    trackers = board["entries"][1]["trackers"]
    trackers[0], trackers[1] = trackers[1], trackers[0]
    report = check(resealed(board))
    assert_fails(report, "batch seq 2: its trackers are not sorted")
    assert [check for check, passed in report.checks if not passed] == [vb.CHECK_TRACKERS]


def test_tracker_on_two_batches_fails():
    board = valid_board()
    first, second = board["entries"][0], board["entries"][1]
    second["trackers"] = sorted([*second["trackers"], first["trackers"][0]])
    second["ballots"].append([3])
    assert_fails(check(resealed(board)), "is also in batch seq 1")


def test_first_entry_must_start_the_chain():
    board = valid_board()
    entries = board["entries"]
    entries[0]["prev"] = "1" * 64
    assert_fails(check(board), "batch seq 1: the first batch's prev is not 000")


def test_board_of_another_poll_fails():
    board = valid_board(poll=13)
    assert check(board).ok
    assert_fails(check(board, poll=POLL), "the board is of poll 13, not of poll 12")


def test_empty_board():
    board = document([])
    report = check(board)
    assert report.ok, report.problems
    assert report.notes == ["no batch counted yet"]
    assert (report.entries, report.ballots, report.head_seq) == (0, 0, None)

    board["totals"] = {"ballots": 1, "options": {"3": 1}}
    assert_fails(check(board), "the totals claim 1 ballots, but no batch has been counted")

    board = document([])
    board["head"] = valid_board()["head"]
    assert_fails(check(board), "the board has no batches, but its head names one")


def test_entries_without_a_head_fail():
    board = valid_board()
    board["head"] = None
    assert_fails(check(board), "the board has 3 batches but no head")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda b: b.update(entries={}), "'entries' is not a list"),
        (lambda b: b.update(poll="12"), "'poll' is not an integer"),
        (lambda b: b.update(batch_min=0), "'batch_min' is not a positive integer"),
        (lambda b: b.update(verify_key="xyz"), "'verify_key' is not 64 hexadecimal"),
        (lambda b: b.update(totals=None), "'totals' is not an object"),
        (lambda b: b["entries"][1]["ballots"].__setitem__(0, [True]), "'ballots' is not a"),
        (lambda b: b["entries"][1]["ballots"].__setitem__(0, [3.0]), "'ballots' is not a"),
        (lambda b: b["entries"][1]["trackers"].__setitem__(0, 5), "'trackers' is not a"),
        (lambda b: b["entries"][1].pop("hash"), "'hash' is not 64"),
        (lambda b: b["entries"][1].update(signature="zz"), "'signature' is not 128"),
        (lambda b: b["entries"].__setitem__(1, []), "batch #2 is not an object"),
        (lambda b: b["entries"][1]["ballots"].__setitem__(0, [4, 4]), "the same option twice"),
        (lambda b: b["totals"]["options"].update(x=1), "a key that is no option id"),
    ],
)
def test_malformed_documents_are_reported_not_raised(mutate, fragment):
    board = valid_board()
    mutate(board)
    assert_fails(check(board), fragment)


def test_not_a_document():
    assert_fails(check([]), "not a JSON object")  # type: ignore[arg-type]


def test_given_key_must_be_hex():
    with pytest.raises(ValueError, match="64 hexadecimal"):
        verify(valid_board(), key_hex="not a key")


def test_receipts_found_and_not_found():
    board = valid_board()
    lookalike = receipt(5).lower().replace("0", "o").replace("1", "l")  # as a voter might type
    codes = [receipt(0), receipt(4), lookalike, receipt(9), receipt(99)]
    report = check(board, receipts=codes)
    assert report.found == {
        receipt(0): 1,
        receipt(4): 2,
        lookalike: 2,
        receipt(9): 3,
        receipt(99): None,
    }
    assert_fails(report, f"receipt {receipt(99)}: NOT FOUND")
    assert [check for check, passed in report.checks if not passed] == [vb.CHECK_RECEIPTS]
    assert check(board, receipts=codes[:4]).ok


# --- The command line ---------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    # -I -S: no site-packages, no PYTHONPATH, no current directory: the standard library alone.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_on_a_valid_board_exits_0(tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(valid_board()))
    result = run_cli(
        "--file", str(path), "--key", CITY_KEY_HEX, "--receipt", receipt(4), "--all-signatures"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "batches: 3   ballots: 10" in result.stdout
    assert "head:    seq 3" in result.stdout
    assert "option 3: 5" in result.stdout
    assert "ok      every batch's signature" in result.stdout
    assert f"{receipt(4)}: found in batch 2" in result.stdout
    assert "RESULT: all checks passed" in result.stdout


def test_cli_on_a_tampered_board_exits_1(tmp_path):
    board = valid_board()
    board["entries"][0]["ballots"][0] = [7]
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board))
    result = run_cli("--file", str(path), "--key", CITY_KEY_HEX, "--receipt", receipt(99))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED  batch hashes" in result.stdout
    assert f"{receipt(99)}: NOT FOUND" in result.stdout
    assert "RESULT: FAILED" in result.stdout


def test_cli_usage_errors_exit_2(tmp_path):
    assert run_cli("--file", "board.json").returncode == 2  # no --key
    assert run_cli("--file", "x.json", "--key", "12").returncode == 2
    missing = run_cli("--file", str(tmp_path / "missing.json"), "--key", CITY_KEY_HEX)
    assert missing.returncode == 2
    assert "could not read" in missing.stderr
    assert run_cli("--url", "http://127.0.0.1:9", "--key", CITY_KEY_HEX).returncode == 2  # no poll


# --- Fetching over HTTP -------------------------------------------------------------------------


class BoardServer:
    """A local HTTP server serving a board in two pages; remembers each request's headers."""

    def __init__(self, board: dict, *, split: int = 2) -> None:
        path = f"/api/v1/polls/{board['poll']}/board/"
        page1 = {**board, "entries": board["entries"][:split], "next": f"{path}?page=2"}
        page2 = {**board, "entries": board["entries"][split:], "next": None}
        self.pages = {path: page1, f"{path}?page=2": page2}
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                page = server.pages.get(self.path)
                body = json.dumps(page if page is not None else {"detail": "nope"}).encode()
                self.send_response(200 if page is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def test_fetch_follows_pages_and_sends_the_token():
    board = valid_board()
    with BoardServer(board) as server:
        fetched = fetch(server.url + "/", POLL, token="session-123")
    assert [path for path, _ in server.requests] == [
        "/api/v1/polls/12/board/",
        "/api/v1/polls/12/board/?page=2",
    ]
    for _, headers in server.requests:
        assert headers["X-Session-Token"] == "session-123"
        assert headers["Accept"] == "application/json"
    assert fetched["entries"] == board["entries"]
    assert fetched["page_problems"] == []
    report = check(fetched, poll=POLL, all_signatures=True)
    assert report.ok, report.problems
    assert (vb.CHECK_PAGES, True) in report.checks


def test_fetch_without_token_sends_none():
    with BoardServer(valid_board()) as server:
        fetch(server.url, POLL)
    assert all("X-Session-Token" not in headers for _, headers in server.requests)


def test_pages_that_disagree_fail():
    board = valid_board()
    with BoardServer(board) as server:
        server.pages["/api/v1/polls/12/board/?page=2"]["totals"] = {"ballots": 0, "options": {}}
        fetched = fetch(server.url, POLL)
    assert_fails(check(fetched), "page 2 differs from page 1 in 'totals'")


def test_fetch_errors():
    with BoardServer(valid_board()) as server:
        with pytest.raises(BoardFetchError, match="HTTP 404"):
            fetch(server.url, 99)
        server.pages["/api/v1/polls/12/board/?page=2"]["next"] = "/api/v1/polls/12/board/"
        with pytest.raises(BoardFetchError, match="never end"):
            fetch(server.url, POLL)
    with pytest.raises(BoardFetchError, match="not an http"):
        fetch("file:///etc", POLL)


def test_cli_with_url(tmp_path):
    with BoardServer(valid_board()) as server:
        ok = run_cli("--url", server.url, "--poll", "12", "--key", CITY_KEY_HEX, "--token", "t")
        wrong_poll = run_cli("--url", server.url, "--poll", "13", "--key", CITY_KEY_HEX)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok      all pages agree" in ok.stdout
    assert server.requests[0][1]["X-Session-Token"] == "t"
    assert wrong_poll.returncode == 2
    assert "HTTP 404" in wrong_poll.stderr

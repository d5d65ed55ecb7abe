"""The rotating tokens themselves: short, bound to their session's secret, and fresh for their
step and the next only."""

from onsite import tokens

SECRET = "ab" * 32


def test_a_token_is_32_url_safe_characters_carrying_its_session_and_step():
    token = tokens.issue(session_id=123_456, secret=SECRET, step=178_000_000)

    claim = tokens.parse(token)

    assert len(token) == 32
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert claim is not None
    assert (claim.session_id, claim.step) == (123_456, 178_000_000)
    assert claim.signed_by(SECRET)
    assert not claim.signed_by("cd" * 32)


def test_changing_the_session_or_the_step_breaks_the_signature():
    genuine = tokens.parse(tokens.issue(session_id=7, secret=SECRET, step=100))
    assert genuine is not None
    for session_id, step in ((8, 100), (7, 101)):
        other = tokens.parse(tokens.issue(session_id=session_id, secret=SECRET, step=step))
        assert other is not None
        moved = tokens.Claim(session_id=session_id, step=step, header=other.header, mac=genuine.mac)
        assert not moved.signed_by(SECRET)


def test_a_step_is_fresh_now_and_one_step_later_only(settings):
    settings.ONSITE_TOKEN_SECONDS = 10
    at = 1_780_000_005.0  # inside step 178_000_000

    assert tokens.current_step(now=at) == 178_000_000
    assert tokens.freshness(178_000_000, now=at) == tokens.Freshness.CURRENT
    assert tokens.freshness(178_000_000, now=at + 10) == tokens.Freshness.CURRENT
    assert tokens.freshness(178_000_000, now=at + 20) == tokens.Freshness.EXPIRED
    assert tokens.freshness(178_000_001, now=at) == tokens.Freshness.FUTURE
    assert tokens.step_ends_at(178_000_000) == 1_780_000_010


def test_what_is_not_a_token_parses_to_nothing():
    for text in ("", "x" * 31, "x" * 33, "+" * 32, "é" * 32, "A" * 32 + "\n"):
        assert tokens.parse(text) is None


def test_a_session_id_beyond_the_databases_integers_is_no_token():
    # Never looked up: PostgreSQL's bigint would overflow (a 500) rather than find nothing.
    token = tokens.issue(session_id=2**64 - 1, secret=SECRET, step=1)

    assert tokens.parse(token) is None

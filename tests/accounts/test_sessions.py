"""Sessions: worth nothing at rest, listable and revocable by their citizen.

The attacker of the first half is a **database reader** (a leaked backup, a read replica, an
operator's SQL console): every key in ``django_session`` and ``usersessions_usersession`` is
tried as an app token, a browser cookie and an admin cookie. The second half is the **citizen**
whose phone was lost or shared: they see their sessions and end any of them, and the ended
token stops working on its very next request. A citizen who tries to end **another citizen's**
session ends nothing.
"""

from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import sms
from accounts.sessions import stored_key
from accounts.tokens import OneQuerySessionTokenStrategy
from tests.accounts.test_auth_flows import last_code, log_in_by_code
from tests.conftest import pass_second_factor
from tests.factories import CitizenFactory, OfficialFactory

pytestmark = pytest.mark.django_db

PHONE = "+821012345678"
OTHER_PHONE = "+821087654321"
SESSIONS = "/_allauth/app/v1/auth/sessions"
ME = "/api/v1/me/"


def stored_keys() -> set[str]:
    """Every session key the database holds, read as a database reader reads it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key FROM django_session")
        keys = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT session_key FROM usersessions_usersession")
        return keys | {row[0] for row in cursor.fetchall()}


def me_status(token: str) -> int:
    return APIClient().get(ME, HTTP_X_SESSION_TOKEN=token).status_code


def log_in(phone: str) -> str:
    sms.outbox.clear()
    return log_in_by_code(APIClient(), phone)


def browser_log_in(client: Client, phone: str) -> None:
    sms.outbox.clear()
    base = "/_allauth/browser/v1/auth/code"
    response = client.post(f"{base}/request", {"phone": phone}, content_type="application/json")
    assert response.status_code == 401, response.content
    code = last_code(phone)
    response = client.post(f"{base}/confirm", {"code": code}, content_type="application/json")
    assert response.status_code == 200, response.content


# --- At rest: a database reader --------------------------------------------------------------


def test_a_database_reader_finds_no_app_token_and_cannot_vote_with_what_it_finds():
    """Promise: the sessions tables hold only digests of the tokens; a digest sent as
    ``X-Session-Token`` is refused by the API and by allauth. Attacker: a database reader."""
    CitizenFactory(phone=PHONE)
    token = log_in(PHONE)
    assert me_status(token) == 200  # the control: the citizen's own token works

    keys = stored_keys()

    assert token not in keys
    assert stored_key(token) in keys  # in both tables: the session and its listing row
    for key in keys:
        assert me_status(key) == 401
        session = APIClient().get("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=key)
        # allauth's answer to a token it does not know: 410, "this session is gone".
        assert session.status_code == 410, session.content


def test_a_database_reader_cannot_use_a_browser_session_as_a_cookie():
    """Promise: the browser client's ``sessionid`` cookie is stored as a digest too; the digest
    as a cookie is no session. Attacker: a database reader with a browser."""
    CitizenFactory(phone=PHONE)
    browser = Client()
    browser_log_in(browser, PHONE)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.get("/_allauth/browser/v1/auth/session").status_code == 200

    assert cookie not in stored_keys()
    assert stored_key(cookie) in stored_keys()
    for key in stored_keys():
        thief = Client()
        thief.cookies[settings.SESSION_COOKIE_NAME] = key
        assert thief.get("/_allauth/browser/v1/auth/session").status_code == 401


def test_a_database_reader_cannot_use_an_officials_admin_session():
    """Promise: officials' admin sessions (cookie, second factor passed) are stored as digests;
    the digest opens no admin page. Attacker: a database reader after an official's session."""
    official = OfficialFactory()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(official.pk)
    store[BACKEND_SESSION_KEY] = "accounts.backends.UsernameOrEmailBackend"
    store[HASH_SESSION_KEY] = official.get_session_auth_hash()
    pass_second_factor(store, official)
    store.create()
    admin = Client()
    admin.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    assert admin.get("/admin/").status_code == 200  # the control

    assert stored_keys() == {stored_key(store.session_key)}
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stored_key(store.session_key)
    response = thief.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_looking_a_token_up_is_one_query_and_never_sends_the_token():
    """Promise: the hot path (every ballot authenticates) stays one query, and the token itself
    never reaches the database — not even in a query's parameters (a query log is a database
    reader too). A malformed token (NUL, 10 kB, another alphabet) costs no query at all."""
    token = log_in(CitizenFactory(phone=PHONE).phone)
    strategy = OneQuerySessionTokenStrategy()

    with CaptureQueriesContext(connection) as queries:
        session = strategy.lookup_session(token)

    assert session is not None and session[SESSION_KEY]
    assert len(queries) == 1
    assert token not in queries[0]["sql"]
    for garbage in ("\x00" * 40, "a" * 10_000, "토큰" * 10, token.upper(), ""):
        with CaptureQueriesContext(connection) as queries:
            assert strategy.lookup_session(garbage) is None
        assert len(queries) == 0, garbage


def test_a_new_token_carries_over_200_bits():
    """Promise: tokens are long enough that their unkeyed SHA-256 digests cannot be reversed by
    search (docs/security.md, "Sessions and tokens"): 40 characters of [a-z0-9], 206 bits."""
    phones = (PHONE, OTHER_PHONE, "+821011112222")
    tokens = {log_in(CitizenFactory(phone=phone).phone) for phone in phones}

    assert len(tokens) == 3
    for token in tokens:
        assert len(token) == 40
        assert set(token) <= set("abcdefghijklmnopqrstuvwxyz0123456789")


# --- Listing and revoking: the citizen ---------------------------------------------------------


def test_a_citizen_lists_their_own_sessions_and_nobody_elses():
    """Promise: a citizen sees each of their sessions (device, created, which is this one) and
    only theirs. Attacker: another citizen, looking for someone else's sessions."""
    CitizenFactory(phone=PHONE)
    CitizenFactory(phone=OTHER_PHONE)
    first = log_in(PHONE)
    log_in(PHONE)
    log_in(OTHER_PHONE)

    response = APIClient().get(SESSIONS, HTTP_X_SESSION_TOKEN=first)

    assert response.status_code == 200, response.content
    sessions = response.json()["data"]
    assert len(sessions) == 2
    assert [session["is_current"] for session in sessions].count(True) == 1
    for session in sessions:
        assert {"id", "user_agent", "created_at", "is_current"} <= set(session)


def test_ending_one_session_takes_effect_on_its_next_request():
    """Promise: a citizen ends a lost phone's session from another; the lost phone's token is
    refused on its very next request, and the session ending it keeps working."""
    CitizenFactory(phone=PHONE)
    lost = log_in(PHONE)
    kept = log_in(PHONE)
    assert me_status(lost) == 200
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=kept)
    other = next(s for s in client.get(SESSIONS).json()["data"] if not s["is_current"])

    response = client.delete(SESSIONS, {"sessions": [other["id"]]}, format="json")

    assert response.status_code == 200, response.content
    assert me_status(lost) == 401
    assert me_status(kept) == 200
    assert [s["is_current"] for s in client.get(SESSIONS).json()["data"]] == [True]


def test_ending_every_other_session_leaves_only_this_one():
    """Promise: "sign out everywhere else" — every other token is refused at once."""
    CitizenFactory(phone=PHONE)
    others = [log_in(PHONE) for _ in range(2)]
    kept = log_in(PHONE)
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=kept)
    ids = [s["id"] for s in client.get(SESSIONS).json()["data"] if not s["is_current"]]
    assert len(ids) == 2

    assert client.delete(SESSIONS, {"sessions": ids}, format="json").status_code == 200

    assert [me_status(token) for token in others] == [401, 401]
    assert me_status(kept) == 200


def test_ending_the_current_session_logs_out():
    CitizenFactory(phone=PHONE)
    token = log_in(PHONE)
    client = APIClient()
    client.credentials(HTTP_X_SESSION_TOKEN=token)
    [current] = client.get(SESSIONS).json()["data"]

    response = client.delete(SESSIONS, {"sessions": [current["id"]]}, format="json")

    assert response.status_code == 401  # allauth: no longer authenticated
    assert me_status(token) == 401


def test_a_citizen_cannot_end_another_citizens_session():
    """Attacker: a citizen who guesses another citizen's session ids. Nothing is ended."""
    CitizenFactory(phone=PHONE)
    CitizenFactory(phone=OTHER_PHONE)
    victim = log_in(OTHER_PHONE)
    victim_ids = [
        s["id"] for s in APIClient().get(SESSIONS, HTTP_X_SESSION_TOKEN=victim).json()["data"]
    ]
    attacker = APIClient()
    attacker.credentials(HTTP_X_SESSION_TOKEN=log_in(PHONE))

    response = attacker.delete(SESSIONS, {"sessions": victim_ids}, format="json")

    assert response.status_code == 400, response.content
    assert me_status(victim) == 200


def test_officials_cannot_read_citizens_sessions_in_the_admin():
    """Promise: no IP address of a citizen's session is shown to anyone but that citizen:
    allauth's session admin is not installed. Attacker: an official browsing the admin."""
    from allauth.usersessions.models import UserSession
    from django.contrib import admin

    assert not admin.site.is_registered(UserSession)


def test_last_seen_is_kept_without_a_write_on_every_request(settings):
    """Promise: the list shows when each session was last used; it is written at most once per
    ``SESSION_LAST_SEEN_INTERVAL`` per session, so other requests stay at one query."""
    from allauth.usersessions.models import UserSession

    CitizenFactory(phone=PHONE)
    token = log_in(PHONE)
    row = UserSession.objects.get(session_key=stored_key(token))
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=row.created_at.replace(year=2000))
    strategy = OneQuerySessionTokenStrategy()

    with CaptureQueriesContext(connection) as queries:
        strategy.lookup_session(token)
    assert len(queries) == 1  # just signed in: seen, nothing to write
    assert UserSession.objects.get(pk=row.pk).last_seen_at.year == 2000

    settings.SESSION_LAST_SEEN_INTERVAL = 0
    strategy.lookup_session(token)
    assert UserSession.objects.get(pk=row.pk).last_seen_at.year > 2000
    listed = APIClient().get(SESSIONS, HTTP_X_SESSION_TOKEN=token).json()["data"]
    assert listed[0]["last_seen_at"] >= listed[0]["created_at"]

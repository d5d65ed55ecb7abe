"""Rotating SECRET_KEY as docs/operations/secrets.md says: the old key in SECRET_KEY_FALLBACKS.

What a rotation does to signed-in citizens and officials is the part that matters to an operator:
an app's session token is the session key itself, so a rotation that cycled keys, as Django's
get_user does, would sign every phone out (and each sign-in again costs an SMS): the session gets
the new key's hash in place instead (accounts/auth_cache.py). Officials' browser sessions survive
(their cookie follows the cycled key). The voter key never moves.
"""

import pytest

from voting.casting import voter_key

ME = "/api/v1/me/"
OLD = "old-production-secret-" + "o" * 40
NEW = "new-production-secret-" + "n" * 40


@pytest.fixture
def signed_in_before_the_rotation(settings, citizen, client_for):
    settings.SECRET_KEY = OLD
    settings.SECRET_KEY_FALLBACKS = []
    api = client_for(citizen)
    assert api.get(ME).status_code == 200
    return api


def test_with_the_old_key_as_fallback_phones_stay_signed_in(
    settings, signed_in_before_the_rotation
):
    settings.SECRET_KEY = NEW
    settings.SECRET_KEY_FALLBACKS = [OLD]
    api = signed_in_before_the_rotation
    assert api.get(ME).status_code == 200
    # The same token keeps working on the following requests (not cycled away from the phone).
    assert api.get(ME).status_code == 200
    # And once the fallback is dropped, as the rotation's last step says.
    settings.SECRET_KEY_FALLBACKS = []
    assert api.get(ME).status_code == 200


def test_with_the_old_key_as_fallback_an_officials_browser_session_survives(settings, official):
    """A browser's cookie is cycled with the session key: the official stays signed in."""
    from django.test import Client

    settings.SECRET_KEY = OLD
    settings.SECRET_KEY_FALLBACKS = []
    browser = Client()
    browser.force_login(official)
    assert browser.get("/admin/").status_code == 200
    settings.SECRET_KEY = NEW
    settings.SECRET_KEY_FALLBACKS = [OLD]
    assert browser.get("/admin/").status_code == 200
    assert browser.get("/admin/").status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert browser.get("/admin/").status_code == 200


def test_the_first_request_after_a_rotation_with_fallback_is_still_served(
    settings, signed_in_before_the_rotation
):
    settings.SECRET_KEY = NEW
    settings.SECRET_KEY_FALLBACKS = [OLD]
    assert signed_in_before_the_rotation.get(ME).status_code == 200


def test_without_the_fallback_a_rotation_signs_everyone_out(
    settings, signed_in_before_the_rotation
):
    """Why the fallback step is in the procedure: officials' sessions need it."""
    settings.SECRET_KEY = NEW
    settings.SECRET_KEY_FALLBACKS = []
    assert signed_in_before_the_rotation.get(ME).status_code == 401


def test_rotating_secret_key_leaves_the_voter_key_alone(settings):
    settings.SECRET_KEY = OLD
    settings.VOTER_KEY_SECRET = "voter-key-" + "v" * 40
    before = voter_key("+821012345678", 1)
    settings.SECRET_KEY = NEW
    assert voter_key("+821012345678", 1) == before

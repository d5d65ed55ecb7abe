"""Rotating MFA_ENCRYPTION_KEY without re-enrolling anyone (manage.py rotate_mfa_key)."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from accounts import officials_mfa
from tests.factories import OfficialFactory

OLD = "old-mfa-key-" + "o" * 40
NEW = "new-mfa-key-" + "n" * 40


@pytest.fixture
def enrolled_under_the_old_key(settings, db):
    settings.MFA_ENCRYPTION_KEY = OLD
    official = OfficialFactory(username="kim", role="official")
    secret = generate_totp_secret()
    TOTP.activate(official, secret)
    codes = RecoveryCodes.activate(official).generate_codes()
    return official, secret, codes


def _stored(official) -> dict[str, dict]:
    return {a.type: dict(a.data) for a in Authenticator.objects.filter(user=official)}


def _opened(official) -> tuple[str, list[str]]:
    totp = Authenticator.objects.get(user=official, type=Authenticator.Type.TOTP)
    recovery = Authenticator.objects.get(user=official, type=Authenticator.Type.RECOVERY_CODES)
    secret = officials_mfa.MFAAdapter().decrypt(totp.data["secret"])
    return secret, recovery.wrap().generate_codes()


def test_after_the_rotation_the_same_app_and_codes_work(
    settings, monkeypatch, enrolled_under_the_old_key, capsys
):
    official, secret, codes = enrolled_under_the_old_key
    settings.MFA_ENCRYPTION_KEY = NEW
    # The new key alone opens nothing: why the command exists.
    with pytest.raises(ImproperlyConfigured):
        _opened(official)

    monkeypatch.setenv("MFA_ENCRYPTION_KEY_PREVIOUS", OLD)
    call_command("rotate_mfa_key")
    assert "re-encrypted: 2; already current: 0" in capsys.readouterr().out
    assert _opened(official) == (secret, codes)
    # The TOTP code the official's app shows now is accepted.
    totp = Authenticator.objects.get(user=official, type=Authenticator.Type.TOTP)
    assert totp.wrap().validate_code(officials_mfa.current_code(secret=secret))

    # And the old key no longer opens what is stored.
    settings.MFA_ENCRYPTION_KEY = OLD
    with pytest.raises(ImproperlyConfigured):
        _opened(official)


def test_running_it_again_changes_nothing(
    settings, monkeypatch, enrolled_under_the_old_key, capsys
):
    official, _secret, _codes = enrolled_under_the_old_key
    settings.MFA_ENCRYPTION_KEY = NEW
    monkeypatch.setenv("MFA_ENCRYPTION_KEY_PREVIOUS", OLD)
    call_command("rotate_mfa_key")
    once = _stored(official)
    capsys.readouterr()
    call_command("rotate_mfa_key")
    assert "re-encrypted: 0; already current: 2" in capsys.readouterr().out
    assert _stored(official) == once


def test_a_wrong_previous_key_changes_nothing_and_names_no_secret(
    settings, monkeypatch, enrolled_under_the_old_key
):
    official, secret, _codes = enrolled_under_the_old_key
    before = _stored(official)
    settings.MFA_ENCRYPTION_KEY = NEW
    monkeypatch.setenv("MFA_ENCRYPTION_KEY_PREVIOUS", "not-the-old-key-" + "x" * 30)
    with pytest.raises(CommandError, match="opens with neither key") as refused:
        call_command("rotate_mfa_key")
    assert secret not in str(refused.value)
    assert _stored(official) == before


@pytest.mark.parametrize("previous", ["", NEW])
def test_the_previous_key_must_be_given_and_differ(settings, monkeypatch, db, previous):
    settings.MFA_ENCRYPTION_KEY = NEW
    monkeypatch.setenv("MFA_ENCRYPTION_KEY_PREVIOUS", previous)
    with pytest.raises(CommandError, match="MFA_ENCRYPTION_KEY_PREVIOUS"):
        call_command("rotate_mfa_key")

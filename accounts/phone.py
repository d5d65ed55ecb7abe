"""Phone numbers: what citizens type, turned into the E.164 form stored on ``User.phone``."""

import hashlib
import hmac

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "KR"

# A citizen proves the number by receiving a text, so only numbers that can take an SMS are
# accepted. FIXED_LINE_OR_MOBILE is what numbering plans that do not tell the two apart (e.g.
# the US) report for every number.
_SMS_CAPABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}

INVALID_PHONE = _("Enter a valid mobile phone number, e.g. 010-1234-5678 or +821012345678.")


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """Return ``value`` in E.164 (``+821012345678``) or raise ``ValidationError``.

    Accepts E.164 and domestic forms of ``region`` ("010-1234-5678", "01012345678"), with
    spaces, dashes, dots or brackets.
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(INVALID_PHONE, code="invalid_phone") from exc
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _SMS_CAPABLE
    ):
        raise ValidationError(INVALID_PHONE, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_key(phone: str) -> str:
    """Keyed hash of a number: what the profile history is kept against.

    Keyed with the server's voter-key secret (never stored in the database) and a purpose of its
    own, so it matches neither the ballot's voter key nor anything a database reader can compute
    from a list of phone numbers.
    """
    return hmac.new(
        settings.VOTER_KEY_SECRET.encode(), b"profile-history:" + phone.encode(), hashlib.sha256
    ).hexdigest()


def mask_phone(phone: str | None) -> str:
    """+821012345678 → +82 10-****-5678: enough to tell two citizens apart, not to call one."""
    if not phone:
        return "—"
    if phone.startswith("+82") and len(phone) >= 11:
        national = phone[3:]
        return f"+82 {national[:2]}-****-{national[-4:]}"
    return f"{phone[:4]}****{phone[-2:]}"

"""Phone numbers as citizens type them, turned into the E.164 form stored on ``User.phone``.

Pure: no keys, no models. Accounts (sign-up, phone changes) and districts (managed groups' CSV
uploads) both read numbers with it; the keyed hash and masking of stored numbers stay in
accounts/phone.py.
"""

import phonenumbers
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

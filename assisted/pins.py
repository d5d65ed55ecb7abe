"""Visit-verified PINs: an official who has checked a citizen's ID in person gives them a PIN.

For callers without a mobile phone. Not a code sent to a relative's number: whoever holds that
phone could then identify as the citizen and vote for them, and nothing would tell the two apart.
The PIN reaches the citizen's own hands, at a counter, after their identity was checked.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.officials import citizens_within, may_act_on
from assisted import codes, conf
from assisted.models import VisitPin
from assisted.services import normalise_name
from audit.models import AuditEntry
from audit.services import record

AUDIT_ACTION = "issue_visit_pin"
PIN_DIGITS = 6


def check_issuable(*, official: User, citizen: User) -> None:
    """ValidationError unless ``official`` may give ``citizen`` a PIN: an active citizen of the
    official's jurisdiction without a mobile number (who has one gets texted codes: a PIN
    would only be one more way in for whoever got hold of it)."""
    if not citizen.is_active or not may_act_on(official=official, citizen=citizen):
        raise ValidationError(
            _("This citizen is outside your jurisdiction."), code="outside_jurisdiction"
        )
    if citizen.phone:
        raise ValidationError(
            _("This citizen has a mobile number: the call centre texts them a code instead."),
            code="has_mobile_phone",
        )


def pins_visible_to(*, official: User):
    """The PINs of the citizens ``official`` may act on."""
    return VisitPin.objects.filter(citizen__in=citizens_within(official=official))


def issue_pin(*, official: User, citizen: User, name: str, place: str) -> tuple[VisitPin, str]:
    """A new PIN for ``citizen`` (their earlier ones are revoked), and the PIN itself, to be
    shown once. ``name`` is the name on the ID document checked; the operator asks for it."""
    check_issuable(official=official, citizen=citizen)
    name = normalise_name(name)
    now = timezone.now()
    with transaction.atomic():
        # One usable PIN per citizen: the new one replaces any lost or forgotten one.
        VisitPin.objects.filter(citizen=citizen, revoked_at__isnull=True).update(revoked_at=now)
        namesakes = [row.pin_hash for row in VisitPin.objects.usable().filter(name=name)]
        pin = codes.new_code(PIN_DIGITS)
        while any(codes.matches(pin, stored) for stored in namesakes):
            pin = codes.new_code(PIN_DIGITS)  # name and PIN together must name one citizen
        visit_pin = VisitPin.objects.create(
            citizen=citizen,
            name=name,
            place=place.strip(),
            pin_hash=codes.make_hash(pin),
            issued_by=official,
            issued_at=now,
            expires_at=now + timedelta(days=conf.get("ASSISTED_PIN_DAYS")),
        )
        record(
            actor=official,
            subject_type=AuditEntry.Subject.CITIZEN,
            subject_id=citizen.pk,
            title=f"citizen #{citizen.pk}",
            action=AUDIT_ACTION,
            changes={"place": visit_pin.place, "expires_at": visit_pin.expires_at.isoformat()},
        )
    return visit_pin, pin


def revoke_pin(*, official: User, visit_pin: VisitPin) -> None:
    with transaction.atomic():
        VisitPin.objects.filter(pk=visit_pin.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record(
            actor=official,
            subject_type=AuditEntry.Subject.CITIZEN,
            subject_id=visit_pin.citizen_id,
            title=f"citizen #{visit_pin.citizen_id}",
            action="revoke_visit_pin",
            changes={},
        )

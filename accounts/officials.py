"""What officials may do to citizens' accounts: ask for a change, and decide a colleague's request.

No official edits a citizen's identity or eligibility directly (the admin shows those fields read
only). A change is a :class:`CitizenChangeRequest` with a reason; a *second* official with powers
over the same citizen approves it, and only then is it applied. Every step goes to the audit log
(through :data:`accounts.signals.citizen_changed`) with masked old and new values: enough for an
auditor to see what happened, not a register of citizens' ages and addresses.

Powers: a gu official (``jurisdiction`` set) acts only on citizens who live in that gu, and may move
a residence only within it; a city official acts on every citizen. Nobody changes a phone number:
only its holder does, by SMS (accounts/adapter.py).
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import profile_history
from accounts.models import (
    CitizenChangeRequest,
    Gender,
    ProfileChange,
    ProfileField,
    User,
    Verification,
)
from accounts.signals import citizen_changed
from districts.models import District

Kind = CitizenChangeRequest.Kind

REQUEST_PERMISSION = "accounts.add_citizenchangerequest"
DECIDE_PERMISSION = "accounts.decide_citizenchangerequest"


# --- Powers ------------------------------------------------------------------------------------


def gu_of(district: District | None) -> District | None:
    if district is None:
        return None
    if district.level == District.Level.GU:
        return district
    if district.level == District.Level.DONG:
        return district.parent
    return None


def may_act_on(*, official: User, citizen: User) -> bool:
    """Whether ``official``'s jurisdiction covers ``citizen`` (never an official's account)."""
    if not official.is_active or not official.is_staff or citizen.is_staff or citizen.is_superuser:
        return False
    if official.jurisdiction_id is None:
        return True
    gu = gu_of(citizen.district)
    return gu is not None and gu.pk == official.jurisdiction_id


def citizens_within(*, official: User):
    """The citizens an official may see and act on."""
    citizens = User.objects.filter(is_staff=False, is_superuser=False)
    if official.is_superuser or official.jurisdiction_id is None:
        return citizens
    gu = official.jurisdiction_id
    return citizens.filter(Q(district_id=gu) | Q(district__parent_id=gu))


# --- Asking ------------------------------------------------------------------------------------


def request_change(
    *,
    official: User,
    citizen: User,
    kind: str,
    reason: str,
    district: District | None = None,
    birth_year: int | None = None,
    gender: str = "",
) -> CitizenChangeRequest:
    """Ask for a change to ``citizen``; nothing changes until a second official approves."""
    check_request(
        official=official,
        citizen=citizen,
        kind=kind,
        reason=reason,
        district=district,
        birth_year=birth_year,
        gender=gender,
    )
    reason = reason.strip()
    try:
        with transaction.atomic():
            change = CitizenChangeRequest.objects.create(
                citizen=citizen,
                kind=kind,
                district=district if kind == Kind.RESIDENCE else None,
                birth_year=birth_year if kind == Kind.BIRTH_YEAR else None,
                gender=gender if kind == Kind.GENDER else "",
                reason=reason,
                requested_by=official,
            )
            _audit(
                official,
                change,
                "request_verification" if kind == Kind.VERIFY_RESIDENT else "request_change",
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("A request of this kind for this citizen is already awaiting a decision."),
            code="already_pending",
        ) from exc
    return change


def check_request(
    *,
    official: User,
    citizen: User,
    kind: str,
    reason: str,
    district: District | None = None,
    birth_year: int | None = None,
    gender: str = "",
) -> None:
    """Raise PermissionDenied or ValidationError if ``official`` may not ask for this."""
    _check_powers(official=official, citizen=citizen, permission=REQUEST_PERMISSION)
    if len((reason or "").strip()) < 5:
        raise ValidationError(_("Say why, and on what evidence."), code="reason_required")
    _check_value(
        official=official,
        citizen=citizen,
        kind=kind,
        district=district,
        birth_year=birth_year,
        gender=gender,
    )


# --- Deciding ----------------------------------------------------------------------------------


@transaction.atomic
def approve_change(*, official: User, change: CitizenChangeRequest) -> CitizenChangeRequest:
    """A second official approves: the change is applied and the request closed, atomically."""
    change = CitizenChangeRequest.objects.select_for_update().get(pk=change.pk)
    citizen = User.objects.select_for_update().get(pk=change.citizen_id)
    _check_decision(official=official, change=change, citizen=citizen)
    # The value is checked again against the approver's powers and today's state.
    _check_value(
        official=official,
        citizen=citizen,
        kind=change.kind,
        district=change.district,
        birth_year=change.birth_year,
        gender=change.gender,
    )
    before = _masked_state(citizen)
    _apply(change=change, citizen=citizen)
    change.status = CitizenChangeRequest.Status.APPROVED
    change.decided_by = official
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    after = _masked_state(citizen)
    _audit(
        official,
        change,
        "approve_verification" if change.kind == Kind.VERIFY_RESIDENT else "approve_change",
        extra={
            field: [before[field], after[field]]
            for field in before
            if before[field] != after[field]
        },
    )
    return change


@transaction.atomic
def reject_change(
    *, official: User, change: CitizenChangeRequest, note: str = ""
) -> CitizenChangeRequest:
    change = CitizenChangeRequest.objects.select_for_update().get(pk=change.pk)
    citizen = User.objects.get(pk=change.citizen_id)
    if change.requested_by_id == official.pk:
        # Withdrawing one's own request is allowed: it changes nothing.
        _check_powers(official=official, citizen=citizen, permission=REQUEST_PERMISSION)
        if change.status != CitizenChangeRequest.Status.PENDING:
            raise ValidationError(_("This request was already decided."), code="already_decided")
    else:
        _check_decision(official=official, change=change, citizen=citizen)
    change.status = CitizenChangeRequest.Status.REJECTED
    change.decided_by = official
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    _audit(
        official,
        change,
        "reject_verification" if change.kind == Kind.VERIFY_RESIDENT else "reject_change",
        extra={"note": note[:500]} if note else None,
    )
    return change


# --- Rules -------------------------------------------------------------------------------------


def _check_powers(*, official: User, citizen: User, permission: str) -> None:
    if not official.has_perm(permission) or not may_act_on(official=official, citizen=citizen):
        raise PermissionDenied(_("This citizen is outside your powers."))


def _check_decision(*, official: User, change: CitizenChangeRequest, citizen: User) -> None:
    _check_powers(official=official, citizen=citizen, permission=DECIDE_PERMISSION)
    if change.status != CitizenChangeRequest.Status.PENDING:
        raise ValidationError(_("This request was already decided."), code="already_decided")
    if change.requested_by_id is None or change.requested_by_id == official.pk:
        # Four eyes: the one who asked never approves, and a request whose author's account is
        # gone cannot be approved either (nobody would answer for it).
        raise PermissionDenied(_("A second official must decide this request."))


def _check_value(
    *,
    official: User,
    citizen: User,
    kind: str,
    district: District | None,
    birth_year: int | None,
    gender: str,
) -> None:
    if kind == Kind.VERIFY_RESIDENT:
        if not citizen.phone_verified:
            raise ValidationError(_("The citizen's phone is not verified."), code="not_verified")
        if citizen.verification >= Verification.RESIDENT:
            raise ValidationError(_("The citizen is already resident-verified."), code="no_change")
    elif kind == Kind.LOWER_VERIFICATION:
        if citizen.verification <= Verification.PHONE:
            raise ValidationError(_("The citizen is not resident-verified."), code="no_change")
    elif kind == Kind.RESIDENCE:
        if district is None or not district.is_active or district.level == District.Level.CITY:
            raise ValidationError(_("Choose an active gu or dong."), code="invalid_district")
        target_gu = gu_of(district)
        if official.jurisdiction_id is not None and (
            target_gu is None or target_gu.pk != official.jurisdiction_id
        ):
            raise PermissionDenied(_("This residence is outside your powers."))
        if district.pk == citizen.district_id:
            raise ValidationError(_("The citizen already lives there."), code="no_change")
    elif kind == Kind.BIRTH_YEAR:
        this_year = timezone.localdate().year
        if birth_year is None or not 1900 <= birth_year <= this_year:
            raise ValidationError(_("Enter a plausible birth year."), code="invalid_birth_year")
        if birth_year == citizen.birth_year:
            raise ValidationError(_("The birth year is already this."), code="no_change")
    elif kind == Kind.GENDER:
        if gender not in Gender.values:
            raise ValidationError(_("Choose a gender."), code="invalid_gender")
        if gender == citizen.gender:
            raise ValidationError(_("The gender is already this."), code="no_change")
    else:
        raise ValidationError(_("Unknown kind of change."), code="invalid_kind")


def _apply(*, change: CitizenChangeRequest, citizen: User) -> None:
    fields: list[str] = []
    history: str | None = None
    if change.kind == Kind.VERIFY_RESIDENT:
        citizen.verification = Verification.RESIDENT
        fields.append("verification")
    elif change.kind == Kind.LOWER_VERIFICATION:
        citizen.verification = Verification.PHONE
        fields.append("verification")
    elif change.kind == Kind.RESIDENCE:
        citizen.district = change.district
        citizen.district_changed_at = timezone.now()
        fields += ["district", "district_changed_at"]
        history = ProfileField.RESIDENCE
    elif change.kind == Kind.BIRTH_YEAR:
        citizen.birth_year = change.birth_year
        fields.append("birth_year")
        history = ProfileField.BIRTH_YEAR
    elif change.kind == Kind.GENDER:
        citizen.gender = change.gender
        fields.append("gender")
        history = ProfileField.GENDER
    citizen.save(update_fields=fields)
    if history:
        # An official's correction restarts the citizen's own clock.
        profile_history.record_change(
            user=citizen, field=history, source=ProfileChange.Source.OFFICIAL
        )


# --- Audit -------------------------------------------------------------------------------------


def _masked_state(citizen: User) -> dict[str, str]:
    return {
        "verification": Verification(citizen.verification).api_name,
        "residence": mask_residence(citizen.district),
        "birth_year": mask_birth_year(citizen.birth_year),
        "gender": fingerprint("gender", citizen.gender),
    }


def mask_residence(district: District | None) -> str:
    """The gu, never the dong: what eligibility turns on, without the neighbourhood."""
    if district is None:
        return "—"
    gu = gu_of(district)
    suffix = (
        f" {fingerprint('dong', district.code)}" if district.level == District.Level.DONG else ""
    )
    # The stored Korean name, not the translated one: the log reads the same in any language.
    return f"{gu.name_ko if gu else district.name_ko}{suffix}"


def mask_birth_year(year: int | None) -> str:
    if year is None:
        return "—"
    return f"{year // 10 * 10}s {fingerprint('birth_year', str(year))}"


def fingerprint(purpose: str, value: str) -> str:
    """A short keyed fingerprint: tells an auditor *whether* two values are the same (and lets
    someone holding the server key check a claimed value) without showing the value."""
    tag = hmac.new(
        settings.SECRET_KEY.encode(), f"audit:{purpose}:{value}".encode(), hashlib.sha256
    ).hexdigest()
    return f"#{tag[:8]}"


def _audit(
    official: User,
    change: CitizenChangeRequest,
    action: str,
    extra: dict[str, Any] | None = None,
) -> None:
    changes: dict[str, Any] = {
        "request": change.pk,
        "kind": change.kind,
        "reason": change.reason,
        "requested_by": change.requested_by_id,
    }
    if change.kind == Kind.RESIDENCE:
        changes["to"] = mask_residence(change.district)
    elif change.kind == Kind.BIRTH_YEAR:
        changes["to"] = mask_birth_year(change.birth_year)
    elif change.kind == Kind.GENDER:
        changes["to"] = fingerprint("gender", change.gender)
    if extra:
        changes.update(extra)
    citizen_changed.send(
        sender=CitizenChangeRequest,
        actor=official,
        citizen_id=change.citizen_id,
        action=action,
        changes=changes,
    )

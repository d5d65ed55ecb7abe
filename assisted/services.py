"""The assisted channel: an operator identifies a caller and casts the caller's ballot.

identify (an SMS code the caller reads back, or a visit-verified PIN) → the poll as the caller's
eligibility allows it, and whether they have voted (never what) → ``voting.casting.cast_ballot``
with ``channel=assisted`` → the receipt to read back. Every ballot is audited (operator, poll,
time, channel; never the choice, never the number) and counted against the operator's hourly
limit; an operator far above the centre's median raises an alert (assisted/monitoring.py).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts import sms_budget
from accounts.models import User
from accounts.phone import mask_phone
from accounts.sms import SMSError, send_sms
from assisted import codes, conf, limits, monitoring
from assisted.models import Identification, VisitPin
from audit.models import AuditEntry
from audit.services import record
from core.errors import ApiError, Forbidden
from core.phone import normalize_phone
from voting import bilingual, eligibility, selectors
from voting.casting import REASON_TEXT, CastResult, PollNotOpen, cast_ballot
from voting.models import Channel, Poll

# Time to take the caller's choice once they are identified.
CAST_WINDOW = timedelta(minutes=15)
AUDIT_ACTION = "assisted_ballot"


class InvalidPhone(ApiError):
    default_code = "invalid_phone"


class UnknownCitizen(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "unknown_citizen"
    default_detail = _("No citizen account uses this number (or it is not verified).")


class WrongCode(ApiError):
    default_code = "wrong_code"
    default_detail = _("The code is wrong. Ask the caller to read it again.")


class CodeExpired(ApiError):
    status_code = status.HTTP_410_GONE
    default_code = "code_expired"
    default_detail = _("The code has expired or was used. Send a new one.")


class TooManyAttempts(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_attempts"
    default_detail = _("Too many wrong codes: this identification is void. Start again.")


class WrongPin(ApiError):
    default_code = "wrong_pin"
    default_detail = _("No usable PIN matches this name and PIN.")


class NotYours(Forbidden):
    default_code = "not_your_identification"
    default_detail = _("This identification belongs to another operator.")


class NotIdentified(Forbidden):
    default_code = "not_identified"
    default_detail = _("The caller is not identified (or the time to vote ran out). Start again.")


class SMSUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = _("The text message could not be sent. Try again, or use a visit PIN.")


# --- Polls ---------------------------------------------------------------------------------------


def search_polls(*, query: str = "", limit: int = 30) -> list[Poll]:
    """Open polls whose title (Korean or English) contains ``query``; soonest closing first.

    Private polls are left out (their members vote in the app or with the invitation), and so are
    on-site-only polls, which take no assisted ballots.
    """
    polls = Poll.objects.open_at(timezone.now()).filter(private=False, onsite_only=False)
    query = query.strip()
    if query:
        polls = polls.filter(Q(title__icontains=query) | Q(title_en__icontains=query))
    return list(polls.order_by("closes_at", "pk")[:limit])


def open_poll(*, poll_id: int) -> Poll:
    """An open poll that takes assisted ballots (404 otherwise: as if it did not exist)."""
    poll = (
        Poll.objects.open_at(timezone.now())
        .filter(pk=poll_id, private=False, onsite_only=False)
        .first()
    )
    if poll is None:
        raise Http404
    return poll


# --- Identification ------------------------------------------------------------------------------


def start_sms(*, operator: User, poll_id: int, phone: str) -> Identification:
    """Text a one-time code to the citizen with ``phone``; the operator types what they read."""
    poll = open_poll(poll_id=poll_id)
    try:
        phone = normalize_phone(phone)
    except ValidationError as exc:
        raise InvalidPhone(exc.messages[0]) from exc
    limits.charge_identification(operator=operator, phone=phone)
    citizen = User.objects.filter(
        phone=phone, phone_verified=True, is_active=True, is_staff=False
    ).first()
    if citizen is None:
        raise UnknownCitizen()
    limits.charge_sms(phone=phone)
    code = codes.new_code()
    now = timezone.now()
    seconds = conf.get("ASSISTED_CODE_SECONDS")
    identification = Identification.objects.create(
        operator=operator,
        citizen=citizen,
        poll=poll,
        method=Identification.Method.SMS,
        code_hash=codes.make_hash(code),
        created_at=now,
        expires_at=now + timedelta(seconds=seconds),
    )
    # In the city's language, whatever the operator's page is in: the caller reads it.
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            # No poll named: the SMS provider need not learn who takes part in what.
            "[%(sender)s] Call centre code %(code)s: read it to the operator to vote by phone. "
            "It expires in %(minutes)d minutes. If you did not call us, ignore this message."
        ) % {"sender": settings.SMS_SENDER, "code": code, "minutes": max(1, seconds // 60)}
    try:
        # The city's one SMS budget (per number, and the hourly total) counts these too.
        sms_budget.charge(phone=phone, ip=None)
        send_sms(phone, str(body))
    except (SMSError, sms_budget.SMSBudgetRefused) as exc:
        raise SMSUnavailable() from exc
    return identification


def owned(*, operator: User, identification_id: int, lock: bool = False) -> Identification:
    """The operator's own identification: another operator's is refused (403)."""
    rows = Identification.objects.select_related("citizen", "poll")
    if lock:
        rows = rows.select_for_update(of=("self",))
    identification = rows.filter(pk=identification_id).first()
    if identification is None:
        raise Http404
    if identification.operator_id != operator.pk:
        raise NotYours()
    return identification


def verify_code(*, operator: User, identification_id: int, code: str) -> Identification:
    """Check the code the caller read; it works once, for ASSISTED_CODE_SECONDS, within
    ASSISTED_CODE_ATTEMPTS tries."""
    limits.charge_attempt(operator=operator)
    most = conf.get("ASSISTED_CODE_ATTEMPTS")
    refusal: ApiError | None = None
    with transaction.atomic():
        identification = owned(operator=operator, identification_id=identification_id, lock=True)
        if identification.method != Identification.Method.SMS:
            raise NotIdentified()
        if identification.verified_at is not None or identification.expires_at <= timezone.now():
            raise CodeExpired()
        if identification.attempts >= most:
            raise TooManyAttempts()
        if codes.matches(code, identification.code_hash):
            now = timezone.now()
            identification.verified_at = now
            identification.expires_at = now + CAST_WINDOW
            identification.code_hash = ""  # single use: nothing is left to match
            identification.save(update_fields=["verified_at", "expires_at", "code_hash"])
        else:
            # Counted in this transaction, which commits: the refusal is raised after it.
            identification.attempts += 1
            identification.save(update_fields=["attempts"])
            refusal = TooManyAttempts() if identification.attempts >= most else WrongCode()
    if refusal is not None:
        raise refusal
    return identification


def normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def identify_by_pin(*, operator: User, poll_id: int, name: str, pin: str) -> Identification:
    """A caller without a mobile phone: the name on their ID and the PIN an official gave them."""
    poll = open_poll(poll_id=poll_id)
    limits.charge_attempt(operator=operator)
    candidates = list(
        VisitPin.objects.usable().filter(name=normalise_name(name), citizen__is_active=True)
    )
    found = [pin_row for pin_row in candidates if codes.matches(pin, pin_row.pin_hash)]
    if len(found) != 1:
        # Every usable PIN under this name takes the wrong try: a PIN cannot be guessed by
        # trying names in turn, and five wrong tries void it (an official issues a new one).
        VisitPin.objects.filter(pk__in=[c.pk for c in candidates]).update(
            failed_attempts=F("failed_attempts") + 1
        )
        raise WrongPin()
    now = timezone.now()
    return Identification.objects.create(
        operator=operator,
        citizen=found[0].citizen,
        poll=poll,
        method=Identification.Method.PIN,
        created_at=now,
        verified_at=now,
        expires_at=now + CAST_WINDOW,
    )


# Why a caller may not vote, in the app's words.
REFUSALS = {eligibility.Reason.NOT_OPEN: PollNotOpen.default_detail, **REASON_TEXT}


# --- The ballot ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BallotPage:
    identification: Identification
    poll: Poll
    options: list[tuple[int, str]]
    has_voted: bool
    refusal: str | None  # why the caller may not vote (their eligibility), or None
    masked_phone: str  # "+82 10-****-1234", for the operator to confirm with the caller ("" none)


def ballot_page(*, operator: User, identification_id: int) -> BallotPage:
    """What the operator may see once the caller is identified: the options, whether the caller
    may vote and whether they have voted — never what they chose."""
    identification = _usable(operator=operator, identification_id=identification_id)
    voter = eligibility.Voter.of(identification.citizen)
    row = selectors.poll_detail(voter=voter, poll_id=identification.poll_id).first()
    if row is None:
        raise Http404
    reason = eligibility.refusal(row)
    options = [
        (option.pk, bilingual.localized(option.label, option.label_en))
        for option in row.options.order_by("position", "pk")
    ]
    return BallotPage(
        identification=identification,
        poll=row,
        options=options,
        has_voted=bool(row.has_voted),  # type: ignore[attr-defined]  # annotated by poll_detail
        refusal=None if reason is None else str(REFUSALS.get(reason, PollNotOpen.default_detail)),
        masked_phone=mask_phone(identification.citizen.phone)
        if identification.citizen.phone
        else "",
    )


def _usable(*, operator: User, identification_id: int, lock: bool = False) -> Identification:
    identification = owned(operator=operator, identification_id=identification_id, lock=lock)
    if (
        identification.verified_at is None
        or identification.cast_at is not None
        or identification.expires_at <= timezone.now()
    ):
        raise NotIdentified()
    return identification


def cast(
    *,
    operator: User,
    identification_id: int,
    option_ids: list[int] | None = None,
    ranking: list[int] | None = None,
    scores: list[tuple[int, int]] | None = None,
) -> CastResult:
    """Cast the identified caller's ballot, once; audited without the choice.

    The participation rules of ``cast_ballot`` refuse a second ballot (409 ``already_voted``),
    whichever channel the first came by.
    """
    with transaction.atomic():
        identification = _usable(operator=operator, identification_id=identification_id, lock=True)
        limits.check_ballot_rate(operator=operator)
        result = cast_ballot(
            poll=identification.poll_id,
            voter=identification.citizen,
            option_ids=option_ids,
            ranking=ranking,
            scores=scores,
            channel=Channel.ASSISTED,
        )
        now = timezone.now()
        identification.cast_at = now
        identification.save(update_fields=["cast_at"])
        record(
            actor=operator,
            subject_type=AuditEntry.Subject.POLL,
            subject_id=identification.poll_id,
            title=identification.poll.title,
            action=AUDIT_ACTION,
            changes={
                "channel": str(Channel.ASSISTED),
                "identification": identification.pk,
                "method": identification.method,
                # Not the citizen: the log is read by officials, who need not learn who took
                # part. The identification (kept in the database) answers a complaint.
            },
        )
    monitoring.check_operator(operator=operator)
    return result

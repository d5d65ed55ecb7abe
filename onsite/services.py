"""On-site ballots: the QR token proves presence, the optional circle proves position, and the
ballot itself is an ordinary one (voting.casting), marked with the ``onsite`` channel and its
session on the participation.

The position a phone sends lives only in this request's memory: it is compared with the
session's circle and dropped. It is never stored, logged, put in an error or audited.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import ApiError, Conflict, Forbidden
from onsite import tokens
from voting import casting, idempotency
from voting.models import Channel, OnsiteSession, Poll

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG): metres at a booth's scale


class InvalidOnsiteToken(ApiError):
    default_code = "invalid_onsite_token"
    default_detail = _("This QR code is not valid. Scan the code on the screen at the venue.")


class OnsiteTokenExpired(ApiError):
    default_code = "onsite_token_expired"
    default_detail = _("This QR code has expired. Scan the code on the screen again.")


class OnsitePollMismatch(ApiError):
    default_code = "onsite_poll_mismatch"
    default_detail = _("This QR code is for another poll.")


class OutsideWindow(Conflict):
    default_code = "outside_window"
    default_detail = _("On-site voting at this venue is not open now.")


class LocationRequired(ApiError):
    default_code = "location_required"
    default_detail = _(
        "This venue checks that you are there: allow the app to use your location and scan again."
    )


class OutOfRadius(Forbidden):
    default_code = "out_of_radius"
    default_detail = _("You seem to be outside the venue. Come closer and scan the code again.")


@dataclass(frozen=True)
class Location:
    """A phone's position, in degrees (WGS 84). Never stored: see the module's docstring."""

    latitude: float
    longitude: float


def distance_m(a: Location, b: Location) -> float:
    """Great-circle distance (haversine): within metres of the truth at a venue's scale."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def is_open(session: OnsiteSession, *, now: datetime) -> bool:
    return session.starts_at <= now < session.ends_at


def _verified(token: str) -> tuple[OnsiteSession, tokens.Claim]:
    claim = tokens.parse(token)
    if claim is None:
        raise InvalidOnsiteToken()
    session = OnsiteSession.objects.filter(pk=claim.session_id).first()
    if session is None or not claim.signed_by(session.secret):
        raise InvalidOnsiteToken()
    return session, claim


def verified_session(*, token: str) -> OnsiteSession:
    """The session whose secret signed ``token``, whatever the token's age (callers check it).
    Unknown sessions and bad signatures answer alike: a guess learns nothing."""
    return _verified(token)[0]


def check_fresh(claim: tokens.Claim, *, now: float | None = None) -> None:
    """The token's step is this one or the one before (``tokens.freshness``)."""
    verdict = tokens.freshness(claim.step, now=now)
    if verdict == tokens.Freshness.FUTURE:
        raise InvalidOnsiteToken()
    if verdict == tokens.Freshness.EXPIRED:
        raise OnsiteTokenExpired()


def check_presence(*, session: OnsiteSession, location: Location | None) -> None:
    """The session's circle, if it has one, holds the phone. ``location`` is only read here."""
    if session.radius_m is None or session.latitude is None or session.longitude is None:
        return
    if location is None:
        raise LocationRequired()
    centre = Location(latitude=session.latitude, longitude=session.longitude)
    if distance_m(centre, location) > session.radius_m:
        raise OutOfRadius()


def admitted_session(
    *, token: str, poll_id: int | None = None, now: datetime | None = None
) -> OnsiteSession:
    """The session a scanned ``token`` admits its bearer to now: signed, fresh, inside its
    window, and (when the app names it) for ``poll_id``. What the app's deep link resolves."""
    now = now or timezone.now()
    session, claim = _verified(token)
    if poll_id is not None and poll_id != session.poll_id:
        raise OnsitePollMismatch()
    check_fresh(claim, now=now.timestamp())
    if not is_open(session, now=now):
        raise OutsideWindow()
    return session


def _already_answered(*, voter: User, idempotency_key: str | None) -> bool:
    if not idempotency_key:
        return False
    lookup = idempotency.lookup_for(user_id=voter.pk, key=idempotency_key)
    return idempotency.find(lookup=lookup) is not None


def cast_onsite_ballot(
    *,
    voter: User,
    token: str,
    poll_id: int | None = None,
    option_ids: list[int] | None = None,
    ranking: list[int] | None = None,
    scores: list[tuple[int, int]] | None = None,
    location: Location | None = None,
    idempotency_key: str | None = None,
) -> casting.CastResult:
    """Cast ``voter``'s ballot in the poll of the session that signed ``token``.

    A retry with the ``Idempotency-Key`` of a ballot already cast replays its answer even when the
    token has expired since (the first request proved presence; the network lost the answer):
    only the signature and the poll are checked again, and casting compares the rest.
    """
    if _already_answered(voter=voter, idempotency_key=idempotency_key):
        session = verified_session(token=token)
        if poll_id is not None and poll_id != session.poll_id:
            raise OnsitePollMismatch()
    else:
        session = admitted_session(token=token, poll_id=poll_id)
        check_presence(session=session, location=location)
    return casting.cast_ballot(
        poll=session.poll_id,
        voter=voter,
        option_ids=option_ids,
        ranking=ranking,
        scores=scores,
        idempotency_key=idempotency_key,
        channel=Channel.ONSITE,
        onsite_session_id=session.pk,
    )


# --- The screen ---


class ScreenState:
    OPEN = "open"
    UPCOMING = "upcoming"  # the session's window has not begun
    ENDED = "ended"  # the window is over
    POLL_NOT_OPEN = "poll_not_open"  # inside the window, but the poll takes no ballots now


def screen_state(*, session: OnsiteSession, now: datetime) -> str:
    if now < session.starts_at:
        return ScreenState.UPCOMING
    if now >= session.ends_at:
        return ScreenState.ENDED
    if not Poll.objects.open_at(now).filter(pk=session.poll_id).exists():
        return ScreenState.POLL_NOT_OPEN
    return ScreenState.OPEN


@dataclass(frozen=True)
class ScreenCode:
    token: str
    step: int
    # Unix time at which the next code takes over: the screen asks again by then.
    changes_at: float


def screen_code(*, session: OnsiteSession, now: float | None = None) -> ScreenCode:
    step = tokens.current_step(now=now)
    return ScreenCode(
        token=tokens.issue(session_id=session.pk, secret=session.secret, step=step),
        step=step,
        changes_at=tokens.step_ends_at(step),
    )

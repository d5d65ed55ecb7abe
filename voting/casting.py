"""Casting a ballot: the voter's one transaction, the same on PostgreSQL and SQLite.

check (open, eligible, valid choice: one query) → participation (unique: exactly once) → sealed
envelope (the choice and breakdown attributes, sealed to the counter's public key) → idempotency
record → 201 with the receipt. Nothing in that transaction says, in clear, what was chosen, and
nothing shared is written: no counter, no ballot row. The counter (voting/counting.py) turns
envelopes into anonymous ballots later, in shuffled batches.
"""

import hmac
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.models import User
from core.errors import ApiError, Conflict, Forbidden
from voting import ballot_sql, eligibility, idempotency, receipts, sealing, selectors
from voting.models import Envelope, Poll
from voting.voter_keys import voter_key


class AlreadyVoted(Conflict):
    default_code = "already_voted"
    default_detail = _("You have already voted in this poll.")


class PollNotOpen(Conflict):
    default_code = "poll_not_open"
    default_detail = _("This poll is not open for voting.")


class NotEligible(Forbidden):
    default_code = "not_eligible"
    default_detail = _("You are not in the audience of this poll.")


class InvalidChoice(ApiError):
    default_code = "invalid_choice"
    default_detail = _("The chosen options are not valid for this poll.")


class IdempotencyMismatch(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_mismatch"
    default_detail = _("This Idempotency-Key was used with a different request.")


REASON_TEXT = {
    eligibility.Reason.VERIFICATION: _("This poll needs a higher verification level."),
    eligibility.Reason.PROFILE_INCOMPLETE: _(
        "Complete your profile (residence, birth year) to vote in this poll."
    ),
    eligibility.Reason.DISTRICT: _("This poll is for residents of other districts."),
    eligibility.Reason.GROUP: _("This poll is for members of particular groups."),
    eligibility.Reason.AGE: _("This poll is for another age group."),
}


@dataclass(frozen=True)
class CastResult:
    status_code: int
    body: dict
    replayed: bool = False


def age_band(birth_year: int | None, today: date | None = None) -> int | None:
    if birth_year is None:
        return None
    age = (today or timezone.localdate()).year - birth_year
    return max(0, min(age // 10 * 10, 80))


def cast_ballot(
    *,
    poll: Poll | int,
    voter: User,
    option_ids: list[int],
    idempotency_key: str | None = None,
) -> CastResult:
    """Cast ``voter``'s ballot in ``poll`` (the poll or its id), exactly once.

    The unique constraints on ``Participation`` decide "once": of concurrent requests from one
    citizen, one commits and the others find the row and answer ``already_voted``. With an
    ``idempotency_key`` a retry of the same request replays the first answer instead.
    """
    poll_id = poll if isinstance(poll, int) else poll.pk
    request = {"poll": poll_id, "options": sorted(option_ids)}
    lookup = fingerprint = None
    if idempotency_key:
        lookup = idempotency.lookup_for(user_id=voter.pk, key=idempotency_key)
        fingerprint = idempotency.fingerprint(key=idempotency_key, request=request)
        replay = _replay(lookup=lookup, key=idempotency_key, fingerprint=fingerprint)
        if replay:
            return replay
    try:
        return _cast(
            poll_id=poll_id,
            voter=voter,
            option_ids=option_ids,
            idempotency_key=idempotency_key,
            lookup=lookup,
            fingerprint=fingerprint,
        )
    except AlreadyVoted:
        # A retry racing its original: the original has committed by now (the unique index made
        # us wait for it), so its answer is there to replay.
        if idempotency_key and lookup and fingerprint:
            replay = _replay(lookup=lookup, key=idempotency_key, fingerprint=fingerprint)
            if replay:
                return replay
        raise


def _replay(*, lookup: str, key: str, fingerprint: str) -> CastResult | None:
    record = idempotency.find(lookup=lookup)
    if record is None:
        return None
    if not hmac.compare_digest(record.fingerprint, fingerprint):
        raise IdempotencyMismatch()
    body = idempotency.unseal(key=key, lookup=lookup, sealed=record.sealed_body)
    return CastResult(status_code=record.status_code, body=body, replayed=True)


def _cast(
    *,
    poll_id: int,
    voter: User,
    option_ids: list[int],
    idempotency_key: str | None,
    lookup: str | None,
    fingerprint: str | None,
) -> CastResult:
    chosen = sorted(set(option_ids))
    if len(chosen) != len(option_ids):
        raise InvalidChoice(_("An option was chosen twice."))
    profile = eligibility.Voter.of(voter)
    code = receipts.new_code()
    body = {"poll": poll_id, "options": chosen, "receipt": code}
    with transaction.atomic():
        # Taken first, so "open" is judged after it: the poll's final count waits for this
        # ballot, or this ballot finds the poll closed (ballot_sql.lock_poll_for_cast).
        ballot_sql.lock_poll_for_cast(poll_id=poll_id)
        # Eligibility, "open" and the choice are judged inside the transaction, by the
        # database's clock, in one query; who may not vote learns why, not that a choice is wrong.
        verdicts = ballot_sql.verdicts(poll_id=poll_id, voter=profile, option_ids=chosen)
        if verdicts is None:
            raise Http404  # no such poll, or a draft: drafts do not exist for citizens
        reason = eligibility.refusal_from(verdicts.rules, upcoming=verdicts.upcoming)
        if reason == eligibility.Reason.NOT_OPEN:
            raise PollNotOpen()
        if reason is not None:
            raise NotEligible(REASON_TEXT[reason], reason=reason)
        if not verdicts.choice_ok:
            # Only now look at the options, to say precisely what is wrong with the choice.
            validate_choice(selectors.poll_for_ballot(poll_id=poll_id), option_ids)
            raise InvalidChoice()
        if not ballot_sql.insert_participation(
            poll_id=poll_id, voter_id=voter.pk, voter_key=voter_key(voter.phone, voter.pk)
        ):
            raise AlreadyVoted()
        Envelope.objects.create(
            poll_id=poll_id,
            lookup=receipts.envelope_lookup(code),
            sealed=sealing.seal_envelope(
                payload={
                    "p": poll_id,
                    "o": chosen,
                    "g": profile.gu_code,
                    "a": age_band(voter.birth_year),
                    "s": voter.gender,
                    "t": receipts.tracker(code),
                },
                max_choices=verdicts.max_choices,
            ),
        )
        if idempotency_key and lookup and fingerprint:
            idempotency.store(
                key=idempotency_key,
                lookup=lookup,
                request_fingerprint=fingerprint,
                status_code=status.HTTP_201_CREATED,
                body=body,
            )
    return CastResult(status_code=status.HTTP_201_CREATED, body=body)


def validate_choice(poll: Poll, option_ids: list[int]) -> list[int]:
    chosen = sorted(set(option_ids))
    if len(chosen) != len(option_ids):
        raise InvalidChoice(_("An option was chosen twice."))
    if not poll.min_choices <= len(chosen) <= poll.max_choices:
        if poll.kind == Poll.Kind.SINGLE:
            raise InvalidChoice(_("Choose exactly one option."))
        raise InvalidChoice(
            _("Choose between %(min)d and %(max)d options.")
            % {"min": poll.min_choices, "max": poll.max_choices}
        )
    valid = {option.pk for option in poll.options.all()}
    if not set(chosen) <= valid:
        raise InvalidChoice(_("An option does not belong to this poll."))
    return chosen

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
from voting import ballot_sql, eligibility, idempotency, questions, receipts, sealing
from voting.models import Channel, Envelope, Poll
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


class OnsiteOnly(Forbidden):
    default_code = "onsite_only"
    default_detail = _("This poll takes ballots only on site: scan the QR code at the venue.")


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
    option_ids: list[int] | None = None,
    ranking: list[int] | None = None,
    scores: list[tuple[int, int]] | None = None,
    idempotency_key: str | None = None,
    channel: Channel = Channel.APP,
    onsite_session_id: int | None = None,
) -> CastResult:
    """Cast ``voter``'s ballot in ``poll`` (the poll or its id), exactly once: ``option_ids``
    for a choice question, ``ranking`` (most preferred first) for a ranked one, ``scores``
    ((option id, score) pairs; an option left out abstains) for a score one. ``channel``: how
    the ballot reached the box (voting/models/channels.py); callers of the assisted and on-site
    channels have identified the citizen and checked the session themselves.

    The unique constraints on ``Participation`` decide "once": of concurrent requests from one
    citizen, one commits and the others find the row and answer ``already_voted``. With an
    ``idempotency_key`` a retry of the same request replays the first answer instead.
    """
    poll_id = poll if isinstance(poll, int) else poll.pk
    given = _Given.of(option_ids=option_ids, ranking=ranking, scores=scores)
    request = {"poll": poll_id, given.key: given.fingerprinted}
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
            given=given,
            channel=channel,
            onsite_session_id=onsite_session_id,
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


@dataclass(frozen=True)
class _Given:
    """The ballot as the request gave it: which kind of question it answers, and its content in
    the board's form (voting/questions.py)."""

    key: str  # "options", "ranking" or "scores": the request field that holds it
    kind: str  # the question kind it can answer ("choice" for single or multiple)
    ballot: list

    @classmethod
    def of(
        cls,
        *,
        option_ids: list[int] | None,
        ranking: list[int] | None,
        scores: list[tuple[int, int]] | None,
    ) -> "_Given":
        if sum(given is not None for given in (option_ids, ranking, scores)) != 1:
            raise InvalidChoice(_("Give exactly one of options, ranking and scores."))
        if ranking is not None:
            given = cls(key="ranking", kind="ranked", ballot=[int(o) for o in ranking])
        elif scores is not None:
            given = cls(key="scores", kind="score", ballot=[[int(o), int(s)] for o, s in scores])
        else:
            given = cls(key="options", kind="choice", ballot=[int(o) for o in option_ids or []])
        # Judged first, before the poll is looked at, as it always was: a repeated option is
        # wrong in any poll.
        named = questions.options_named(kind=given.kind, ballot=given.ballot)
        if len(set(named)) != len(named):
            raise InvalidChoice(
                _("An option was scored twice.")
                if given.kind == "score"
                else _("An option was chosen twice.")
            )
        return given

    @property
    def fingerprinted(self) -> list:
        return self.ballot if self.key == "ranking" else sorted(self.ballot)

    def answers(self, kind: str) -> bool:
        return self.kind == kind or (self.kind == "choice" and kind in questions.CHOICE_KINDS)


WRONG_SHAPE = {
    "ranked": _("This poll asks for a ranking: send the option ids in order as 'ranking'."),
    "score": _("This poll asks for scores: send them as 'scores'."),
    "choice": _("This poll asks for a choice: send the chosen option ids as 'options'."),
}


def _cast(
    *,
    poll_id: int,
    voter: User,
    given: _Given,
    channel: Channel,
    onsite_session_id: int | None,
    idempotency_key: str | None,
    lookup: str | None,
    fingerprint: str | None,
) -> CastResult:
    profile = eligibility.Voter.of(voter)
    code = receipts.new_code()
    with transaction.atomic():
        # Taken first, so "open" is judged after it: the poll's final count waits for this
        # ballot, or this ballot finds the poll closed (ballot_sql.lock_poll_for_cast).
        ballot_sql.lock_poll_for_cast(poll_id=poll_id)
        # Eligibility, "open" and the choice are judged inside the transaction, by the
        # database's clock, in one query; who may not vote learns why, not that a choice is wrong.
        verdicts = ballot_sql.verdicts(
            poll_id=poll_id,
            voter=profile,
            ballot=questions.board_form(kind=given.kind, ballot=given.ballot),
        )
        if verdicts is None:
            raise Http404  # no such poll, or a draft: drafts do not exist for citizens
        reason = eligibility.refusal_from(verdicts.rules, upcoming=verdicts.upcoming)
        if reason == eligibility.Reason.NOT_OPEN:
            raise PollNotOpen()
        if reason is not None:
            raise NotEligible(REASON_TEXT[reason], reason=reason)
        if verdicts.onsite_only and channel != Channel.ONSITE:
            raise OnsiteOnly()
        question = verdicts.question
        if not given.answers(question.kind):
            shape = question.kind if question.kind in ("ranked", "score") else "choice"
            raise InvalidChoice(WRONG_SHAPE[shape])
        if not verdicts.choice_ok:
            raise InvalidChoice(verdicts.problem)
        ballot = questions.board_form(kind=question.kind, ballot=given.ballot)
        body = {
            "poll": poll_id,
            "options": sorted(questions.options_named(kind=question.kind, ballot=ballot)),
            "receipt": code,
        }
        if question.kind == Poll.Kind.RANKED:
            body["ranking"] = ballot
        elif question.kind == Poll.Kind.SCORE:
            body["scores"] = [{"option": option, "score": score} for option, score in ballot]
        if not ballot_sql.insert_participation(
            poll_id=poll_id,
            voter_id=voter.pk,
            voter_key=voter_key(voter.phone, voter.pk),
            channel=channel,
            onsite_session_id=onsite_session_id,
        ):
            raise AlreadyVoted()
        Envelope.objects.create(
            poll_id=poll_id,
            lookup=receipts.envelope_lookup(code),
            sealed=sealing.seal_envelope(
                payload={
                    "p": poll_id,
                    "o": ballot,
                    "g": profile.gu_code,
                    "a": age_band(voter.birth_year),
                    "s": voter.gender,
                    "t": receipts.tracker(code),
                    "c": str(channel),
                },
                max_choices=questions.envelope_room(question=question, options=verdicts.options),
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

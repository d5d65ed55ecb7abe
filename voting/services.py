"""Writes in the voting domain. The ballot path is one straight line: ``cast_ballot``.

check (eligibility, open, valid choice) → record participation (unique: exactly once) →
store the anonymous ballot → count it → answer with a receipt. All in one transaction.
"""

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.models import User
from config.api.errors import ApiError, Conflict, Forbidden
from notifications.events import emit
from notifications.models import Kind as NotificationKind
from voting import (
    audit,
    ballot_sql,
    eligibility,
    idempotency,
    live,
    receipts,
    selectors,
    tallies,
)
from voting.models import (
    AuditEntry,
    Ballot,
    BallotChoice,
    Option,
    Outcome,
    Participation,
    Poll,
)

logger = logging.getLogger(__name__)


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


class PollAlreadyOpened(Conflict):
    default_code = "poll_already_opened"
    default_detail = _("This poll has opened; it can be closed early but not withdrawn.")


class ResultsNotReady(Conflict):
    default_code = "results_not_ready"
    default_detail = _("Results can be published once the poll has closed.")


class PollAlreadyClosed(Conflict):
    default_code = "poll_closed"
    default_detail = _("This poll is closed; a closed poll is never reopened.")


_REASON_TEXT = {
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


def voter_key(phone: str | None, user_id: int) -> str:
    """Keyed hash of the phone: what keeps a number to one vote per poll across accounts."""
    identity = phone or f"user:{user_id}"
    return hmac.new(
        settings.VOTER_KEY_SECRET.encode(), identity.encode(), hashlib.sha256
    ).hexdigest()


def age_band(birth_year: int | None, today: datetime | None = None) -> int | None:
    if birth_year is None:
        return None
    age = (today or timezone.localdate()).year - birth_year
    return max(0, min(age // 10 * 10, 80))


def cast_ballot(
    *,
    poll: Poll | int,
    voter: User,
    option_ids: list[int],
    channel: str = Ballot.Channel.APP,
    idempotency_key: str | None = None,
) -> CastResult:
    """Cast ``voter``'s ballot in ``poll`` (the poll or its id), exactly once.

    The unique constraints on ``Participation`` decide "once": of concurrent requests from one
    citizen, one commits and the others fail on the index and answer ``already_voted``. With an
    ``idempotency_key`` a retry of the same request replays the first answer instead.
    """
    if isinstance(poll, int):
        # PostgreSQL needs nothing but the id (the ballot statement checks everything itself).
        poll = Poll(pk=poll) if connection.vendor == "postgresql" else _poll_for_ballot(poll)
    request = {"poll": poll.pk, "options": sorted(option_ids)}
    lookup = fingerprint = None
    if idempotency_key:
        lookup = idempotency.lookup_for(user_id=voter.pk, key=idempotency_key)
        fingerprint = idempotency.fingerprint(key=idempotency_key, request=request)
        replay = _replay(lookup=lookup, key=idempotency_key, fingerprint=fingerprint)
        if replay:
            return replay
    try:
        return _cast(
            poll=poll,
            voter=voter,
            option_ids=option_ids,
            channel=channel,
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


def _poll_for_ballot(poll_id: int) -> Poll:
    return selectors.poll_for_ballot(poll_id=poll_id)


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
    poll: Poll,
    voter: User,
    option_ids: list[int],
    channel: str,
    idempotency_key: str | None,
    lookup: str | None,
    fingerprint: str | None,
) -> CastResult:
    profile = eligibility.Voter.of(voter)
    if connection.vendor == "postgresql":
        return _cast_in_one_statement(
            poll=poll,
            voter=voter,
            profile=profile,
            option_ids=option_ids,
            channel=channel,
            idempotency_key=idempotency_key,
            lookup=lookup,
            fingerprint=fingerprint,
        )
    try:
        with transaction.atomic():
            # Eligibility and "open" are judged inside the transaction, by the database's clock,
            # and before the choice: who may not vote learns why, not that a choice is wrong.
            checked = eligibility.annotate_verdicts(Poll.objects.filter(pk=poll.pk), profile).get()
            reason = eligibility.refusal(checked)
            if reason == eligibility.Reason.NOT_OPEN:
                raise PollNotOpen()
            if reason is not None:
                raise NotEligible(_REASON_TEXT[reason], reason=reason)
            chosen = _validate_choice(poll, option_ids)

            Participation.objects.create(
                poll_id=poll.pk, voter=voter, voter_key=voter_key(voter.phone, voter.pk)
            )
            code = receipts.new_code()
            gu = profile.gu_code
            band = age_band(voter.birth_year)
            ballot = Ballot.objects.create(
                poll_id=poll.pk,
                gu_code=gu,
                dong_code=profile.dong_code,
                age_band=band,
                gender=voter.gender,
                channel=channel,
                receipt_hash=receipts.hash_code(code),
            )
            BallotChoice.objects.bulk_create(
                [BallotChoice(ballot=ballot, option_id=option_id) for option_id in chosen]
            )
            tallies.record(
                poll_id=poll.pk, option_ids=chosen, gu=gu, age_band=band, gender=voter.gender
            )
            body = {"poll": poll.pk, "options": chosen, "receipt": code}
            if idempotency_key and lookup and fingerprint:
                idempotency.store(
                    key=idempotency_key,
                    lookup=lookup,
                    request_fingerprint=fingerprint,
                    status_code=status.HTTP_201_CREATED,
                    body=body,
                )
            # Dashboards hear of the ballot only once it is committed (never of a rollback).
            transaction.on_commit(partial(live.tally_changed, poll.pk))
    except IntegrityError as exc:
        # The only unique keys a ballot request can hit are the participation's (one per
        # citizen, one per phone) and, astronomically rarely, a receipt hash.
        if _is_participation_conflict(exc):
            raise AlreadyVoted() from exc
        raise
    except OperationalError as exc:
        logger.warning("ballot transaction failed: %s", type(exc).__name__)
        raise
    return CastResult(status_code=status.HTTP_201_CREATED, body=body)


def _cast_in_one_statement(
    *,
    poll: Poll,
    voter: User,
    profile: eligibility.Voter,
    option_ids: list[int],
    channel: str,
    idempotency_key: str | None,
    lookup: str | None,
    fingerprint: str | None,
) -> CastResult:
    """PostgreSQL: the whole ballot as one atomic statement (see ``voting.ballot_sql``)."""
    chosen = sorted(set(option_ids))
    if len(chosen) != len(option_ids):
        raise InvalidChoice(_("An option was chosen twice."))
    code = receipts.new_code()
    band = age_band(voter.birth_year)
    body = {"poll": poll.pk, "options": chosen, "receipt": code}
    idem = None
    if idempotency_key and lookup and fingerprint:
        idem = ballot_sql.Idempotency(
            lookup=lookup,
            fingerprint=fingerprint,
            status_code=status.HTTP_201_CREATED,
            sealed_body=idempotency.seal(key=idempotency_key, lookup=lookup, body=body),
        )
    row = ballot_sql.Row(
        participation_id=uuid.uuid4().hex,
        voter_id=voter.pk,
        voter_key=voter_key(voter.phone, voter.pk),
        voted_on=timezone.localdate(),
        ballot_id=uuid.uuid4().hex,
        gu_code=profile.gu_code,
        dong_code=profile.dong_code,
        age_band=band,
        gender=voter.gender,
        channel=channel,
        receipt_hash=receipts.hash_code(code),
        slot=secrets.randbelow(settings.TALLY_SLOTS),
    )
    outcome = ballot_sql.cast(poll_id=poll.pk, voter=profile, option_ids=chosen, row=row, idem=idem)
    if not outcome.found:
        raise Http404  # no such poll, or a draft: drafts do not exist for citizens
    reason = eligibility.refusal_from(outcome.verdicts)
    if reason == eligibility.Reason.NOT_OPEN:
        raise PollNotOpen()
    if reason is not None:
        raise NotEligible(_REASON_TEXT[reason], reason=reason)
    if not outcome.choice_ok:
        # Only now look at the options, to say precisely what is wrong with the choice.
        _validate_choice(selectors.poll_for_ballot(poll_id=poll.pk), option_ids)
        raise InvalidChoice()
    if not outcome.inserted:
        raise AlreadyVoted()
    # Autocommit: the statement has committed; dashboards may hear of it now.
    transaction.on_commit(partial(live.tally_changed, poll.pk))
    return CastResult(status_code=status.HTTP_201_CREATED, body=body)


def _is_participation_conflict(exc: IntegrityError) -> bool:
    text = str(exc)
    return (
        "one_participation_per" in text
        or "voting_participation" in text  # SQLite names the table and columns, not the index
    )


def _validate_choice(poll: Poll, option_ids: list[int]) -> list[int]:
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


# --- Officials' actions on polls (each one audited, each one pushed to the dashboards) ----------


def _changed(poll: Poll, *, by: User | None, action: str, changes: dict | None = None) -> None:
    audit.record(actor=by, poll=poll, action=action, changes=changes)
    transaction.on_commit(partial(live.poll_changed, poll.pk))


@transaction.atomic
def publish_poll(*, poll: Poll, by: User | None) -> Poll:
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.published:
        return poll
    if poll.options.count() < 2:
        raise InvalidChoice(_("A poll needs at least two options before it is published."))
    poll.published = True
    poll.save(update_fields=["published", "updated_at"])
    _changed(poll, by=by, action=AuditEntry.Action.PUBLISH)
    if poll.opens_at <= timezone.now():
        # Open from the moment it is published: tell its audience now (in this transaction).
        # A poll that opens later is announced by the clock scan (notifications.tasks.scan).
        announce_opened(poll)
    return poll


def announce_opened(poll: Poll) -> None:
    emit(
        NotificationKind.POLL_OPENED,
        subject_id=poll.pk,
        dedupe_key=f"poll_opened:{poll.pk}",
        payload={"title": poll.title},
    )


@transaction.atomic
def unpublish_poll(*, poll: Poll, by: User | None) -> Poll:
    """Withdraw a poll that has not opened yet (back to draft)."""
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.published and poll.opens_at <= timezone.now():
        raise PollAlreadyOpened()
    if poll.published:
        poll.published = False
        poll.save(update_fields=["published", "updated_at"])
        _changed(poll, by=by, action=AuditEntry.Action.UNPUBLISH)
    return poll


@transaction.atomic
def close_poll(*, poll: Poll, by: User | None = None) -> Poll:
    """Close a poll now. A closed poll stays closed: its close time is never moved later."""
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    now = timezone.now()
    if poll.closes_at <= now:
        raise PollAlreadyClosed()
    if not poll.published or poll.opens_at > now:
        # Nothing to close yet: an upcoming poll is withdrawn by unpublishing it.
        raise PollNotOpen()
    changes = {"closes_at": [poll.closes_at.isoformat(), now.isoformat()]}
    poll.closes_at = now
    poll.closed_early_at = now
    poll.save(update_fields=["closes_at", "closed_early_at", "updated_at"])
    _changed(poll, by=by, action=AuditEntry.Action.CLOSE, changes=changes)
    return poll


@transaction.atomic
def publish_results(*, poll: Poll, by: User | None = None) -> Poll:
    """Make results visible to citizens for an ``officials``-visibility poll, once closed."""
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.status != Poll.Status.CLOSED:
        raise ResultsNotReady()
    if poll.results_published_at is None:
        poll.results_published_at = timezone.now()
        poll.save(update_fields=["results_published_at", "updated_at"])
        _changed(poll, by=by, action=AuditEntry.Action.PUBLISH_RESULTS)
    return poll


class PollNotClosed(Conflict):
    default_code = "poll_not_closed"
    default_detail = _("An outcome can be recorded only for a closed poll.")


@transaction.atomic
def record_outcome(
    *,
    poll: Poll,
    by: User | None,
    summary: str,
    decided_on,
    link: str = "",
    attachment=None,
) -> Outcome:
    """Record (or correct) what was decided because of a closed poll.

    The first record tells everyone who voted; a correction is audited but not announced again.
    """
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if not poll.published or poll.status != Poll.Status.CLOSED:
        raise PollNotClosed()
    outcome = Outcome.objects.filter(poll=poll).first()
    before = (
        {"summary": outcome.summary, "link": outcome.link, "decided_on": outcome.decided_on}
        if outcome
        else {}
    )
    if outcome is None:
        outcome = Outcome(poll=poll, recorded_by=by)
    outcome.summary = summary
    outcome.link = link
    outcome.decided_on = decided_on
    if attachment is not None:
        outcome.attachment = attachment
    outcome.full_clean(exclude=["poll"])
    outcome.save()
    after = {"summary": outcome.summary, "link": outcome.link, "decided_on": outcome.decided_on}
    audit.record(
        actor=by, poll=poll, action=AuditEntry.Action.OUTCOME, changes=audit.diff(before, after)
    )
    emit(
        NotificationKind.OUTCOME,
        subject_id=poll.pk,
        dedupe_key=f"outcome:{poll.pk}",
        payload={"title": poll.title},
    )
    return outcome


class PollAlreadyPublished(Conflict):
    default_code = "poll_published"
    default_detail = _("A published poll is kept: unpublish it (before it opens) to delete it.")


@transaction.atomic
def delete_draft(*, poll: Poll, by: User | None) -> None:
    """Delete a draft, leaving in the audit log what it was and who deleted it."""
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.published:
        raise PollAlreadyPublished()
    audit.record(actor=by, poll=poll, action=AuditEntry.Action.DELETE, changes=poll_snapshot(poll))
    poll.delete()


def has_ballots(poll: Poll) -> bool:
    return Participation.objects.filter(poll_id=poll.pk).exists()


@transaction.atomic
def duplicate_poll(*, poll: Poll, by: User | None) -> Poll:
    """A new draft with the same text, options and audience, to run again or adapt."""
    source = Poll.objects.prefetch_related("options", "districts", "groups").get(pk=poll.pk)
    copy = Poll.objects.get(pk=source.pk)
    copy.pk = None
    copy.published = False
    copy.closed_early_at = None
    copy.results_published_at = None
    copy.owner = by or source.owner
    copy.title = (_("Copy of %(title)s") % {"title": source.title})[:200]
    copy._state.adding = True
    copy.save()
    copy.options.bulk_create(
        [
            Option(
                poll=copy,
                label=o.label,
                description=o.description,
                image=o.image,
                image_alt=o.image_alt,
                position=o.position,
            )
            for o in source.options.all()
        ]
    )
    copy.districts.set(source.districts.all())
    copy.groups.set(source.groups.all())
    audit.record(
        actor=by, poll=copy, action=AuditEntry.Action.DUPLICATE, changes={"from": source.pk}
    )
    return copy


# --- Edits made in the admin (audited like the actions above) ----------------------------------


def poll_snapshot(poll: Poll) -> dict:
    """What an audit entry compares: the poll's fields, its options, images and audience."""
    fresh = (
        Poll.objects.select_related("category")
        .prefetch_related("options", "images", "districts", "groups")
        .get(pk=poll.pk)
    )
    return {
        "title": fresh.title,
        "description": fresh.description,
        "category": str(fresh.category) if fresh.category else None,
        "department": fresh.department,
        "kind": fresh.kind,
        "min_choices": fresh.min_choices,
        "max_choices": fresh.max_choices,
        "opens_at": fresh.opens_at.isoformat() if fresh.opens_at else None,
        "closes_at": fresh.closes_at.isoformat() if fresh.closes_at else None,
        "results_visibility": fresh.results_visibility,
        "districts": sorted(district.code for district in fresh.districts.all()),
        "groups": sorted(str(group) for group in fresh.groups.all()),
        "min_age": fresh.min_age,
        "max_age": fresh.max_age,
        "min_verification": fresh.min_verification,
        "options": [
            f"{o.position}. {o.label}"
            + (f" — {o.description}" if o.description else "")
            + (f" [{o.image.name}]" if o.image else "")
            for o in fresh.options.all()
        ],
        "images": [
            f"{i.image.name} ({i.alt})" + (" cover" if i.is_cover else "")
            for i in fresh.images.all()
        ],
    }


def record_creation(*, poll: Poll, by: User | None) -> AuditEntry:
    """Audit a poll created by an official: every field it was created with."""
    return _record_admin_change(
        poll, by=by, action=AuditEntry.Action.CREATE, changes=audit.diff({}, poll_snapshot(poll))
    )


def record_edit(*, poll: Poll, by: User | None, before: dict) -> AuditEntry | None:
    """Audit an edit: the fields that differ from ``before`` (a ``poll_snapshot``). Nothing
    changed, nothing written."""
    changes = audit.diff(before, poll_snapshot(poll))
    if not changes:
        return None
    return _record_admin_change(poll, by=by, action=AuditEntry.Action.EDIT, changes=changes)


def _record_admin_change(poll: Poll, *, by: User | None, action: str, changes: dict) -> AuditEntry:
    # As ``_changed``, returning the entry: dashboards hear of the new title or schedule too.
    entry = audit.record(actor=by, poll=poll, action=action, changes=changes)
    transaction.on_commit(partial(live.poll_changed, poll.pk))
    return entry

"""Officials' writes on polls: publish, close, publish results, outcomes, drafts, audit.

Each is check → do → notify on commit (the dashboards, the outbox). Casting a ballot is
voting/casting.py; counting, voting/counting.py.
"""

from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import Conflict
from notifications.events import emit
from notifications.models import Kind as NotificationKind
from voting import audit, live
from voting.casting import InvalidChoice, PollNotOpen
from voting.models import AuditEntry, Option, Outcome, Participation, Poll


class PollAlreadyOpened(Conflict):
    default_code = "poll_already_opened"
    default_detail = _("This poll has opened; it can be closed early but not withdrawn.")


class ResultsNotReady(Conflict):
    default_code = "results_not_ready"
    default_detail = _("Results can be published once the poll has closed.")


class PollAlreadyClosed(Conflict):
    default_code = "poll_closed"
    default_detail = _("This poll is closed; a closed poll is never reopened.")


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

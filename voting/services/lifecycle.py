"""Officials' writes on a poll's life: publish, unpublish, close, publish results, delete a
draft, duplicate.

Each is check → do → audit → notify on commit (the dashboards, the outbox). Casting a ballot is
voting/casting.py; counting, voting/counting.py; outcomes, voting/services/outcomes.py.
"""

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.models import AuditEntry
from voting import live, notices
from voting.casting import InvalidChoice, PollNotOpen
from voting.models import Option, Participation, Poll
from voting.services.errors import (
    PollAlreadyClosed,
    PollAlreadyOpened,
    PollAlreadyPublished,
    ResultsNotReady,
)
from voting.services.snapshots import poll_snapshot, record_poll

# --- Officials' actions on polls (each one audited, each one pushed to the dashboards) ----------


def _changed(
    poll: Poll, *, by: User | None, action: str, changes: dict[str, Any] | None = None
) -> None:
    record_poll(actor=by, poll=poll, action=action, changes=changes)
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
        # A poll that opens later is announced by the clock (voting.tasks.announce_opened_polls).
        notices.announce_poll_opened(poll)
    return poll


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


@transaction.atomic
def delete_draft(*, poll: Poll, by: User | None) -> None:
    """Delete a draft, leaving in the audit log what it was and who deleted it."""
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.published:
        raise PollAlreadyPublished()
    record_poll(actor=by, poll=poll, action=AuditEntry.Action.DELETE, changes=poll_snapshot(poll))
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
                label_en=o.label_en,
                description=o.description,
                description_en=o.description_en,
                image=o.image,
                # The same stored file: its size names its renditions (core/media.py).
                image_width=o.image_width,
                image_height=o.image_height,
                image_alt=o.image_alt,
                position=o.position,
            )
            for o in source.options.all()
        ]
    )
    copy.districts.set(source.districts.all())
    copy.groups.set(source.groups.all())
    record_poll(
        actor=by, poll=copy, action=AuditEntry.Action.DUPLICATE, changes={"from": source.pk}
    )
    return copy

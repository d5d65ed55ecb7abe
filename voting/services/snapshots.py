"""The audit side of officials' work on polls: what a poll entry says, and the entries for
polls created and edited in the admin (the other actions record theirs in lifecycle/outcomes)."""

from functools import partial
from typing import Any

from django.db import transaction

from accounts.models import User
from audit import services as audit
from audit.models import AuditEntry
from voting import live
from voting.models import Poll


def record_poll(
    *, actor: User | None, poll: Poll, action: str, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """An audit entry about ``poll``: its id and its title as it reads now."""
    return audit.record(
        actor=actor,
        subject_type=AuditEntry.Subject.POLL,
        subject_id=poll.pk,
        title=poll.title,
        action=action,
        changes=changes,
    )


def poll_snapshot(poll: Poll) -> dict[str, Any]:
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


def record_edit(*, poll: Poll, by: User | None, before: dict[str, Any]) -> AuditEntry | None:
    """Audit an edit: the fields that differ from ``before`` (a ``poll_snapshot``). Nothing
    changed, nothing written."""
    changes = audit.diff(before, poll_snapshot(poll))
    if not changes:
        return None
    return _record_admin_change(poll, by=by, action=AuditEntry.Action.EDIT, changes=changes)


def _record_admin_change(
    poll: Poll, *, by: User | None, action: str, changes: dict[str, Any]
) -> AuditEntry:
    # Dashboards hear of the new title or schedule too.
    entry = record_poll(actor=by, poll=poll, action=action, changes=changes)
    transaction.on_commit(partial(live.poll_changed, poll.pk))
    return entry

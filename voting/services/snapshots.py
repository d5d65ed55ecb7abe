"""The audit side of officials' work on polls: what a poll entry says, and the entries for
polls created and edited in the admin (the other actions record theirs in lifecycle/outcomes)."""

from functools import partial
from typing import Any

from django.db import transaction

from accounts.models import User
from audit import services as audit
from audit.models import AuditEntry
from voting import live
from voting.models import Option, Poll


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
    """What an audit entry compares: the poll's fields, its options, images and audience; the
    English texts too, which citizens read as they read the Korean ones."""
    fresh = (
        Poll.objects.select_related("category")
        .prefetch_related("options", "images", "districts", "groups")
        .get(pk=poll.pk)
    )
    return {
        "title": fresh.title,
        "title_en": fresh.title_en,
        "description": fresh.description,
        "description_en": fresh.description_en,
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
        "options": [_option_line(o) for o in fresh.options.all()],
        "images": [
            f"{i.image.name} ({i.alt})" + (" cover" if i.is_cover else "")
            for i in fresh.images.all()
        ],
    }


def _option_line(option: Option) -> str:
    # One line per option, so an edit in either language shows as that option's change; the
    # English parts only where there are some, so lines of Korean-only polls read as before.
    label = _with_english(option.label, option.label_en)
    description = _with_english(option.description, option.description_en)
    line = f"{option.position}. {label}" + (f" — {description}" if description else "")
    return line + (f" [{option.image.name}]" if option.image else "")


def _with_english(korean: str, english: str) -> str:
    return " ".join(filter(None, [korean, f"[en: {english}]" if english else ""]))


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

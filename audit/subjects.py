"""What an audit entry is about, as its producers describe it: which subjects an official may
see, and where a subject's admin page is.

The log imports none of the apps that write to it (voting, proposals, discussion sit above it);
each registers its subject types in its ``AppConfig.ready()`` — the registry pattern PostHog
uses for its facades. A subject type nobody registered (citizens, groups, admin history) is
shown to city-wide officials only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User

# ``visible_ids(user)``: the ids (a query of one column, e.g. ``.values("pk")``) of the subjects
# of that type ``user`` may see; None where they may see none.
VisibleIds = Callable[[User], "QuerySet[Any] | None"]
# ``admin_url(subject_id)``: the subject's page in the admin, or None (gone, or no page).
AdminUrl = Callable[[int], "str | None"]


@dataclass(frozen=True)
class SubjectKind:
    visible_ids: VisibleIds
    admin_url: AdminUrl | None = None


_registry: dict[str, SubjectKind] = {}


def register_subject(
    subject_type: str, *, visible_ids: VisibleIds, admin_url: AdminUrl | None = None
) -> None:
    """Tell the log how to scope and link entries about ``subject_type``. Registering the same
    type again replaces the earlier registration (``ready()`` may run twice in tests)."""
    _registry[str(subject_type)] = SubjectKind(visible_ids=visible_ids, admin_url=admin_url)


def registered() -> dict[str, SubjectKind]:
    return dict(_registry)


def visible_to(user: User) -> Q:
    """A filter on ``AuditEntry``: the entries whose subject a registered producer lets ``user``
    see. Matches nothing when no producer shows them anything."""
    condition = Q(pk__in=[])
    for subject_type, kind in _registry.items():
        ids = kind.visible_ids(user)
        if ids is not None:
            condition |= Q(subject_type=subject_type, subject_id__in=ids)
    return condition


def admin_url(subject_type: str, subject_id: int | None) -> str | None:
    kind = _registry.get(subject_type)
    if kind is None or kind.admin_url is None or subject_id is None:
        return None
    return kind.admin_url(subject_id)

"""Who hears about an event: the recipients its producer names, minus those who opted out.

Notifications sit below the apps whose events they deliver and import none of them. Each producer
registers, in its ``AppConfig.ready()``, a resolver for each of its kinds (voting/notices.py,
proposals/notices.py): the facade pattern, so the outbox needs no knowledge of polls or proposals.
A kind nobody registered is a deployment error: ``manage.py check`` reports it (checks.py) and
fan-out refuses the event, loudly, without marking it done, so it goes out once the resolver is
back.
"""

import logging
from collections.abc import Callable

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User
from notifications.models import Kind, OptOut, OutboxEvent

logger = logging.getLogger(__name__)

Resolver = Callable[[OutboxEvent], QuerySet[User] | None]
"""The citizens an event is for, or ``None`` when it no longer applies (a poll announced as open
that closed before its fan-out finished: telling the rest would send them to a closed poll)."""

_resolvers: dict[str, Resolver] = {}


class UnregisteredKind(LookupError):
    """No installed app said who events of this kind are for."""


def register(kind: Kind | str, resolver: Resolver) -> None:
    """Make ``resolver`` the one that names the recipients of ``kind``'s events.

    Registering the same resolver again is harmless (``ready()`` may run twice in a test
    session); a second, different one is a programming error: two apps claiming one kind.
    """
    key = Kind(kind).value  # an unknown kind raises ValueError here, at start-up
    current = _resolvers.get(key)
    if current is not None and current is not resolver:
        raise ValueError(f"notification kind {key!r} already has a resolver: {current!r}")
    _resolvers[key] = resolver


def registered_kinds() -> frozenset[str]:
    return frozenset(_resolvers)


def recipients(event: OutboxEvent) -> QuerySet[User] | None:
    """The active citizens ``event`` is for who did not opt out of its kind, or ``None`` when it
    no longer applies. Raises :class:`UnregisteredKind` if no app registered its kind."""
    resolver = _resolvers.get(event.kind)
    if resolver is None:
        logger.error(
            "notification_kind_unregistered: no resolver for kind %r (event %s); "
            "it stays undelivered until one is registered",
            event.kind,
            event.pk,
        )
        raise UnregisteredKind(event.kind)
    users = resolver(event)
    if users is None:
        return None
    return users.filter(is_active=True).exclude(
        Exists(OptOut.objects.filter(user_id=OuterRef("pk"), kind=event.kind))
    )

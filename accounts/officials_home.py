"""The officials' home (the admin index): sections the apps above fill in with panels.

The admin site lives in ``accounts``, below ``voting``, ``proposals`` and ``discussion``, so it may
not import them (.importlinter). The home is therefore a registry: each of those apps registers,
from its admin module, a function that builds its panel for a request, or returns None when the
official may not see it; the index template (admin/officials/index.html) renders the sections in
:class:`Section` order, the panels of a section in their ``order``. The apps that register panels
also come first in the app list below the sections (``ordered_app_list``).

A builder runs on every visit of the home: it must answer in one or two queries.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Count, QuerySet, Window
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

Text = str | Promise


class Section(StrEnum):
    """The home's sections, in the order the page shows them; the element id is ``home-<value>``."""

    POLLS = "polls"
    QUEUE = "queue"
    SHORTCUTS = "shortcuts"


SECTION_TITLES: dict[Section, Text] = {
    Section.POLLS: _("My polls"),
    Section.QUEUE: _("Waiting for a decision"),
    Section.SHORTCUTS: _("Shortcuts"),
}


@dataclass(frozen=True)
class Link:
    label: Text
    url: str
    # The element's id: a stable handle for tests and for the docs' walkthroughs.
    id: str = ""


@dataclass(frozen=True)
class Entry:
    """One row of a group: a poll, a proposal, a comment."""

    label: str
    url: str
    detail: Text = ""
    # The official's own (a poll they own): marked in words, not by colour alone.
    mine: bool = False


@dataclass(frozen=True)
class Group:
    """A counted list: the polls of one status, the proposals under review..."""

    key: str  # rendered as data-status
    title: Text
    count: int
    entries: tuple[Entry, ...] = ()
    see_all: Link | None = None


@dataclass(frozen=True)
class Panel:
    groups: tuple[Group, ...] = ()
    links: tuple[Link, ...] = ()


PanelBuilder = Callable[[HttpRequest], Panel | None]

# How many entries a group lists; "see all" opens the whole list.
SHOWN = 5


def queue_group(
    *,
    key: str,
    title: Text,
    queryset: QuerySet[Any],
    entry: Callable[[Any], Entry],
    changelist: str,
    filters: Mapping[str, str],
) -> Group:
    """A queue as a group: its first ``SHOWN`` rows of ``queryset`` (already ordered, as the
    list orders them) and their count in one query (a window over the rows), and "see all" to
    the ``changelist`` URL name with the list's own ``filters``."""
    rows = list(queryset.annotate(queue_count=Window(Count("pk")))[:SHOWN])
    count = rows[0].queue_count if rows else 0
    return Group(
        key=key,
        title=title,
        count=count,
        entries=tuple(entry(row) for row in rows),
        see_all=Link(
            label=_("See all %(count)d") % {"count": count},
            url=f"{reverse(changelist)}?{urlencode(filters)}",
        ),
    )


@dataclass(frozen=True)
class _Registration:
    key: str
    section: Section
    order: int
    build: PanelBuilder
    app_label: str


_registry: dict[str, _Registration] = {}


def register_panel(
    *, key: str, section: Section, order: int, build: PanelBuilder, app_label: str = ""
) -> None:
    """Add a panel to the home. By ``key``: registering again replaces (modules are re-imported
    in tests). ``app_label``: the app whose models the panel is about; it moves up the app list."""
    _registry[key] = _Registration(
        key=key, section=section, order=order, build=build, app_label=app_label
    )


def unregister_panel(*, key: str) -> None:
    _registry.pop(key, None)


@dataclass(frozen=True)
class HomeSection:
    section: Section
    title: Text
    panels: tuple[Panel, ...]

    @property
    def dom_id(self) -> str:
        return f"home-{self.section.value}"

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(group for panel in self.panels for group in panel.groups)

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(link for panel in self.panels for link in panel.links)


def sections_for(request: HttpRequest) -> list[HomeSection]:
    """The sections with at least one panel this official may see, in page order."""
    registrations = sorted(
        _registry.values(), key=lambda r: (list(Section).index(r.section), r.order)
    )
    sections: list[HomeSection] = []
    for section in Section:
        panels = tuple(
            panel
            for registration in registrations
            if registration.section == section
            and (panel := registration.build(request)) is not None
            and (panel.groups or panel.links)
        )
        if panels:
            sections.append(
                HomeSection(section=section, title=SECTION_TITLES[section], panels=panels)
            )
    return sections


def ordered_app_list(app_list: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Django's app list with the apps of the home's panels first (voting's polls before
    "Accounts"), in the panels' order; the others keep Django's alphabetical order."""
    first: list[str] = []
    for registration in sorted(
        _registry.values(), key=lambda r: (list(Section).index(r.section), r.order)
    ):
        if registration.app_label and registration.app_label not in first:
            first.append(registration.app_label)
    rank = {label: i for i, label in enumerate(first)}
    return sorted(app_list, key=lambda app: rank.get(app["app_label"], len(rank)))

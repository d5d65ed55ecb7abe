"""Reads of Seoul's administrative areas: the public pickers and search, and name lookups."""

from django.db.models import QuerySet

from districts.models import District, Group


def district_exists(*, code: str) -> bool:
    return District.objects.filter(code=code).exists()


def district_by_code(*, code: str, active_only: bool = False) -> District | None:
    queryset = District.objects.filter(code=code)
    if active_only:
        queryset = queryset.filter(is_active=True)
    return queryset.first()


def district_list(
    *,
    parent: str | None = None,
    q: str = "",
    level: str | None = None,
    include_inactive: bool = False,
) -> QuerySet[District]:
    """Without filters the top-level cities; ``parent``: its children (its whole subtree when
    searching); ``q``: by name or code prefix; sorted by code. Active districts only unless
    ``include_inactive``."""
    queryset = District.objects.all()
    if parent is not None:
        queryset = queryset.descendants_of(parent) if q else queryset.filter(parent_id=parent)
    elif not q and level is None:
        queryset = queryset.filter(level=District.Level.CITY)
    if q:
        queryset = queryset.search(q)
    if level is not None:
        queryset = queryset.filter(level=level)
    if not include_inactive:
        queryset = queryset.active()
    return queryset.order_by("code")


def district_detail_queryset() -> QuerySet[District]:
    """Any district, retired ones too, with the parent a dong's ``gu`` needs."""
    return District.objects.select_related("parent")


def active_groups() -> QuerySet[Group]:
    return Group.objects.filter(is_active=True).order_by("name")


def gu_names(*, english: bool) -> dict[str, str]:
    """Every gu's name by code, in English or Korean."""
    rows = District.objects.filter(level=District.Level.GU).values_list(
        "code", "name_ko", "name_en"
    )
    return {code: (name_en if english else name_ko) for code, name_ko, name_en in rows}

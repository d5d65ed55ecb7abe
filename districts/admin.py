from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from districts.models import District, Group, PendingGroupMember, name_key


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name_ko", "name_en", "level", "parent", "is_active"]
    list_filter = ["level", "is_active"]
    list_select_related = ["parent"]
    # search_key makes the autocomplete (e.g. a citizen's residence) find 창신제1동 by "창신1동".
    search_fields = ["code", "name_ko", "name_en", "search_key"]
    autocomplete_fields = ["parent"]
    ordering = ["code"]
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: District | None = None):
        # A code is the district's identity: polls, ballots and residences point at it.
        return ["code"] if obj is not None else []

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        # Keep the list filters / autocomplete restrictions already applied to ``queryset``.
        base = queryset
        queryset, may_have_duplicates = super().get_search_results(request, base, search_term)
        # The default search compares the typed text as is; "종로1·2·3·4가동" only matches the
        # official 종로1.2.3.4가동 once normalised like search_key.
        key = name_key(search_term)
        if key:
            queryset |= base.filter(search_key__contains=key)
        return queryset, may_have_duplicates

    def has_delete_permission(self, request: HttpRequest, obj: District | None = None) -> bool:
        # Retired districts are deactivated, never deleted: old polls and ballots refer to them.
        return False


class PendingGroupMemberInline(admin.TabularInline):
    """How many places are kept, and since when; the phone numbers themselves are not shown."""

    model = PendingGroupMember
    fields = ["added_at"]
    readonly_fields = ["added_at"]
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("pending members (phone numbers hidden)")

    def has_add_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "kind", "is_active", "member_count"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "name_en"]
    fields = ["name", "name_en", "description", "kind", "is_active", "created_at"]
    readonly_fields = ["created_at"]
    # Memberships are not editable here: an inline would list the members' accounts.
    inlines = [PendingGroupMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(_member_count=Count("memberships", distinct=True))
        )

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Group) -> int:
        return obj._member_count

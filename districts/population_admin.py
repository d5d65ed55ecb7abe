"""The population tables in the admin: read-only, what ``import_population`` checked and loaded."""

from django.contrib import admin
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from districts.models import PopulationTable


@admin.register(PopulationTable)
class PopulationTableAdmin(admin.ModelAdmin):
    """Read-only: a table is what ``manage.py import_population`` checked and loaded."""

    list_display = ["reference_date", "is_demo", "residents", "source", "imported_at"]
    fields = ["reference_date", "is_demo", "residents", "source", "imported_at"]
    readonly_fields = ["reference_date", "is_demo", "residents", "source", "imported_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PopulationTable]:
        return super().get_queryset(request).annotate(total=Sum("cells__population"))

    @admin.display(description=_("residents"), ordering="total")
    def residents(self, table: PopulationTable) -> str:
        return f"{getattr(table, 'total', 0) or 0:,}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

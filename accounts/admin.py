from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import User, Verification


def mask_phone(phone: str | None) -> str:
    """+821012345678 → +82 10-****-5678: enough to tell two citizens apart, not to call one."""
    if not phone:
        return "—"
    if phone.startswith("+82") and len(phone) >= 11:
        national = phone[3:]
        return f"+82 {national[:2]}-****-{national[-4:]}"
    return f"{phone[:4]}****{phone[-2:]}"


class OfficialCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email")


class OfficialChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = OfficialChangeForm
    add_form = OfficialCreationForm
    list_display = (
        "__str__",
        "display_name",
        "masked_phone",
        "verification",
        "district",
        "is_staff",
        "is_active",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "verification")
    search_fields = ("username", "email", "display_name")
    ordering = ("-date_joined",)
    list_select_related = ("district",)
    autocomplete_fields = ("district", "jurisdiction")
    actions = ("mark_resident_verified", "mark_phone_verified_only")
    readonly_fields = ("masked_phone", "last_login", "date_joined", "district_changed_at")
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "password1", "password2"),
            },
        ),
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None):
        if obj is None:
            return self.add_fieldsets
        phone_field = "phone" if self._may_see_phone(request) else "masked_phone"
        return (
            (None, {"fields": ("username", "password", "display_name", "email")}),
            (
                _("Citizen"),
                {
                    "fields": (
                        phone_field,
                        "phone_verified",
                        "verification",
                        "district",
                        "district_changed_at",
                        "birth_year",
                        "gender",
                    )
                },
            ),
            (
                _("Permissions"),
                {
                    "fields": (
                        "is_active",
                        "is_staff",
                        "is_superuser",
                        "jurisdiction",
                        "groups",
                        "user_permissions",
                    )
                },
            ),
            (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        )

    # Who may do what is decided by superusers only: an official who can edit citizens (to mark
    # them resident-verified) must not be able to grant themselves or anyone else more power.
    PRIVILEGE_FIELDS = (
        "username",
        "password",
        "is_active",
        "is_staff",
        "is_superuser",
        "jurisdiction",
        "groups",
        "user_permissions",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        if request.user.is_superuser:
            return self.readonly_fields
        return (*self.readonly_fields, *self.PRIVILEGE_FIELDS)

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # Officials look after citizens; other officials' accounts are the superusers' business.
        return queryset.filter(Q(is_staff=False, is_superuser=False) | Q(pk=request.user.pk))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New accounts are either citizens (they sign up) or officials (superusers create them).
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return request.user.is_superuser

    @staticmethod
    def _may_see_phone(request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.view_phone_number")

    @admin.display(description=_("phone number"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone)

    def get_search_fields(self, request: HttpRequest):
        # Searching by phone would reveal whether a number has an account: permission only.
        if self._may_see_phone(request):
            return (*self.search_fields, "phone")
        return self.search_fields

    @admin.action(description=_("Mark as resident-verified"), permissions=["change"])
    def mark_resident_verified(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.set_verification(user=user, level=Verification.RESIDENT)
        self.message_user(
            request, _("%(n)d citizens marked resident-verified.") % {"n": len(queryset)}
        )

    @admin.action(description=_("Lower to phone-verified"), permissions=["change"])
    def mark_phone_verified_only(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        updated = queryset.filter(phone_verified=True).update(verification=Verification.PHONE)
        self.message_user(
            request, _("%(n)d citizens set to phone-verified.") % {"n": updated}, messages.INFO
        )

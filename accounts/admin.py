from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts import officials
from accounts.models import CitizenChangeRequest, User
from accounts.phone import mask_phone


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
    actions = ("request_resident_verification", "request_lower_verification")
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

    # Who may do what is decided by superusers only: an official who looks after citizens must
    # not be able to grant themselves or anyone else more power.
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
    # A citizen's identity and eligibility: nobody edits them here, superusers included. The phone
    # changes only by its holder (SMS); the rest through a change request two officials decide
    # (accounts/officials.py), which the audit log records.
    CITIZEN_FIELDS = (
        "phone",
        "phone_verified",
        "verification",
        "district",
        "district_changed_at",
        "birth_year",
        "gender",
        "email",
        "display_name",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        fields = [*self.readonly_fields]
        if obj is not None and (not obj.is_staff or obj.phone):
            # Any account with a phone is a citizen's, even one made staff: otherwise ticking
            # is_staff, rewriting the phone and unticking it would unlock the fields.
            fields += self.CITIZEN_FIELDS
        if not request.user.is_superuser:
            fields += [f for f in self.PRIVILEGE_FIELDS if f not in fields]
            fields += [f for f in ("email", "display_name") if f not in fields]
        return tuple(dict.fromkeys(fields))

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # Officials look after the citizens of their jurisdiction; other officials' accounts are
        # the superusers' business.
        citizens = officials.citizens_within(official=request.user)
        return queryset.filter(Q(pk__in=citizens.values("pk")) | Q(pk=request.user.pk))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New accounts are either citizens (they sign up) or officials (superusers create them).
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Only superusers save this form (officials' accounts, a citizen's active flag); officials
        # read it and act through change requests.
        return request.user.is_superuser

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # Django allows filtering the list by any field of the model through the URL
        # (?phone__startswith=+8210...): that would read masked numbers digit by digit. Officials
        # filter by the list's own filters only; phone lookups need the phone permission.
        field = lookup.split("__", 1)[0]
        if field in ("phone", "password") and not self._may_see_phone(request):
            return False
        if not request.user.is_superuser and field not in self.list_filter:
            return False
        return super().lookup_allowed(lookup, value, request)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):
        # Citizens have no password (they log in by SMS code): nobody sets one for them.
        user = self.get_object(request, id)
        if user is not None and (not user.is_staff or user.phone):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

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

    @admin.action(
        description=_("Request resident verification (a second official approves)"),
        permissions=["request_change"],
    )
    def request_resident_verification(self, request: HttpRequest, queryset: QuerySet[User]):
        return self._request_for_many(
            request, queryset, kind=CitizenChangeRequest.Kind.VERIFY_RESIDENT
        )

    @admin.action(
        description=_("Request lowering to phone-verified (a second official approves)"),
        permissions=["request_change"],
    )
    def request_lower_verification(self, request: HttpRequest, queryset: QuerySet[User]):
        return self._request_for_many(
            request, queryset, kind=CitizenChangeRequest.Kind.LOWER_VERIFICATION
        )

    def has_request_change_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(officials.REQUEST_PERMISSION)

    def _request_for_many(self, request: HttpRequest, queryset: QuerySet[User], *, kind: str):
        """An intermediate page asks for the reason; the requests are made on its POST."""
        form = ReasonForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            made, refused = 0, 0
            for citizen in queryset:
                try:
                    officials.request_change(
                        official=request.user,
                        citizen=citizen,
                        kind=kind,
                        reason=form.cleaned_data["reason"],
                    )
                    made += 1
                except (ValidationError, PermissionDenied):
                    refused += 1
            self.message_user(
                request,
                _(
                    "%(made)d requests made; a second official must approve them. "
                    "%(refused)d not made (already pending, no change, or outside your powers)."
                )
                % {"made": made, "refused": refused},
                messages.SUCCESS if made else messages.WARNING,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Why?"),
            "opts": self.model._meta,
            "form": form,
            "citizens": queryset,
            "action": request.POST.get("action"),
            "kind_label": CitizenChangeRequest.Kind(kind).label,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/user/request_reason.html", context)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        min_length=5,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why, and on what evidence (e.g. the document seen at the community centre)."),
    )


class ChangeRequestForm(forms.ModelForm):
    class Meta:
        model = CitizenChangeRequest
        fields = ("citizen", "kind", "district", "birth_year", "gender", "reason")


@admin.register(CitizenChangeRequest)
class CitizenChangeRequestAdmin(admin.ModelAdmin):
    """Officials ask for a change to a citizen here; a second official approves or rejects it."""

    form = ChangeRequestForm
    list_display = ("__str__", "kind", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("status", "kind")
    autocomplete_fields = ("citizen", "district")
    actions = ("approve", "reject")
    readonly_fields = ("status", "requested_by", "requested_at", "decided_by", "decided_at")

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request).select_related("requested_by", "decided_by")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(citizen__in=officials.citizens_within(official=request.user))

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return self.readonly_fields
        # A request is never edited after it is made: decide it, or withdraw it and ask again.
        return (*self.form.Meta.fields, *self.readonly_fields)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(officials.DECIDE_PERMISSION)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "citizen":
            kwargs["queryset"] = officials.citizens_within(official=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: CitizenChangeRequest, form, change) -> None:
        # Through the service: powers, values and the audit entry are checked there. The form's
        # clean() already ran the same checks (below), so this does not fail here.
        made = officials.request_change(
            official=request.user,
            citizen=obj.citizen,
            kind=obj.kind,
            reason=obj.reason,
            district=obj.district,
            birth_year=obj.birth_year,
            gender=obj.gender,
        )
        obj.pk = made.pk

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        official = request.user

        class CheckedForm(form_class):  # type: ignore[misc, valid-type]
            def clean(self):
                data = super().clean()
                citizen = data.get("citizen")
                if citizen is not None and not self.errors:
                    try:
                        officials.check_request(
                            official=official,
                            citizen=citizen,
                            kind=data.get("kind", ""),
                            reason=data.get("reason", ""),
                            district=data.get("district"),
                            birth_year=data.get("birth_year"),
                            gender=data.get("gender") or "",
                        )
                    except PermissionDenied as exc:
                        raise ValidationError(str(exc)) from exc
                return data

        return CheckedForm

    @admin.action(description=_("Approve (as the second official)"), permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[CitizenChangeRequest]) -> None:
        self._decide(request, queryset, officials.approve_change, _("approved"))

    @admin.action(description=_("Reject"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[CitizenChangeRequest]) -> None:
        self._decide(request, queryset, officials.reject_change, _("rejected"))

    def _decide(self, request, queryset, decide, done: str) -> None:
        decided, refused = 0, []
        for change in queryset:
            try:
                decide(official=request.user, change=change)
                decided += 1
            except (ValidationError, PermissionDenied) as exc:
                refused.append(f"#{change.pk}: {_first_message(exc)}")
        if decided:
            self.message_user(request, _("%(n)d requests %(done)s.") % {"n": decided, "done": done})
        for line in refused:
            self.message_user(request, line, messages.ERROR)


def _first_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return exc.messages[0]
    return str(exc)


# Texts sent through a real provider: read-only, in a module of their own.
from accounts import sms_admin  # noqa: E402, F401

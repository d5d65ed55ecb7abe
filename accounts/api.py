"""``/api/v1/me/``: the citizen's own profile, groups and identity verification."""

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import profile_history, selectors, services
from accounts.authentication import user_of
from accounts.identity import get_verifier
from accounts.models import Gender, ProfileField, User, Verification
from core.errors import ApiError
from core.schema import error_response
from core.schema_errors import errors
from districts import selectors as district_selectors
from districts.api import CODE_PATTERN, DistrictRefSerializer
from districts.models import District, code_validator


class ReadOnlyField(ApiError):
    default_code = "read_only_field"
    default_detail = _("Only district, birth_year and gender can be changed here.")


class IdentityVerificationUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "identity_verification_unavailable"
    default_detail = _("Identity verification is not available right now.")


class IdentityVerificationFailed(ApiError):
    default_code = "identity_verification_failed"
    default_detail = _("The identity provider could not confirm your identity.")


# --- Serializers -------------------------------------------------------------------------------


# The API's names of the verification levels, lowest first (Verification.api_name).
VERIFICATION_NAMES = [level.api_name for level in Verification]


class ResidenceSerializer(serializers.Serializer):
    code = serializers.RegexField(CODE_PATTERN, read_only=True, help_text="10-digit district code")
    name = serializers.CharField(read_only=True, help_text="In the request's language")
    # The model's choices, so the schema shares the districts' LevelEnum.
    level = serializers.ChoiceField(choices=District.Level.choices, read_only=True)
    gu = serializers.SerializerMethodField(
        help_text="The gu the residence lies in (itself for a gu); null for a city"
    )

    @extend_schema_field(DistrictRefSerializer(allow_null=True))
    def get_gu(self, district: District) -> dict[str, Any] | None:
        if district.level == District.Level.GU:
            return DistrictRefSerializer(district).data
        if district.level == District.Level.DONG:
            return DistrictRefSerializer(district.parent).data
        return None


class GroupRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class NextChangeSerializer(serializers.Serializer):
    residence = serializers.DateTimeField(allow_null=True)
    birth_year = serializers.DateTimeField(allow_null=True)
    gender = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.ModelSerializer):
    # Declared for their constraints: read-only model fields lose them in the schema.
    phone = serializers.CharField(
        read_only=True, allow_null=True, max_length=16, help_text="E.164, e.g. +821012345678"
    )
    email = serializers.EmailField(read_only=True, allow_null=True, allow_blank=True)
    district = ResidenceSerializer(allow_null=True)
    # The database's check constraint (user_birth_year_plausible), stated for clients.
    birth_year = serializers.IntegerField(
        allow_null=True, min_value=1900, max_value=2100, read_only=True
    )
    groups = GroupRefSerializer(source="active_groups", many=True)
    verification = serializers.SerializerMethodField(
        help_text="How sure the service is of who I am: unverified < phone < resident"
    )
    next_residence_change_at = serializers.SerializerMethodField(
        help_text="When the residence may change again; null when it may change now."
    )
    next_change_at = serializers.SerializerMethodField(
        help_text=(
            "When each of residence, birth year and gender may change again (null: now). "
            "Declared once freely, then once per cooldown; the clocks belong to the phone number."
        )
    )

    class Meta:
        model = User
        fields = [
            "id",
            "phone",
            "email",
            "district",
            "birth_year",
            "gender",
            "groups",
            "verification",
            "next_residence_change_at",
            "next_change_at",
        ]
        # An answer only (MeUpdateSerializer reads): every key is always there, so the schema
        # lists each as required.
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=VERIFICATION_NAMES))
    def get_verification(self, user: User) -> str:
        return Verification(user.verification).api_name

    def _next_changes(self, user: User) -> dict[str, str | None]:
        cached = getattr(self, "_next_changes_cache", None)
        if cached is None:
            last = profile_history.last_changes(user=user)
            cached = {}
            for field in ProfileField:
                at = profile_history.next_change_at(user=user, field=field, last=last)
                cached[field.value] = (
                    serializers.DateTimeField().to_representation(at) if at else None
                )
            self._next_changes_cache = cached
        return cached

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_residence_change_at(self, user: User) -> str | None:
        return self._next_changes(user)[ProfileField.RESIDENCE.value]

    @extend_schema_field(NextChangeSerializer)
    def get_next_change_at(self, user: User) -> dict[str, str | None]:
        return self._next_changes(user)


class MeUpdateSerializer(serializers.Serializer):
    district = serializers.CharField(
        required=False, validators=[code_validator], help_text="10-digit code of a gu or dong"
    )
    birth_year = serializers.IntegerField(required=False, min_value=1900)
    gender = serializers.ChoiceField(required=False, choices=Gender.choices)

    def validate_district(self, code: str) -> District:
        district = district_selectors.district_by_code(code=code)
        if district is None:
            raise serializers.ValidationError(_("No district has this code."))
        return district

    def validate_birth_year(self, year: int) -> int:
        if year > timezone.localdate().year:
            raise serializers.ValidationError(_("The birth year cannot be in the future."))
        return year


class JoinGroupSerializer(serializers.Serializer):
    # Bounded like every id: a number beyond 64 bits is a 400, not a database overflow (500).
    group = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class IdentityEvidenceSerializer(serializers.Serializer):
    evidence = serializers.DictField(help_text="What the identity provider's app SDK returned")


# --- Views -------------------------------------------------------------------------------------


class MeView(APIView):
    @extend_schema(responses={200: MeSerializer, **errors(401, 503)}, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(selectors.me(user_id=user_of(request).pk)).data)

    @extend_schema(
        request=MeUpdateSerializer,
        responses={
            200: MeSerializer,
            **errors(400, 401, 403, 413, 415, 503),
            409: error_response(
                "residence_change_too_soon (with next_change_at) / profile_change_too_soon "
                "(with field and next_change_at)"
            ),
        },
        description=(
            "Change district, birth_year or gender. The residence may change once per "
            "cooldown period (409 `residence_change_too_soon` with `next_change_at`); birth "
            "year and gender may be declared once and then corrected once per cooldown (409 "
            "`profile_change_too_soon` with `field` and `next_change_at`). Any other "
            "field is refused with 400 `read_only_field`: nothing else is writable here."
        ),
        operation_id="me_update",
    )
    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError(_("Send a JSON object."), code="invalid_body")
        forbidden = sorted(set(request.data) - set(MeUpdateSerializer().fields))
        if forbidden:
            raise ReadOnlyField(
                fields={name: [str(ReadOnlyField.default_detail)] for name in forbidden}
            )
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_profile(
            user=user_of(request), changes=services.ProfileChanges(**serializer.validated_data)
        )
        return Response(MeSerializer(selectors.me(user_id=user_of(request).pk)).data)

    @extend_schema(
        responses={204: None, **errors(401, 403, 503)},
        description=(
            "Delete the account and its personal data. Ballots already cast stay counted (they "
            "were never linked to the account). The phone number can sign up again."
        ),
        operation_id="me_destroy",
    )
    def delete(self, request: Request) -> Response:
        services.delete_account(user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyGroupsView(APIView):
    @extend_schema(
        request=JoinGroupSerializer,
        responses={
            201: GroupRefSerializer,
            200: OpenApiResponse(GroupRefSerializer, description="Already a member"),
            **errors(400, 401, 403, 413, 415, 503),
        },
        description=(
            "Join a self-declared group. Managed groups answer 403 `group_managed`; an unknown "
            "or retired group 400 `group_unavailable`."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = JoinGroupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group_id = serializer.validated_data["group"]
        already = selectors.is_group_member(user=user_of(request), group_id=group_id)
        group = services.join_group(user=user_of(request), group_id=group_id)
        return Response(
            GroupRefSerializer(group).data,
            status=status.HTTP_200_OK if already else status.HTTP_201_CREATED,
        )


class MyGroupView(APIView):
    @extend_schema(
        responses={204: None, **errors(400, 401, 403, 404, 503)},
        description=(
            "Leave a group. 404 when not a member; 403 `group_managed` for a managed group; "
            "400 `group_unavailable` for a group that does not exist."
        ),
    )
    def delete(self, request: Request, group_id: int) -> Response:
        if not services.leave_group(user=user_of(request), group_id=group_id):
            from rest_framework.exceptions import NotFound

            raise NotFound(_("You are not a member of this group."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdentityVerificationView(APIView):
    @extend_schema(
        request=IdentityEvidenceSerializer,
        responses={
            200: MeSerializer,
            **errors(401, 403, 413, 415),
            400: error_response(
                "identity_verification_failed (with reason) / invalid_input (with fields)"
            ),
            503: error_response(
                "identity_verification_unavailable (no provider configured, or it failed) / "
                "service_unavailable (with Retry-After)"
            ),
        },
        parameters=[
            # Documented here, so core.schema's hook does not make it required: a missing
            # provider is no brief outage, and its 503 names no time to retry after.
            OpenApiParameter(
                "Retry-After",
                {"type": "integer", "minimum": 0},
                OpenApiParameter.HEADER,
                response=[503],
                required=False,
                description="Seconds to wait, with service_unavailable only.",
            )
        ],
        description=(
            "Hand the identity provider's evidence (from its app SDK) to the configured "
            "verifier; on success the citizen becomes `resident`-verified. 503 when no "
            "provider is configured."
        ),
    )
    def post(self, request: Request) -> Response:
        verifier = get_verifier()
        if verifier is None:
            raise IdentityVerificationUnavailable()
        serializer = IdentityEvidenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = verifier.verify(
                user=user_of(request), evidence=serializer.validated_data["evidence"]
            )
        except Exception as exc:
            raise IdentityVerificationUnavailable() from exc
        if not result.verified:
            raise IdentityVerificationFailed(reason=result.reason or "refused")
        residence = None
        if result.district_code:
            residence = district_selectors.district_by_code(
                code=result.district_code, active_only=True
            )
        services.set_verification(
            user=user_of(request),
            level=Verification.RESIDENT,
            residence=residence,
            birth_year=result.birth_year,
        )
        return Response(MeSerializer(selectors.me(user_id=user_of(request).pk)).data)

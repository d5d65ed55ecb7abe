"""Public, read-only API: Seoul's administrative areas (for pickers and search) and citizen groups.

District lists use the project's pagination envelope (``count``/``next``/``previous``/``results``)
with a larger page: 100 by default, up to 500 with ``?page_size=``. So any district's children
(the city's 25 gu, a gu's at most ~30 dongs) come in one request, while a search over several
cities stays bounded.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny

from core.filters import parse_query
from core.pagination import Pagination
from core.schema_errors import errors
from districts import selectors
from districts.models import District, Group, code_validator

# --- Serializers ----------------------------------------------------------------------------------


# Codes are always 10 digits (districts.models.code_validator); the pattern says so to clients.
CODE_PATTERN = r"^\d{10}$"


class DistrictSerializer(serializers.ModelSerializer):
    code = serializers.RegexField(CODE_PATTERN, read_only=True, help_text="10-digit code")
    name = serializers.CharField(read_only=True, help_text="name_ko or name_en, by Accept-Language")
    # "parent" shadows Field.parent for the type checker only (DRF moves declared fields away).
    parent = serializers.RegexField(  # type: ignore[assignment]
        CODE_PATTERN,
        source="parent_id",
        read_only=True,
        allow_null=True,
        help_text="The parent district's code; null for a city",
    )

    class Meta:
        model = District
        fields = ["code", "level", "name", "name_ko", "name_en", "parent", "is_active"]
        read_only_fields = fields


class DistrictRefSerializer(serializers.Serializer):
    code = serializers.RegexField(CODE_PATTERN, read_only=True, help_text="10-digit code")
    name = serializers.CharField(read_only=True)


class DistrictDetailSerializer(DistrictSerializer):
    gu = serializers.SerializerMethodField()

    class Meta(DistrictSerializer.Meta):
        fields = [*DistrictSerializer.Meta.fields, "gu"]
        read_only_fields = fields

    @extend_schema_field(DistrictRefSerializer(allow_null=True))
    def get_gu(self, obj: District) -> dict | None:
        if obj.level == District.Level.GU:
            gu = obj
        elif obj.level == District.Level.DONG:
            gu = obj.parent  # select_related by the view
        else:
            return None
        return DistrictRefSerializer(gu).data


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name", "name_en", "description", "kind"]
        read_only_fields = fields


def _validated_code(code: str) -> str:
    try:
        code_validator(code)
    except DjangoValidationError as exc:
        raise ValidationError({"code": [str(message) for message in exc.messages]}) from None
    return code


class DistrictFilterSerializer(serializers.Serializer):
    """The list's query parameters; invalid ones answer 400 ``invalid_input``."""

    parent = serializers.CharField(
        required=False,
        validators=[code_validator],
        help_text="10-digit code of the district whose children to list (404 if unknown)",
    )
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="name (ko/en) or code prefix"
    )
    level = serializers.ChoiceField(choices=District.Level.choices, required=False)
    include_inactive = serializers.BooleanField(
        required=False, default=False, help_text="also list retired districts (default: false)"
    )


# --- Views ----------------------------------------------------------------------------------------

# Public and never throttled: a bad parameter (400), a sent token that is invalid (401), an
# unknown district or page (404).
PUBLIC_ERRORS = errors(400, 401, 404, 503)


class DistrictPagination(Pagination):
    page_size = 100
    max_page_size = 500


@extend_schema(
    summary="List or search districts",
    description=(
        "Without parameters: the top-level cities. `parent`: that district's children (the "
        "city's gu, a gu's dongs). `q`: search by Korean or English name (spelling variants "
        "such as 창신1동/창신제1동 or 종로1·2·3·4가동/종로1.2.3.4가동 match) or by code prefix; "
        "with `parent`, within its whole subtree. Active districts only unless "
        "`include_inactive`. Sorted by code. `name` is in the request's language."
    ),
    responses={200: DistrictSerializer(many=True), **PUBLIC_ERRORS},
    parameters=[DistrictFilterSerializer],
)
class DistrictListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = DistrictSerializer
    pagination_class = DistrictPagination

    def get_queryset(self):
        params = parse_query(DistrictFilterSerializer, self.request)
        parent = params.get("parent")
        if parent is not None and not selectors.district_exists(code=parent):
            raise NotFound(_("No district has the code %(code)s.") % {"code": parent})
        return selectors.district_list(
            parent=parent,
            q=params.get("q", "").strip(),
            level=params.get("level"),
            include_inactive=params["include_inactive"],
        )


@extend_schema(
    summary="One district",
    description="Any district, retired ones included; `gu` is the gu it lies in (null for a city).",
    responses={200: DistrictDetailSerializer, **PUBLIC_ERRORS},
    parameters=[
        OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^\d{10}$")
    ],
)
class DistrictDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = DistrictDetailSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.district_detail_queryset()

    def get_object(self) -> District:
        _validated_code(self.kwargs["code"])
        return super().get_object()


@extend_schema(
    summary="Citizen groups",
    description="Active groups polls can be targeted at.",
    responses={200: GroupSerializer(many=True), **PUBLIC_ERRORS},
)
class GroupListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = GroupSerializer

    def get_queryset(self):
        return selectors.active_groups()

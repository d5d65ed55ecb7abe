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

from core.pagination import Pagination
from core.schema import PUBLIC_ERROR_RESPONSES
from districts.models import District, Group, code_validator

# --- Serializers ----------------------------------------------------------------------------------


class DistrictSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="name_ko or name_en, by Accept-Language")
    parent = serializers.CharField(source="parent_id", read_only=True, allow_null=True)

    class Meta:
        model = District
        fields = ["code", "level", "name", "name_ko", "name_en", "parent", "is_active"]
        read_only_fields = fields


class DistrictRefSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
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


class DistrictQuerySerializer(serializers.Serializer):
    """The list's query parameters; invalid ones answer 400 ``invalid_input``."""

    parent = serializers.CharField(required=False, validators=[code_validator])
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    level = serializers.ChoiceField(choices=District.Level.choices, required=False)
    include_inactive = serializers.BooleanField(required=False, default=False)


def _validated_code(code: str) -> str:
    try:
        code_validator(code)
    except DjangoValidationError as exc:
        raise ValidationError({"code": [str(message) for message in exc.messages]}) from None
    return code


# --- Views ----------------------------------------------------------------------------------------


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
    responses={200: DistrictSerializer(many=True), **PUBLIC_ERROR_RESPONSES},
    parameters=[
        OpenApiParameter(
            "parent",
            OpenApiTypes.STR,
            description="10-digit code of the district whose children to list (404 if unknown)",
            pattern=r"^\d{10}$",
        ),
        OpenApiParameter("q", OpenApiTypes.STR, description="name (ko/en) or code prefix"),
        OpenApiParameter("level", OpenApiTypes.STR, enum=District.Level.values),
        OpenApiParameter(
            "include_inactive",
            OpenApiTypes.BOOL,
            description="also list retired districts (default: false)",
        ),
    ],
)
class DistrictListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = DistrictSerializer
    pagination_class = DistrictPagination

    def get_queryset(self):
        # A plain dict, not the QueryDict: DRF reads an empty form value as "not given", so
        # ``?level=`` would be ignored silently; as JSON-like input it is a 400 like any bad value.
        params = DistrictQuerySerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        parent = params.validated_data.get("parent")
        q = params.validated_data.get("q", "").strip()
        level = params.validated_data.get("level")

        queryset = District.objects.all()
        if parent is not None:
            if not District.objects.filter(code=parent).exists():
                raise NotFound(_("No district has the code %(code)s.") % {"code": parent})
            queryset = queryset.descendants_of(parent) if q else queryset.filter(parent_id=parent)
        elif not q and level is None:
            queryset = queryset.filter(level=District.Level.CITY)
        if q:
            queryset = queryset.search(q)
        if level is not None:
            queryset = queryset.filter(level=level)
        if not params.validated_data["include_inactive"]:
            queryset = queryset.active()
        return queryset.order_by("code")


@extend_schema(
    summary="One district",
    description="Any district, retired ones included; `gu` is the gu it lies in (null for a city).",
    responses={200: DistrictDetailSerializer, **PUBLIC_ERROR_RESPONSES},
    parameters=[
        OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^\d{10}$")
    ],
)
class DistrictDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = DistrictDetailSerializer
    queryset = District.objects.select_related("parent")
    lookup_field = "code"

    def get_object(self) -> District:
        _validated_code(self.kwargs["code"])
        return super().get_object()


@extend_schema(
    summary="Citizen groups",
    description="Active groups polls can be targeted at.",
    responses={200: GroupSerializer(many=True), **PUBLIC_ERROR_RESPONSES},
)
class GroupListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = GroupSerializer
    queryset = Group.objects.filter(is_active=True).order_by("name")

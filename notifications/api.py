"""``/api/v1/me/notifications/``, ``/api/v1/me/inbox/`` and ``/api/v1/me/devices/``."""

from typing import cast

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import user_of
from core import idempotency
from core.errors import ApiError
from core.fields import StrictBooleanField, StrictCharField
from core.pagination import Pagination
from core.schema_errors import errors
from notifications import messages, services
from notifications.models import Device, Kind, Notification


class UnknownKind(ApiError):
    default_code = "unknown_notification_kind"
    default_detail = _("There is no notification of this kind.")


@extend_schema_serializer(component_name="Preferences")
class PreferencesUpdateSerializer(serializers.Serializer):
    poll_opened = StrictBooleanField(required=False, help_text=str(Kind.POLL_OPENED.label))
    poll_closing = StrictBooleanField(required=False, help_text=str(Kind.POLL_CLOSING.label))
    outcome = StrictBooleanField(required=False, help_text=str(Kind.OUTCOME.label))
    proposal = StrictBooleanField(required=False, help_text=str(Kind.PROPOSAL.label))


# The answer always holds every kind (services.preferences), so each key is required there: a
# serializer of its own, as required=False fields are documented as optional. Both share one
# component name: the request is "PatchedPreferencesRequest", the answer "Preferences".
@extend_schema_serializer(component_name="Preferences")
class PreferencesSerializer(serializers.Serializer):
    poll_opened = serializers.BooleanField(read_only=True, help_text=str(Kind.POLL_OPENED.label))
    poll_closing = serializers.BooleanField(read_only=True, help_text=str(Kind.POLL_CLOSING.label))
    outcome = serializers.BooleanField(read_only=True, help_text=str(Kind.OUTCOME.label))
    proposal = serializers.BooleanField(read_only=True, help_text=str(Kind.PROPOSAL.label))


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(source="event.kind", choices=Kind.choices, read_only=True)
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    poll_id = serializers.SerializerMethodField()
    proposal_id = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "poll_id", "proposal_id", "created_at", "read"]

    def _text(self, notification: Notification) -> tuple[str, str]:
        # Rendered when read, in the reader's language (Accept-Language), not when sent.
        return messages.render(notification.event.kind, notification.event.payload)

    def get_title(self, notification: Notification) -> str:
        return self._text(notification)[0]

    def get_body(self, notification: Notification) -> str:
        return self._text(notification)[1]

    def get_poll_id(self, notification: Notification) -> int | None:
        event = notification.event
        return None if event.kind == Kind.PROPOSAL else event.subject_id

    def get_proposal_id(self, notification: Notification) -> int | None:
        event = notification.event
        return event.subject_id if event.kind == Kind.PROPOSAL else None

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=500,
        help_text="Notifications to mark read; leave out to mark all read.",
    )


class DeviceSerializer(serializers.Serializer):
    token = StrictCharField(max_length=255, help_text="The push token the app was given")
    platform = serializers.ChoiceField(choices=Device.Platform.choices)

    def validate_token(self, token: str) -> str:
        if not looks_like_a_push_token(token):
            raise serializers.ValidationError(_("Not a push token."))
        return token


def looks_like_a_push_token(token: str) -> bool:
    """What a registered device's token can be. Anything else (a NUL, which PostgreSQL refuses
    in a query with an error, or 10 kB) names no device and never reaches the database."""
    return (
        0 < len(token) <= 255
        and token.isprintable()
        and not any(c.isspace() for c in token)
        and "/" not in token
    )


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(min_value=0, help_text="Unread notifications (the badge)")


class PreferencesView(APIView):
    @extend_schema(
        responses={200: PreferencesSerializer, **errors(401, 503)},
        description="Which kinds of notification I receive (all, by default).",
        operation_id="me_notifications_retrieve",
    )
    def get(self, request: Request) -> Response:
        return Response(services.preferences(user_of(request)))

    @extend_schema(
        request=PreferencesUpdateSerializer,
        responses={200: PreferencesSerializer, **errors(400, 401, 403, 413, 415, 503)},
        description="Turn kinds on (true) or off (false); kinds left out stay as they are.",
        operation_id="me_notifications_update",
    )
    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError(_("Send a JSON object."), code="invalid_body")
        unknown = sorted(set(request.data) - set(Kind.values))
        if unknown:
            raise UnknownKind(fields={name: [str(UnknownKind.default_detail)] for name in unknown})
        serializer = PreferencesUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            services.set_preferences(user=user_of(request), wanted=serializer.validated_data)
        )


class InboxPagination(Pagination):
    """A page of the inbox, with the number of unread notifications (the app's badge)."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        # paginate_queryset, which DRF calls first, kept the request.
        request = cast(Request, self.request)
        response.data["unread"] = services.unread_count(user_of(request))
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["unread"] = {"type": "integer", "example": 3}
        paginated["required"] = [*paginated.get("required", []), "unread"]
        return paginated


class InboxView(ListAPIView):
    serializer_class = NotificationSerializer
    pagination_class = InboxPagination

    def get_queryset(self):
        return services.inbox(user_of(self.request))

    @extend_schema(
        responses={200: NotificationSerializer(many=True), **errors(400, 401, 404, 503)},
        description="My notifications, newest first; `unread` counts the unread ones.",
        operation_id="me_inbox_list",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class MarkReadView(APIView):
    @extend_schema(
        request=MarkReadSerializer,
        responses={200: UnreadCountSerializer, **errors(400, 401, 403, 413, 415, 503)},
        description="Mark notifications read (all of them without `ids`).",
    )
    def post(self, request: Request) -> Response:
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.mark_read(user=user_of(request), ids=serializer.validated_data.get("ids"))
        return Response({"unread": services.unread_count(user_of(request))})


class DevicesView(APIView):
    @extend_schema(
        request=DeviceSerializer,
        parameters=idempotency.SCHEMA_PARAMETERS,
        responses={201: DeviceSerializer, **errors(400, 401, 403, 413, 415, 422, 503)},
        description="Register this phone for push notifications (again is fine). Errors: "
        "invalid_idempotency_key (400), idempotency_mismatch (422).",
    )
    def post(self, request: Request) -> Response:
        key = idempotency.key_from(request)
        serializer = DeviceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_of(request)

        def register() -> idempotency.Answer:
            device = services.register_device(user=user, **serializer.validated_data)
            body = {"token": device.token, "platform": device.platform}
            return idempotency.Answer(status_code=status.HTTP_201_CREATED, body=body)

        return idempotency.run(
            user_id=user.pk,
            key=key,
            operation="device",
            payload=serializer.validated_data,
            create=register,
        ).response()


class DeviceView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "token",
                {"type": "string", "minLength": 1, "maxLength": 255},
                OpenApiParameter.PATH,
                description="The push token registered with POST /api/v1/me/devices/",
            )
        ],
        responses={204: None, **errors(401, 403, 404, 503)},
        description="Stop pushes to this phone (on sign-out). 404 when this account has no "
        "device with this token.",
    )
    def delete(self, request: Request, token: str) -> Response:
        if not looks_like_a_push_token(token):
            raise Http404
        if not services.unregister_device(user=user_of(request), token=token):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)

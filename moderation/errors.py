"""Refusals of the hide/show-again service, the same for every kind of hideable thing."""

from django.utils.translation import gettext_lazy as _

from core.errors import ApiError, Conflict


class ReasonRequired(ApiError):
    default_code = "reason_required"
    default_detail = _("Say why, in a few words: the author reads the reason.")


class AlreadyHidden(Conflict):
    default_code = "already_hidden"
    default_detail = _("This is already hidden.")


class NotHidden(Conflict):
    default_code = "not_hidden"
    default_detail = _("This is not hidden.")

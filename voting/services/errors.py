"""Why an official's action on a poll is refused: each a 409 with its own code (core.errors)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict


class PollAlreadyOpened(Conflict):
    default_code = "poll_already_opened"
    default_detail = _("This poll has opened; it can be closed early but not withdrawn.")


class ResultsNotReady(Conflict):
    default_code = "results_not_ready"
    default_detail = _("Results can be published once the poll has closed.")


class PollAlreadyClosed(Conflict):
    default_code = "poll_closed"
    default_detail = _("This poll is closed; a closed poll is never reopened.")


class PollNotClosed(Conflict):
    default_code = "poll_not_closed"
    default_detail = _("An outcome can be recorded only for a closed poll.")


class PollAlreadyPublished(Conflict):
    default_code = "poll_published"
    default_detail = _("A published poll is kept: unpublish it (before it opens) to delete it.")

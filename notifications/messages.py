"""What a notification says, in the reader's language, from the event's kind and payload."""

from django.utils.translation import gettext as _
from django.utils.translation import override

from notifications.models import Kind

_PROPOSAL_HEADINGS = {
    "under_review": lambda: _("A proposal you made or supported is under review"),
    "accepted": lambda: _("A proposal you made or supported will be put to a vote"),
    "rejected": lambda: _("A proposal you made or supported was not accepted"),
    "expired": lambda: _("A proposal you made or supported did not get enough support"),
}


def render(kind: str, payload: dict, language: str | None = None) -> tuple[str, str]:
    """(title, body) of a notification; ``language`` defaults to the active one."""
    if language:
        with override(language):
            return render(kind, payload)
    subject = str(payload.get("title", ""))
    if kind == Kind.POLL_OPENED:
        return _("A new poll for you"), subject
    if kind == Kind.POLL_CLOSING:
        return _("Closing soon: you have not voted yet"), subject
    if kind == Kind.OUTCOME:
        return _("The outcome of a poll you voted in"), subject
    heading = _PROPOSAL_HEADINGS.get(str(payload.get("status")))
    reason = str(payload.get("reason") or "")
    body = f"{subject}\n{reason}" if reason else subject
    return (heading() if heading else _("News about a proposal you made or supported")), body

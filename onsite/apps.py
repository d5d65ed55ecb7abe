from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnsiteConfig(AppConfig):
    """On-site voting: an official's session at a venue, its rotating QR code on a screen, and
    the ballots cast by scanning it (docs/walkthroughs/onsite.md). The model, OnsiteSession,
    lives in voting (the participation points at it)."""

    name = "onsite"
    verbose_name = _("On-site voting")

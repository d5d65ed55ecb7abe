"""The officials' admin for voting, one module per seam: ``polls`` (authoring, actions; with
``inlines``, ``filters`` and ``results``), ``outcomes``, ``categories`` and ``invitations``
(private polls' codes). Importing them here registers them with the admin site (Django's
autodiscover imports ``voting.admin``).

The audit log's admin is the audit app's (audit/admin.py)."""

from voting.admin import categories, invitations, outcomes, polls

__all__ = ["categories", "invitations", "outcomes", "polls"]

"""Proposals' side of the audit log: a gu's officials read the entries about their gu's proposals
(audit/subjects.py asks; registered in ``ProposalsConfig.ready()``)."""

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEntry
from audit.subjects import register_subject
from proposals.models import Proposal


def visible_proposal_ids(user: User) -> QuerySet[Any]:
    # Only asked for a gu's official: city-wide officials read the whole log.
    return Proposal.objects.filter(district_id=user.jurisdiction_id).values("pk")


def proposal_admin_url(proposal_id: int) -> str:
    return reverse("admin:proposals_proposal_change", args=[proposal_id])


def register() -> None:
    register_subject(
        AuditEntry.Subject.PROPOSAL,
        visible_ids=visible_proposal_ids,
        admin_url=proposal_admin_url,
    )

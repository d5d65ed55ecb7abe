"""The proposals' refusals, each a stable ``code`` for clients (core.errors' format).

Not here: ``verification_required`` (``accounts.verification``), ``already_hidden``,
``not_hidden`` and ``reason_required`` (``moderation.errors``), shared with comments.
"""

from django.utils.translation import gettext_lazy as _

from core.errors import ApiError, Conflict, Forbidden


class TooManyOpenProposals(Conflict):
    default_code = "too_many_open_proposals"
    default_detail = _("You have too many proposals collecting support or under review.")


class InvalidDistrict(ApiError):
    default_code = "invalid_district"
    default_detail = _("A proposal is for all of Seoul or for the gu you live in.")


class NotResident(Forbidden):
    default_code = "not_resident"
    default_detail = _("Only residents of this gu may support this proposal.")


class ProposalNotOpen(Conflict):
    default_code = "proposal_not_open"
    default_detail = _("This proposal is no longer collecting support.")


class AlreadySupported(Conflict):
    default_code = "already_supported"
    default_detail = _("You already support this proposal.")


class NotSupported(Conflict):
    default_code = "not_supported"
    default_detail = _("You do not support this proposal.")


class OwnProposal(Conflict):
    default_code = "own_proposal"
    default_detail = _("You cannot support your own proposal.")


class NotAuthor(Forbidden):
    default_code = "not_author"
    default_detail = _("Only the author may add images to a proposal.")


class ImagesLocked(Conflict):
    default_code = "images_locked"
    default_detail = _("Images can be added only while the proposal has no supporters.")


class TooManyImages(Conflict):
    default_code = "too_many_images"
    default_detail = _("A proposal has at most 3 images.")


class ProposalNotUnderReview(Conflict):
    default_code = "proposal_not_under_review"
    default_detail = _("Only proposals under review can be accepted or rejected.")


class ProposalHidden(Conflict):
    default_code = "proposal_hidden"
    default_detail = _("A hidden proposal cannot be accepted; show it again first.")


class OutsideJurisdiction(Forbidden):
    default_code = "outside_jurisdiction"
    default_detail = _("This proposal is outside your jurisdiction.")

"""The comment as the app sees it: a pseudonym, never a name, a phone, a vote or "has voted".

Hidden comments keep their place in the thread (so replies stay attached) but, to anyone but
their author, say only that they are hidden: no text, no reason, no pseudonym. Their author sees
the text and the reason. A deleted comment with replies is a placeholder for everyone.
"""

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import StrictCharField, StrictIntegerField
from discussion.models import Comment, CommentReport

# Crockford's base32: no I, L, O or U, so a tag read aloud or copied by hand stays unambiguous.
_TAG_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 10 characters of 5 bits: 50 bits. Among 100,000 commenters on one subject the chance that any
# two share a tag is about 4 in a million (16 bits collided among a few hundred).
PSEUDONYM_TAG_CHARS = 10


def pseudonym(comment: Comment) -> str | None:
    """A neutral label, the same for one citizen throughout one thread subject and unrelated
    across subjects: replies can be followed, nobody can be identified or tracked."""
    if comment.author_id is None:
        return None
    subject = f"poll:{comment.poll_id}" if comment.poll_id else f"proposal:{comment.proposal_id}"
    digest = salted_hmac(
        "discussion.pseudonym", f"{subject}:{comment.author_id}", algorithm="sha256"
    ).digest()
    bits = int.from_bytes(digest[:8]) >> (64 - 5 * PSEUDONYM_TAG_CHARS)
    chars = [
        _TAG_ALPHABET[(bits >> (5 * (PSEUDONYM_TAG_CHARS - 1 - i))) & 31]
        for i in range(PSEUDONYM_TAG_CHARS)
    ]
    half = PSEUDONYM_TAG_CHARS // 2
    # Two groups of five ("K7M2Q-9XD4P") read more easily than one run of ten.
    tag = "".join(chars[:half]) + "-" + "".join(chars[half:])
    return gettext("Citizen %(tag)s") % {"tag": tag}


class CommentRequestSerializer(serializers.Serializer):
    # Length, blankness and characters are judged by the service on the stripped text; the cap
    # here only spares parsing huge bodies.
    body = StrictCharField(
        trim_whitespace=False, allow_blank=True, max_length=20_000, help_text="The comment text"
    )
    parent = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Id of the top-level comment replied to; null or absent for a new thread",
    )


class ReportRequestSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=CommentReport.Reason.choices)
    note = StrictCharField(required=False, allow_blank=True, max_length=500, default="")


class ReportResponseSerializer(serializers.Serializer):
    comment = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=CommentReport.Reason.choices)


class LikeResponseSerializer(serializers.Serializer):
    comment = serializers.IntegerField()
    like_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()


class ReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)
    author = serializers.CharField(
        allow_null=True, help_text="A pseudonym, stable within this poll or proposal"
    )
    is_mine = serializers.BooleanField()
    body = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    like_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()
    hidden = serializers.BooleanField()
    hidden_reason = serializers.CharField(
        allow_null=True, help_text="Shown to the author of a hidden comment only"
    )
    deleted = serializers.BooleanField()

    def to_representation(self, comment: Comment) -> dict:
        request = self.context.get("request")
        viewer_id = request.user.pk if request is not None else None
        mine = viewer_id is not None and comment.author_id == viewer_id
        deleted = comment.deleted_at is not None
        hidden = comment.is_hidden
        shown = not deleted and (not hidden or mine)
        return {
            "id": comment.pk,
            "parent": comment.parent_id,
            "author": pseudonym(comment) if shown else None,
            "is_mine": mine,
            "body": comment.body if shown else None,
            "created_at": serializers.DateTimeField().to_representation(comment.created_at),
            "like_count": comment.like_count,
            "liked_by_me": bool(getattr(comment, "liked_by_me", False)),
            "hidden": hidden,
            "hidden_reason": comment.hidden_reason if hidden and mine else None,
            "deleted": deleted,
        }


class CommentSerializer(ReplySerializer):
    reply_count = serializers.IntegerField()
    replies = serializers.SerializerMethodField(help_text="The first replies, oldest first")

    @extend_schema_field(ReplySerializer(many=True))
    def get_replies(self, comment: Comment) -> list:
        return []

    def to_representation(self, comment: Comment) -> dict:
        data = super().to_representation(comment)
        data["reply_count"] = getattr(comment, "reply_count", 0)
        data["replies"] = [
            ReplySerializer(reply, context=self.context).data
            for reply in getattr(comment, "first_replies", [])
        ]
        return data

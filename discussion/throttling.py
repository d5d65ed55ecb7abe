"""Rate limits on commenting: per citizen, fixed windows, counted in one round trip to the cache
(``voting.throttling.WriteThrottle``)."""

from voting.throttling import WriteThrottle


class CommentThrottle(WriteThrottle):
    """``COMMENT_THROTTLE``: comments and replies a citizen may post, e.g. "5/min,50/day"."""

    setting = "COMMENT_THROTTLE"
    prefix = "comment-throttle"


class ReactionThrottle(WriteThrottle):
    """``COMMENT_REACTION_THROTTLE``: likes, unlikes, reports and deletions."""

    setting = "COMMENT_REACTION_THROTTLE"
    prefix = "comment-reaction-throttle"

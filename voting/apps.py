from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from voting import notices

        # The outbox learns who hears of polls from voting (notifications imports no producer).
        notices.register_recipients()

        from voting import audit_subjects

        # Which poll entries of the audit log an official may read (audit/subjects.py).
        audit_subjects.register()

        from voting.admin import home

        # The polls by status and the shortcuts on the officials' home (accounts/officials_home.py).
        home.register()

        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

        from voting.models import Poll
        from voting.poll_cards import TOUCHED_BEFORE_DELETE, TOUCHING, touch_audience, touch_poll

        # Cards and results documents are keyed by their poll's updated_at; what is stored
        # beside the poll row moves it (voting/poll_cards.py). A category or a group is touched
        # before it is deleted: its deletion empties the link without saving any poll.
        uid = "voting.poll_cards.touch"
        for model in TOUCHING:
            name = model.__name__
            post_save.connect(touch_poll, sender=model, dispatch_uid=f"{uid}.save.{name}")
            delete = pre_delete if model in TOUCHED_BEFORE_DELETE else post_delete
            delete.connect(touch_poll, sender=model, dispatch_uid=f"{uid}.delete.{name}")
        for through in (Poll.districts.through, Poll.groups.through):
            m2m_changed.connect(
                touch_audience, sender=through, dispatch_uid=f"{uid}.m2m.{through.__name__}"
            )

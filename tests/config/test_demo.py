import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from proposals.models import Proposal
from voting.models import Ballot, Outcome, Participation, Poll

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_promised_data_set_once(client, settings):
    settings.DEBUG = True  # pytest-django turns it off; the demo is for development only
    call_command("seed_demo")
    counts = (get_user_model().objects.count(), Poll.objects.count(), Ballot.objects.count())
    call_command("seed_demo")
    assert (
        get_user_model().objects.count(),
        Poll.objects.count(),
        Ballot.objects.count(),
    ) == counts

    statuses = {poll.status for poll in Poll.objects.all()}
    assert statuses == {"open", "upcoming", "closed"}
    assert Poll.objects.filter(districts__isnull=True, published=True).exists()  # all of Seoul
    assert Poll.objects.filter(districts__code="1111000000").exists()  # one gu only
    closed = next(p for p in Poll.objects.all() if p.status == "closed")
    assert Ballot.objects.filter(poll=closed).count() >= 5
    assert (
        Participation.objects.filter(poll=closed).count()
        == Ballot.objects.filter(poll=closed).count()
    )
    # Participation beyond the ballot: what was decided, and a citizen's proposal with support.
    assert Outcome.objects.filter(poll=closed).exists()
    proposal = Proposal.objects.get()
    assert (proposal.status, proposal.support_count) == ("open", 3)
    official = get_user_model().objects.get(username="official")
    assert official.is_staff and not official.is_superuser
    assert client.login(username="official", password="mvoting-demo")
    assert client.get("/admin/").status_code == 200


def test_seed_demo_refuses_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")

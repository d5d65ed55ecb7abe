import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from proposals.models import Proposal
from tests.ballot_box import assert_box_consistent
from tests.district_codes import JONGNO
from voting import results, tallies
from voting.models import BoardEntry, CountState, Envelope, Outcome, Participation, Poll

pytestmark = pytest.mark.django_db


def _ballot_box() -> tuple[int, int, int]:
    return Participation.objects.count(), Envelope.objects.count(), BoardEntry.objects.count()


def test_seed_demo_builds_the_promised_data_set_once(client, settings):
    settings.DEBUG = True  # pytest-django turns it off; the demo is for development only
    k = settings.BALLOT_BATCH_MIN
    call_command("seed_demo")
    counts = (get_user_model().objects.count(), Poll.objects.count(), _ballot_box())
    call_command("seed_demo")
    assert (get_user_model().objects.count(), Poll.objects.count(), _ballot_box()) == counts

    statuses = {poll.status for poll in Poll.objects.all()}
    assert statuses == {"open", "upcoming", "closed"}
    assert Poll.objects.filter(districts__isnull=True, published=True).exists()  # all of Seoul
    assert Poll.objects.filter(districts__code=JONGNO).exists()  # one gu only

    # The closed poll is counted to the end and shows its results: totals and breakdown cells,
    # each cell of at least k ballots.
    closed = Poll.objects.get(title="경로당 냉방비 지원을 여름 내내로 늘릴까요?")
    assert closed.status == "closed"
    voted = Participation.objects.filter(poll=closed).count()
    assert voted >= 2 * k
    assert not Envelope.objects.filter(poll=closed).exists()
    assert CountState.objects.get(poll=closed).final
    shown = results.build(closed, tallies.read(closed.pk))
    assert shown["withheld"] is False
    assert shown["total"] == voted
    assert sum(option["votes"] for option in shown["options"]) == voted
    for name in ("gu", "age_band", "gender"):
        cells = shown["breakdown"][name]
        assert cells, name
        assert all(cell["total"] >= k for cell in cells), (name, cells)
        assert sum(cell["total"] for cell in cells) <= voted

    # The open city-wide poll shows totals of its counted batches; while it is open the newest
    # k ballots stay sealed, so no total ever moves by fewer than k.
    city_wide = Poll.objects.get(title="따릉이 심야 운영 시간을 새벽 2시까지 늘릴까요?")
    assert city_wide.status == "open"
    assert not city_wide.districts.exists()
    voted_open = Participation.objects.filter(poll=city_wide).count()
    assert voted_open >= 2 * k
    assert Envelope.objects.filter(poll=city_wide).count() == k
    live = results.build(city_wide, tallies.read(city_wide.pk))
    assert live["withheld"] is False
    assert live["total"] == voted_open - k
    assert all(cells == [] for cells in live["breakdown"].values())  # only once it is final
    assert not CountState.objects.get(poll=city_wide).final

    # The whole demo box checks out, as ``manage.py verify_tallies`` sees it.
    assert_box_consistent(Participation.objects.values_list("poll_id", flat=True))
    report = io.StringIO()
    call_command("verify_tallies", stdout=report)
    assert "MISMATCH" not in report.getvalue()
    assert f"poll {closed.pk}: ok ({voted} ballots counted, 0 sealed" in report.getvalue()
    assert f"poll {city_wide.pk}: ok ({voted_open - k} ballots counted, {k} sealed" in (
        report.getvalue()
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

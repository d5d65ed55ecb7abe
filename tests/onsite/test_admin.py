"""Officials open on-site sessions in the admin, for polls of their own jurisdiction only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from tests.district_codes import GANGNAM, JONGNO
from tests.factories import OfficialFactory, PollFactory
from tests.onsite.support import make_session
from voting.models import OnsiteSession

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

SESSION_PERMS = [
    "voting.view_onsitesession",
    "voting.add_onsitesession",
    "voting.change_onsitesession",
]
ADD_URL = "/admin/voting/onsitesession/"


@pytest.fixture
def official(client):
    user = OfficialFactory(role="official", gu=JONGNO, perms=SESSION_PERMS)
    client.force_login(user)
    return user


def form(poll, **changes) -> dict:
    starts = timezone.localtime() + timedelta(hours=1)
    data = {
        "poll": poll.pk,
        "place": "종로구청 대강당",
        "starts_at_0": starts.strftime("%Y-%m-%d"),
        "starts_at_1": starts.strftime("%H:%M:%S"),
        "ends_at_0": (starts + timedelta(hours=2)).strftime("%Y-%m-%d"),
        "ends_at_1": (starts + timedelta(hours=2)).strftime("%H:%M:%S"),
        "latitude": "37.5735",
        "longitude": "126.9790",
        "radius_m": "80",
    }
    data.update(changes)
    return data


def test_an_official_opens_a_session_for_a_poll_of_their_gu(official, client):
    poll = PollFactory(districts=[JONGNO])

    response = client.post(f"{ADD_URL}add/", form(poll))

    assert response.status_code == 302, response.context["adminform"].form.errors
    session = OnsiteSession.objects.get()
    assert (session.poll, session.place, session.radius_m) == (poll, "종로구청 대강당", 80)
    assert session.created_by == official
    assert len(session.secret) == 64
    # Recorded in the audit log with the rest of the admin's history.
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.ADMIN_LOG, changes__content_type="voting.onsitesession"
    ).exists()


def test_a_poll_of_another_gu_cannot_be_chosen(official, client):
    elsewhere = PollFactory(districts=[GANGNAM])

    response = client.post(f"{ADD_URL}add/", form(elsewhere))

    assert response.status_code == 200
    assert "poll" in response.context["adminform"].form.errors
    assert not OnsiteSession.objects.exists()


def test_half_a_circle_and_an_end_before_the_start_are_refused(official, client):
    poll = PollFactory(districts=[JONGNO])
    starts = timezone.localtime() + timedelta(hours=1)

    half = client.post(f"{ADD_URL}add/", form(poll, radius_m=""))
    backwards = client.post(
        f"{ADD_URL}add/",
        form(poll, ends_at_0=starts.strftime("%Y-%m-%d"), ends_at_1="00:00:00")
        | {"starts_at_0": starts.strftime("%Y-%m-%d"), "starts_at_1": "23:59:59"},
    )

    assert half.status_code == 200 and half.context["adminform"].form.errors
    assert backwards.status_code == 200
    assert "ends_at" in backwards.context["adminform"].form.errors
    assert not OnsiteSession.objects.exists()


def test_the_list_holds_only_the_sessions_of_the_officials_polls(official, client):
    mine = make_session(PollFactory(districts=[JONGNO]), place="종로구청")
    theirs = make_session(PollFactory(districts=[GANGNAM]), place="강남구청")

    response = client.get(ADD_URL)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]
    assert f"/onsite/sessions/{mine.pk}/screen/" in response.content.decode()
    # Another gu's session does not exist here: the admin sends the official back to its index.
    assert client.get(f"{ADD_URL}{theirs.pk}/change/").status_code == 302

"""Broken object-level authorization (OWASP API1/API5): every refusal, and nothing written.

Already proven elsewhere, not repeated here:
- the WebSocket refuses anonymous, citizens, staff without the official role and an official of
  another gu; a ticket is single-use and bound to its poll (tests/voting/test_consumers.py);
- the dashboard pages refuse citizens and officials of another gu (tests/voting/test_dashboard.py);
- the admin's audit log is read-only and scoped (tests/voting/test_admin.py);
- officials cannot raise their own privileges or open other officials' accounts
  (tests/accounts/test_admin_privileges.py).
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from districts.models import GroupMembership
from tests.ballot_box import cast_many, close_and_count, count_now
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import (
    CitizenFactory,
    GroupFactory,
    GroupMembershipFactory,
    OfficialFactory,
    PollFactory,
)
from tests.security.conftest import world_state
from voting import tallies
from voting.models import BoardEntry, Poll

pytestmark = pytest.mark.django_db


def ago(days: int):
    return timezone.now() - timedelta(days=days)


# --- Citizens through the API ------------------------------------------------------------------


@dataclass
class Refusal:
    method: str
    path: str  # "{poll}" is the poll's id
    status: int
    code: str
    poll: dict  # PollFactory arguments


SAJIK_RESIDENT = {"district_id": SAJIK, "birth_year": 1990, "gender": "female"}
CITIZEN_REFUSALS = {
    "vote outside my districts": Refusal(
        "post", "/api/v1/polls/{poll}/ballots/", 403, "not_eligible", {"districts": [GANGNAM]}
    ),
    "vote outside my dong": Refusal(
        "post", "/api/v1/polls/{poll}/ballots/", 403, "not_eligible", {"districts": [SINSA]}
    ),
    "vote in a group I am not in": Refusal(
        "post", "/api/v1/polls/{poll}/ballots/", 403, "not_eligible", {"groups": "new"}
    ),
    "vote above my verification": Refusal(
        "post", "/api/v1/polls/{poll}/ballots/", 403, "not_eligible", {"min_verification": 20}
    ),
    "vote outside my age range": Refusal(
        "post", "/api/v1/polls/{poll}/ballots/", 403, "not_eligible", {"min_age": 60}
    ),
    "vote in a draft": Refusal(
        "post", "/api/v1/polls/{poll}/ballots/", 404, "not_found", {"published": False}
    ),
    "read a draft": Refusal("get", "/api/v1/polls/{poll}/", 404, "not_found", {"published": False}),
    "read a draft's results": Refusal(
        "get", "/api/v1/polls/{poll}/results/", 404, "not_found", {"published": False}
    ),
    "read after_close results while open": Refusal(
        "get", "/api/v1/polls/{poll}/results/", 403, "results_hidden", {}
    ),
    "read officials-only results, unpublished": Refusal(
        "get",
        "/api/v1/polls/{poll}/results/",
        403,
        "results_hidden",
        {"results_visibility": "officials", "opens_at": ago(3), "closes_at": ago(1)},
    ),
    "read live results of an upcoming poll": Refusal(
        "get",
        "/api/v1/polls/{poll}/results/",
        403,
        "results_hidden",
        {"results_visibility": "live", "opens_at": ago(-1), "closes_at": ago(-2)},
    ),
    "ticket for a dashboard stream": Refusal(
        "post", "/api/v1/ws-tickets/", 403, "dashboard_forbidden", {}
    ),
    "ticket for an unknown poll": Refusal(
        "post", "/api/v1/ws-tickets/", 403, "dashboard_forbidden", {"pk_offset": 10_000}
    ),
}


@pytest.mark.parametrize("case", CITIZEN_REFUSALS.values(), ids=CITIZEN_REFUSALS.keys())
def test_citizen_is_refused_and_nothing_is_written(case, client_for):
    fields = dict(case.poll)
    offset = fields.pop("pk_offset", 0)
    if fields.get("groups") == "new":
        fields["groups"] = [GroupFactory()]
    poll = PollFactory(**fields)
    citizen = CitizenFactory(**SAJIK_RESIDENT)
    client = client_for(citizen)
    poll_id = poll.pk + offset
    before = world_state()

    if case.path == "/api/v1/ws-tickets/":
        response = client.post(case.path, {"poll": poll_id}, format="json")
    elif case.method == "post":
        body = {"options": [poll.options.first().pk]}
        response = client.post(case.path.format(poll=poll_id), body, format="json")
    else:
        response = client.get(case.path.format(poll=poll_id))

    assert response.status_code == case.status, response.content
    assert response.json()["code"] == case.code
    assert world_state() == before
    assert tallies.read(poll.pk).overall.ballots == 0


def test_the_audience_is_not_a_secret_but_the_vote_is_refused(client_for):
    """Outside the audience a poll is readable (docs/walkthroughs/citizens.md) but says why it
    is not votable."""
    poll = PollFactory(districts=[GANGNAM])
    body = client_for(CitizenFactory(**SAJIK_RESIDENT)).get(f"/api/v1/polls/{poll.pk}/").json()
    assert body["eligible"] is False
    assert body["ineligible_reason"] == "district"
    assert body["results_available"] is False


# --- Another user's data -------------------------------------------------------------------------


def test_me_only_ever_shows_the_caller(client_for):
    alice = CitizenFactory(phone="+821011112222", **SAJIK_RESIDENT)
    bob = CitizenFactory(phone="+821033334444", district_id=GANGNAM)
    client = client_for(alice)

    for query in ({}, {"id": bob.pk}, {"user": bob.pk}, {"phone": bob.phone}, {"pk": bob.pk}):
        body = client.get("/api/v1/me/", query).json()
        assert (body["id"], body["phone"]) == (alice.pk, alice.phone), query
    # There is no URL that names a user: ids in URLs are not looked up, whatever they are.
    for path, refusal in (
        (f"/api/v1/me/{bob.pk}/", 404),
        (f"/api/v1/users/{bob.pk}/", 404),
        (f"/api/v1/users/{alice.pk}/", 404),
        (f"/api/v1/accounts/{bob.pk}/", 404),
        (f"/api/v1/me/groups/?user={bob.pk}", 405),  # joining only (POST); the query is ignored
    ):
        response = client.get(path)
        assert response.status_code == refusal, path
        assert bob.phone not in response.content.decode()


def test_leaving_a_group_only_ever_touches_my_membership(client_for):
    alice, bob = CitizenFactory(), CitizenFactory()
    membership = GroupMembershipFactory(user=bob)

    response = client_for(alice).delete(f"/api/v1/me/groups/{membership.group_id}/")

    assert response.status_code == 404
    assert GroupMembership.objects.filter(pk=membership.pk).exists()


def test_deleting_my_account_deletes_only_mine(client_for):
    alice, bob = CitizenFactory(), CitizenFactory()
    response = client_for(alice).delete("/api/v1/me/", {"id": bob.pk}, format="json")
    assert response.status_code == 204
    assert not User.objects.filter(pk=alice.pk).exists()
    assert User.objects.filter(pk=bob.pk).exists()


# --- An official of one gu and another gu's polls, through the API ------------------------------


@pytest.mark.parametrize(
    "poll_fields",
    [
        {"districts": [GANGNAM], "results_visibility": "after_close"},
        {"districts": [SINSA], "results_visibility": "officials"},
        {"results_visibility": "after_close"},  # all of Seoul: city-wide work
    ],
    ids=["gangnam-after_close", "sinsa-officials", "city-wide"],
)
def test_gu_official_does_not_see_another_gus_hidden_results(poll_fields, client_for):
    poll = PollFactory(**poll_fields)
    client = client_for(OfficialFactory(role="official", gu=JONGNO))

    response = client.get(f"/api/v1/polls/{poll.pk}/results/")

    assert response.status_code == 403
    assert response.json()["code"] == "results_hidden"
    assert client.get(f"/api/v1/polls/{poll.pk}/").json()["results_available"] is False


def test_gu_official_sees_own_gus_results_early(client_for):
    poll = PollFactory(districts=[SAJIK], results_visibility="officials")
    jongno_official = OfficialFactory(role="official", gu=JONGNO)
    response = client_for(jongno_official).get(f"/api/v1/polls/{poll.pk}/results/")
    assert response.status_code == 200


def test_staff_without_the_officials_role_do_not_see_results_early(client_for):
    """An operator's staff account (admin access, no official role) is a citizen for results."""
    poll = PollFactory(results_visibility="officials")
    operator = OfficialFactory()  # is_staff, no permissions
    client = client_for(operator)

    response = client.get(f"/api/v1/polls/{poll.pk}/results/")

    assert response.status_code == 403
    assert response.json()["code"] == "results_hidden"
    city_wide = client_for(OfficialFactory(role="official"))
    assert city_wide.get(f"/api/v1/polls/{poll.pk}/results/").status_code == 200


@pytest.mark.parametrize("districts", [[GANGNAM], [SINSA], [], [SAJIK, GANGNAM]])
def test_gu_official_gets_no_ticket_for_another_gus_poll(districts, client_for):
    poll = PollFactory(districts=districts)
    client = client_for(OfficialFactory(role="official", gu=JONGNO))
    before = world_state()

    response = client.post("/api/v1/ws-tickets/", {"poll": poll.pk}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "dashboard_forbidden"
    assert world_state() == before


# --- The public board: readable exactly when the results are ------------------------------------

# Poll states: (PollFactory arguments, closed after the ballots?, results published?, whether
# citizens may read the results).
BOARD_STATES = {
    "live-open": ({"results_visibility": "live"}, False, False, True),
    "after_close-open": ({"results_visibility": "after_close"}, False, False, False),
    "after_close-closed": ({"results_visibility": "after_close"}, True, False, True),
    "officials-closed-unpublished": ({"results_visibility": "officials"}, True, False, False),
    "officials-closed-published": ({"results_visibility": "officials"}, True, True, True),
    "live-upcoming": (
        {"results_visibility": "live", "opens_at": ago(-1), "closes_at": ago(-2)},
        False,
        False,
        False,
    ),
}
# Audiences, and where their voters live: inside the 종로구 official's jurisdiction, in another
# gu, and all of Seoul (city-wide work, outside any gu's official).
BOARD_AUDIENCES = {
    "sajik": ([SAJIK], SAJIK),
    "gangnam": ([GANGNAM], SINSA),
    "city-wide": ([], SAJIK),
}


@pytest.mark.parametrize("audience", BOARD_AUDIENCES)
@pytest.mark.parametrize("state", BOARD_STATES)
def test_the_board_is_refused_exactly_when_the_results_are_hidden(
    state, audience, client_for, settings
):
    """Anonymous callers, citizens and officials outside the poll's jurisdiction get 403
    results_hidden from the board whenever they would get it from the results, and nothing of
    the board with it; whoever may read the results may read the board."""
    fields, close, publish, citizens_see = BOARD_STATES[state]
    districts, home = BOARD_AUDIENCES[audience]
    poll = PollFactory(districts=districts, **fields)
    if poll.status == "open":
        # Counted batches to hide or to show: 2k ballots, counted now or at the close.
        cast_many(poll, 2 * settings.BALLOT_BATCH_MIN, district_id=home, birth_year=1990)
        if close:
            close_and_count(poll)
        else:
            count_now()
        assert BoardEntry.objects.filter(poll=poll).exists()
    if publish:
        Poll.objects.filter(pk=poll.pk).update(results_published_at=timezone.now())
    trackers = [t for entry in BoardEntry.objects.filter(poll=poll) for t in entry.trackers]
    requesters = {
        "anonymous": (APIClient(), citizens_see),
        "citizen": (client_for(CitizenFactory(**SAJIK_RESIDENT)), citizens_see),
        "종로구 official": (
            client_for(OfficialFactory(role="official", gu=JONGNO)),
            citizens_see or audience == "sajik",
        ),
        "city-wide official": (client_for(OfficialFactory(role="official")), True),
    }

    for who, (client, visible) in requesters.items():
        board = client.get(f"/api/v1/polls/{poll.pk}/board/")
        # The results need a login (401 anonymous); the board does not, but follows the same
        # rule as for a citizen.
        results = client.get(f"/api/v1/polls/{poll.pk}/results/")
        if who == "anonymous":
            assert results.status_code == 401
            results = requesters["citizen"][0].get(f"/api/v1/polls/{poll.pk}/results/")
        if visible:
            assert (board.status_code, results.status_code) == (200, 200), (who, board.content)
            document = board.json()
            assert document["poll"] == poll.pk
            shown = [t for entry in document["entries"] for t in entry["trackers"]]
            assert sorted(shown) == sorted(trackers), who
            assert document["totals"]["ballots"] == len(trackers)
        else:
            assert (board.status_code, results.status_code) == (403, 403), (who, board.content)
            assert board.json()["code"] == results.json()["code"] == "results_hidden", who
            assert "entries" not in board.json()
            assert not any(tracker in board.content.decode() for tracker in trackers), who


# --- An official of one gu and another gu's polls, in the admin ---------------------------------


@pytest.fixture
def gangnam_poll():
    return PollFactory(
        published=False, title="강남 초안", districts=[GANGNAM], results_visibility="officials"
    )


@pytest.fixture
def jongno_admin():
    client = Client(headers={"accept-language": "en"})
    client.force_login(OfficialFactory(role="official", gu=JONGNO))
    return client


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        ("/admin/voting/poll/{poll}/change/", 302),  # "doesn't exist", back to the index
        ("/admin/voting/poll/{poll}/history/", 302),
        ("/admin/voting/poll/{poll}/delete/", 302),
        ("/admin/voting/poll/{poll}/results/", 404),
        ("/admin/voting/poll/{poll}/results/csv/", 404),
        ("/admin/voting/poll/{poll}/preview/", 404),
        ("/admin/voting/poll/{poll}/publish/", 404),
        ("/admin/voting/poll/{poll}/close/", 404),
        ("/dashboard/polls/{poll}/", 404),
    ],
)
def test_gu_official_cannot_open_another_gus_poll(path, refusal, gangnam_poll, jongno_admin):
    response = jongno_admin.get(path.format(poll=gangnam_poll.pk))
    assert response.status_code == refusal
    assert "강남 초안" not in response.content.decode()


def test_gu_official_cannot_edit_or_delete_another_gus_poll(gangnam_poll, jongno_admin):
    before = world_state()

    edit = jongno_admin.post(
        f"/admin/voting/poll/{gangnam_poll.pk}/change/",
        {"title": "바뀐 제목", "districts": [SAJIK]},
    )
    delete = jongno_admin.post(f"/admin/voting/poll/{gangnam_poll.pk}/delete/", {"post": "yes"})

    assert edit.status_code == 302  # "doesn't exist", back to the index
    assert delete.status_code == 302  # "doesn't exist", back to the index
    assert world_state() == before


@pytest.mark.parametrize(
    "action", ["close_now", "duplicate", "publish_results_now", "delete_selected"]
)
def test_no_admin_action_reaches_another_gus_poll(action, jongno_admin):
    """A crafted changelist POST naming another gu's polls changes nothing and audits nothing."""
    draft = PollFactory(published=False, districts=[GANGNAM])
    running = PollFactory(districts=[SINSA], results_visibility="officials")
    closed = PollFactory(
        districts=[GANGNAM], results_visibility="officials", opens_at=ago(3), closes_at=ago(1)
    )
    before = world_state()

    jongno_admin.post(
        "/admin/voting/poll/",
        {"action": action, "_selected_action": [draft.pk, running.pk, closed.pk], "post": "yes"},
    )

    assert world_state() == before

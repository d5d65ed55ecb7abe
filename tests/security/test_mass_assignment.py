"""Mass assignment (OWASP API3): fields the client does not own, smuggled into bodies.

The ballot body's extra keys are ignored: what is sealed comes from the session's user, the URL
and the stored profile, never from the body (proven by counting what was sealed). The profile
refuses any key but district / birth_year / gender with 400 ``read_only_field`` and changes
nothing. Already proven elsewhere: ``is_staff``,
``is_superuser``, ``verification``, ``phone`` and ``id`` in the profile
(tests/accounts/test_me.py) and privilege fields in the sign-up (tests/accounts/test_auth_flows.py).
"""

import pytest
from django.utils import timezone

from accounts.models import User, Verification
from districts.models import GroupMembership
from tests.ballot_box import assert_box_consistent, cast_many, close_and_count
from tests.district_codes import GANGNAM, JONGNO, SAJIK, SINSA
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory, PollFactory
from voting import casting, receipts, tickets
from voting.models import BoardEntry, Envelope, Participation, TallyCell

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return CitizenFactory(district_id=SAJIK, birth_year=1990, gender="female")


@pytest.fixture
def bob():
    return CitizenFactory(district_id=SINSA, birth_year=1950, gender="male")


def smuggled_into_ballot(bob, other_poll) -> dict:
    return {
        "user": bob.pk,
        "voter": bob.pk,
        "user_id": bob.pk,
        "is_staff": True,
        "verification": "resident",
        "district": SINSA,
        "gu_code": GANGNAM,
        "dong_code": SINSA,
        "age_band": 70,
        "gender": "male",
        "channel": "web",  # a field ballots once had: ignored like any other
        "poll": other_poll.pk,
        "receipt": "AAAAA-BBBBB-CCCCC-DDDDD",
        "receipt_hash": "0" * 64,
    }


def test_ballot_body_cannot_choose_who_where_or_how(alice, bob, client_for, settings):
    """Who votes comes from the session, the poll from the URL, the breakdown attributes from
    the stored profile. What was sealed is proven by counting it: alice's ballot is the k-th of
    her true cells (종로구, her age band, female), so those cells are published only if her
    envelope holds her profile — had the body's 강남구 / 70s / male been sealed, every cell
    would stay below k and none would be published."""
    k = settings.BALLOT_BATCH_MIN
    poll, other_poll = PollFactory(), PollFactory()
    option, other_option = poll.options.order_by("position")
    alice_before = User.objects.filter(pk=alice.pk).values().get()
    smuggled = smuggled_into_ballot(bob, other_poll)

    response = client_for(alice).post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [option.pk], **smuggled},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["poll"], body["options"]) == (poll.pk, [option.pk])
    assert body["receipt"] != smuggled["receipt"]
    # Who: the session's user, nobody else, in the URL's poll only.
    participation = Participation.objects.get()
    assert (participation.voter_id, participation.poll_id) == (alice.pk, poll.pk)
    assert not Participation.objects.filter(voter=bob).exists()
    assert list(Envelope.objects.values_list("poll_id", flat=True)) == [poll.pk]
    # And nothing about alice changed.
    assert User.objects.filter(pk=alice.pk).values().get() == alice_before

    # What was sealed: k - 1 neighbours of alice's profile choose the other option; count it all.
    cast_many(
        poll, k - 1, choose=[other_option.pk], district_id=SAJIK, birth_year=1990, gender="female"
    )
    close_and_count(poll)

    entries = BoardEntry.objects.filter(poll=poll)
    ballots = sorted(ballot for entry in entries for ballot in entry.ballots)
    assert ballots == sorted([[option.pk]] + [[other_option.pk]] * (k - 1))
    trackers = {tracker for entry in entries for tracker in entry.trackers}
    assert receipts.tracker(body["receipt"]) in trackers
    assert receipts.tracker(smuggled["receipt"]) not in trackers
    assert smuggled["receipt_hash"] not in trackers
    assert not BoardEntry.objects.filter(poll=other_poll).exists()
    assert not TallyCell.objects.filter(poll=other_poll).exists()
    published = client_for(alice).get(f"/api/v1/polls/{poll.pk}/results/").json()
    assert published["total"] == k
    breakdown = published["breakdown"]
    assert [(c["code"], c["total"]) for c in breakdown["gu"]] == [(JONGNO, k)]
    assert [(c["band"], c["total"]) for c in breakdown["age_band"]] == [(casting.age_band(1990), k)]
    assert [(c["gender"], c["total"]) for c in breakdown["gender"]] == [("female", k)]
    assert_box_consistent([poll.pk])


def test_claimed_district_does_not_open_a_poll_outside_my_audience(alice, client_for):
    poll = PollFactory(districts=[GANGNAM], min_verification=Verification.PHONE)

    response = client_for(alice).post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [poll.options.first().pk], "district": GANGNAM, "gu_code": GANGNAM},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "not_eligible"
    assert not Participation.objects.exists()


def test_claimed_verification_does_not_open_a_resident_only_poll(alice, client_for):
    poll = PollFactory(min_verification=Verification.RESIDENT)

    response = client_for(alice).post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [poll.options.first().pk], "verification": "resident", "is_staff": True},
        format="json",
    )

    assert response.status_code == 403
    assert not Participation.objects.exists()
    alice.refresh_from_db()
    assert alice.verification == Verification.PHONE


@pytest.mark.parametrize(
    "smuggled",
    [
        {"user": 1},
        {"voter": 1},
        {"channel": "web"},
        {"gu_code": GANGNAM},
        {"jurisdiction": GANGNAM},
        {"groups": [1]},
        {"phone_verified": True},
        {"is_active": False},
        {"district_changed_at": "2000-01-01T00:00:00Z"},
        {"district": {"code": GANGNAM, "level": "gu"}},
    ],
    ids=lambda s: next(iter(s)),
)
def test_profile_refuses_what_it_does_not_own(alice, client_for, smuggled):
    before = User.objects.filter(pk=alice.pk).values().get()

    # Alongside a legitimate change: all or nothing, the gender does not change either.
    response = client_for(alice).patch("/api/v1/me/", {"gender": "male", **smuggled}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in {"read_only_field", "invalid_input"}
    assert User.objects.filter(pk=alice.pk).values().get() == before


def test_joining_a_group_enrols_only_me(alice, bob, client_for):
    group = GroupFactory()

    response = client_for(alice).post(
        "/api/v1/me/groups/", {"group": group.pk, "user": bob.pk, "user_id": bob.pk}, format="json"
    )

    assert response.status_code == 201
    assert list(GroupMembership.objects.values_list("user_id", flat=True)) == [alice.pk]


def test_a_ticket_is_always_for_the_caller(client_for):
    caller, other = OfficialFactory(role="official"), OfficialFactory(role="official")
    poll = PollFactory()

    response = client_for(caller).post(
        "/api/v1/ws-tickets/",
        {"poll": poll.pk, "user": other.pk, "user_id": other.pk},
        format="json",
    )

    assert response.status_code == 201
    ticket = tickets.redeem(response.json()["ticket"])
    assert (ticket.user_id, ticket.poll_id) == (caller.pk, poll.pk)


def test_proposal_and_comment_bodies_cannot_set_what_the_server_decides(
    alice, bob, client_for, clock
):
    from discussion.models import Comment
    from proposals.models import Proposal

    smuggled = {
        "author": bob.pk,
        "author_id": bob.pk,
        "status": "accepted",
        "support_count": 10_000,
        "support_deadline": "2099-01-01T00:00:00+09:00",
        "reached_threshold_at": "2026-01-01T00:00:00+09:00",
        "poll": 1,
        "hidden_at": None,
        "decided_by": bob.pk,
        "like_count": 500,
        "report_count": 0,
        "hidden": False,
        "is_mine": True,
        "created_at": "2020-01-01T00:00:00+09:00",
    }
    client = client_for(alice)
    created = client.post(
        "/api/v1/proposals/",
        {
            "title": "공원 조명",
            "description": "밤에도 밝게",
            "options": ["찬성", "반대"],
            "district": None,
            "duration_days": 7,
            **smuggled,
        },
        format="json",
    )
    assert created.status_code == 201
    proposal = Proposal.objects.get()
    assert (proposal.author_id, proposal.status, proposal.support_count) == (alice.pk, "open", 0)
    assert proposal.poll_id is None and proposal.decided_by_id is None

    poll = PollFactory()
    comment = client.post(
        f"/api/v1/polls/{poll.pk}/comments/", {"body": "좋아요", **smuggled}, format="json"
    )
    assert comment.status_code == 201
    stored = Comment.objects.get()
    assert (stored.author_id, stored.like_count, stored.report_count) == (alice.pk, 0, 0)
    assert stored.created_at == timezone.now()  # the server's clock, not the smuggled 2020

"""A private poll does not exist for anyone off its list: every way in answers as for a poll
that was never made (404, the same body), never a 403 that would say it is there.

Attackers: a citizen with no tie to the poll; one in a self-declared group the poll targets
(citizens join those themselves); one who redeemed a code of *another* private poll; one whose
code was revoked; nobody signed in (the board and receipts are public endpoints); a gu official
of another gu in the admin. Each way in is first checked open on a twin poll that is public, so
a 404 here is the privacy's and not a broken request's.
"""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from discussion.models import Comment, CommentLike, CommentReport
from districts.models import Group, GroupMembership
from tests.ballot_box import close_and_count
from tests.discussion.factories import CommentFactory, ReplyFactory
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import (
    CategoryFactory,
    CitizenFactory,
    GroupFactory,
    OfficialFactory,
    PollFactory,
)
from voting import casting, invitations
from voting.models import Participation, Poll, PollInvitation

pytestmark = pytest.mark.django_db

TITLE = "비밀 안건"
NEVER_MADE = 9_000_000_000  # a poll id no test makes


def make_poll(*, private: bool, **fields) -> Poll:
    """An open poll with ballots, live results, a counted batch and a comment with a reply: every
    way in has something to show."""
    poll = PollFactory(
        private=private,
        title=TITLE if private else "공개 쌍둥이",
        results_visibility=Poll.ResultsVisibility.LIVE,
        category=CategoryFactory(),
        **fields,
    )
    if private:
        committee = GroupFactory(kind=Group.Kind.MANAGED)
        poll.groups.add(committee)
    return poll


@pytest.fixture
def polls() -> dict[str, Poll]:
    return {"private": make_poll(private=True), "public": make_poll(private=False)}


def _counted(poll: Poll) -> str:
    """Ballots by the list (the public twin: by anyone), counted; one voter's receipt."""
    committee = poll.groups.first()
    voters = [CitizenFactory() for _ in range(12)]
    if committee is not None:
        for voter in voters:
            GroupMembership.objects.create(group=committee, user=voter)
    option = poll.options.first()
    receipts = [
        casting.cast_ballot(poll=poll, voter=voter, option_ids=[option.pk]).body["receipt"]
        for voter in voters
    ]
    close_and_count(poll)
    return receipts[0]


# --- The attackers -------------------------------------------------------------------------------


def plain(poll: Poll):
    return CitizenFactory(district_id=SAJIK)


def self_declared_member(poll: Poll):
    joined = GroupFactory(kind=Group.Kind.SELF_DECLARED)
    poll.groups.add(joined)
    citizen = CitizenFactory(district_id=SAJIK)
    GroupMembership.objects.create(group=joined, user=citizen)
    return citizen


def invited_elsewhere(poll: Poll):
    other = PollFactory(private=True, title="다른 비밀 투표")
    citizen = CitizenFactory(district_id=SAJIK)
    code = invitations.create_invitations(
        poll=other, n=1, label="", created_by=OfficialFactory(role="official")
    )[0]
    invitations.redeem(code=code, citizen=citizen)
    return citizen


def revoked_guest(poll: Poll):
    citizen = CitizenFactory(district_id=SAJIK)
    code = invitations.create_invitations(
        poll=poll, n=1, label="", created_by=OfficialFactory(role="official")
    )[0]
    invitations.redeem(code=code, citizen=citizen)
    invitations.revoke(
        invitations=PollInvitation.objects.filter(poll=poll), by=OfficialFactory(role="official")
    )
    return citizen


ATTACKERS: dict[str, Callable] = {
    "a citizen": plain,
    "a self-declared group's member": self_declared_member,
    "a guest of another private poll": invited_elsewhere,
    "a guest whose code was revoked": revoked_guest,
}


def _not_found_body(api) -> dict:
    return api.get(f"/api/v1/polls/{NEVER_MADE}/").json()


# --- By id: detail, ballot, results, board, comments ----------------------------------------------

Way = Callable[..., object]


def _comment_of(poll: Poll) -> Comment:
    return Comment.objects.filter(poll=poll, parent__isnull=True).first() or CommentFactory(
        poll=poll
    )


WAYS: dict[str, Way] = {
    "detail": lambda api, poll: api.get(f"/api/v1/polls/{poll.pk}/"),
    "ballot": lambda api, poll: api.post(
        f"/api/v1/polls/{poll.pk}/ballots/",
        {"options": [poll.options.first().pk]},
        format="json",
    ),
    "results": lambda api, poll: api.get(f"/api/v1/polls/{poll.pk}/results/"),
    "board": lambda api, poll: api.get(f"/api/v1/polls/{poll.pk}/board/"),
    "comments": lambda api, poll: api.get(f"/api/v1/polls/{poll.pk}/comments/"),
    "comment": lambda api, poll: api.post(
        f"/api/v1/polls/{poll.pk}/comments/", {"body": "몰래 쓴 의견"}, format="json"
    ),
    "reply": lambda api, poll: api.post(
        f"/api/v1/polls/{poll.pk}/comments/",
        {"body": "몰래 쓴 답글", "parent": _comment_of(poll).pk},
        format="json",
    ),
    "replies": lambda api, poll: api.get(f"/api/v1/comments/{_comment_of(poll).pk}/replies/"),
    "like": lambda api, poll: api.post(f"/api/v1/comments/{_comment_of(poll).pk}/like/"),
    "report": lambda api, poll: api.post(
        f"/api/v1/comments/{_comment_of(poll).pk}/report/", {"reason": "spam"}, format="json"
    ),
}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("attacker", list(ATTACKERS))
def test_every_way_in_by_id_is_a_404_like_a_poll_never_made(polls, client_for, attacker, way):
    ReplyFactory(parent=CommentFactory(poll=polls["private"]))
    ReplyFactory(parent=CommentFactory(poll=polls["public"]))
    citizen = ATTACKERS[attacker](polls["private"])
    api = client_for(citizen)
    before = (Participation.objects.count(), Comment.objects.count())
    likes = (CommentLike.objects.count(), CommentReport.objects.count())

    public = WAYS[way](api, polls["public"])
    assert public.status_code < 300, (way, public.status_code, public.content)
    before = (Participation.objects.count(), Comment.objects.count())
    likes = (CommentLike.objects.count(), CommentReport.objects.count())

    response = WAYS[way](api, polls["private"])

    assert response.status_code == 404, (attacker, way)
    assert response.json() == _not_found_body(api)
    assert TITLE not in response.content.decode()
    assert (Participation.objects.count(), Comment.objects.count()) == before
    assert (CommentLike.objects.count(), CommentReport.objects.count()) == likes


def test_a_members_own_comment_is_out_of_reach_once_they_leave(client_for):
    """Leaving the managed group leaves the list: the author's own comment's actions too."""
    poll = make_poll(private=True)
    member = CitizenFactory()
    membership = GroupMembership.objects.create(group=poll.groups.first(), user=member)
    api = client_for(member)
    created = api.post(f"/api/v1/polls/{poll.pk}/comments/", {"body": "회의 의견"}, format="json")
    assert created.status_code == 201
    membership.delete()

    assert api.get(f"/api/v1/polls/{poll.pk}/comments/").status_code == 404
    assert api.delete(f"/api/v1/comments/{created.json()['id']}/").status_code == 404
    assert Comment.objects.filter(pk=created.json()["id"]).exists()


def test_a_closed_private_polls_results_board_and_receipts_stay_hidden(client_for, api):
    private, public = make_poll(private=True), make_poll(private=False)
    receipt = _counted(private)
    public_receipt = _counted(public)
    outsider = client_for(CitizenFactory())
    for client in (outsider, api):  # signed in, and nobody signed in (the public endpoints)
        assert client.get(f"/api/v1/polls/{public.pk}/board/").status_code == 200
        assert client.get(f"/api/v1/receipts/{public_receipt}/").status_code == 200
        assert client.get(f"/api/v1/polls/{private.pk}/board/").status_code == 404
        hidden = client.get(f"/api/v1/receipts/{receipt}/")
        assert hidden.status_code == 404 and TITLE not in hidden.content.decode()
    assert outsider.get(f"/api/v1/polls/{private.pk}/results/").status_code == 404
    # The voter, still on the list, checks their receipt; the city official reads the results.
    voter = Participation.objects.filter(poll=private).first().voter
    assert client_for(voter).get(f"/api/v1/receipts/{receipt}/").json()["poll_title"] == TITLE
    official = client_for(OfficialFactory(role="official"))
    assert official.get(f"/api/v1/polls/{private.pk}/results/").status_code == 200


# --- By list: every status, scope, filter and page ------------------------------------------------


@pytest.mark.parametrize("attacker", list(ATTACKERS))
def test_no_list_ever_shows_it_nor_counts_it(client_for, attacker):
    now = timezone.now()
    schedules = {
        "open": {},
        "upcoming": {"opens_at": now + timedelta(days=1), "closes_at": now + timedelta(days=2)},
        "closed": {"opens_at": now - timedelta(days=3), "closes_at": now - timedelta(days=1)},
    }
    hidden, shown = set(), set()
    for schedule in schedules.values():
        for private in (True, False):
            poll = make_poll(private=private, districts=[JONGNO], **schedule)
            (hidden if private else shown).add(poll.pk)
    target = Poll.objects.get(pk=min(hidden))
    api = client_for(ATTACKERS[attacker](target))
    for pk in hidden - {target.pk}:
        ATTACKERS[attacker](Poll.objects.get(pk=pk))

    seen, counted = set(), 0
    for status in schedules:
        for scope in ("mine", "all"):
            for extra in (
                {},
                {"category": "transport"},
                {"page_size": 1},
                {"page_size": 1, "page": 2},
            ):
                response = api.get("/api/v1/polls/", {"status": status, "scope": scope, **extra})
                if response.status_code == 404:  # a page past the end
                    continue
                body = response.json()
                seen |= {item["id"] for item in body["results"]}
                assert TITLE not in response.content.decode()
                if scope == "all" and not extra:
                    counted += body["count"]
            last = api.get("/api/v1/polls/", {"status": status, "scope": "all", "page": "last"})
            seen |= {item["id"] for item in last.json()["results"]}

    assert not seen & hidden
    assert shown <= seen
    # Only the twins, and for the guest of another private poll that poll.
    assert counted == len(seen)


# --- The admin: another gu's private poll --------------------------------------------------------


def test_a_gu_official_neither_makes_sees_nor_revokes_another_gus_codes():
    gangnam_poll = PollFactory(private=True, districts=[GANGNAM], title="강남 비밀 투표")
    invitations.create_invitations(
        poll=gangnam_poll, n=2, label="강남 라벨", created_by=OfficialFactory(role="official")
    )
    jongno = OfficialFactory(role="official", gu=JONGNO)
    client = Client()
    client.force_login(jongno)
    rows = PollInvitation.objects.count()

    form = client.get(f"/admin/voting/pollinvitation/add/?poll={gangnam_poll.pk}")
    assert "강남 비밀 투표" not in form.content.decode()
    made = client.post(
        "/admin/voting/pollinvitation/add/", {"poll": gangnam_poll.pk, "number": "50"}
    )
    assert made.status_code == 200 and made.context["form"].errors
    listing = client.get("/admin/voting/pollinvitation/").content.decode()
    assert "강남 라벨" not in listing and "강남 비밀 투표" not in listing
    chosen = list(PollInvitation.objects.values_list("pk", flat=True))
    client.post(
        "/admin/voting/pollinvitation/",
        {"action": "revoke_selected", "_selected_action": chosen},
    )
    for pk in chosen:
        page = client.get(f"/admin/voting/pollinvitation/{pk}/change/", follow=True)
        assert "강남 라벨" not in page.content.decode()

    assert PollInvitation.objects.count() == rows
    assert not PollInvitation.objects.filter(revoked_at__isnull=False).exists()


def test_a_citizen_cannot_make_codes():
    citizen = CitizenFactory()
    poll = PollFactory(private=True)
    client = Client()
    client.force_login(citizen)

    response = client.post("/admin/voting/pollinvitation/add/", {"poll": poll.pk, "number": "5"})

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not PollInvitation.objects.exists()

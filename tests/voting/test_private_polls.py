"""Private polls: who is on the list (a managed group's members, holders of a redeemed code),
how codes are made, redeemed once, revoked and printed, and how guessing them is held back.

What everyone else gets (404 everywhere) is tests/security/test_private_polls_adversarial.py.
"""

import hashlib
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from districts.models import Group, GroupMembership
from tests.district_codes import GANGNAM, JONGNO, SAJIK
from tests.factories import CitizenFactory, GroupFactory, OfficialFactory, PollFactory
from voting import eligibility, invitations
from voting.models import Participation, PollInvitation

pytestmark = pytest.mark.django_db

REDEEM = "/api/v1/invitations/redeem/"
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def detail(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/"


def ballots(poll) -> str:
    return f"/api/v1/polls/{poll.pk}/ballots/"


def listed(client, **params) -> set[int]:
    body = client.get("/api/v1/polls/", {"scope": "all", **params}).json()
    return {item["id"] for item in body["results"]}


def vote(client, poll):
    option = poll.options.order_by("position").first()
    return client.post(ballots(poll), {"options": [option.pk]}, format="json")


def private_poll(**fields):
    return PollFactory(private=True, title="주민자치회 회의 안건", **fields)


def codes_for(poll, n=1, label="") -> list[str]:
    return invitations.create_invitations(
        poll=poll, n=n, label=label, created_by=OfficialFactory(role="official")
    )


# --- The closed list -----------------------------------------------------------------------------


def test_a_member_of_its_managed_group_sees_it_in_every_list_and_votes(client_for):
    committee = GroupFactory(kind=Group.Kind.MANAGED, name="사직동 주민자치회")
    poll = private_poll(groups=[committee])
    member = CitizenFactory()
    GroupMembership.objects.create(group=committee, user=member)
    api = client_for(member)

    assert poll.pk in listed(api, scope="mine")
    assert poll.pk in listed(api, scope="all")
    body = api.get(detail(poll)).json()
    assert (body["title"], body["eligible"]) == ("주민자치회 회의 안건", True)
    assert vote(api, poll).status_code == 201
    assert api.get(detail(poll)).json()["has_voted"] is True


def test_a_self_declared_group_opens_no_private_poll(client_for):
    """Citizens join self-declared groups themselves: such a group on a private poll would let
    anyone in, so its members are not on the list (they still need a code)."""
    parents = GroupFactory(kind=Group.Kind.SELF_DECLARED)
    poll = private_poll(groups=[parents])
    joined = CitizenFactory()
    GroupMembership.objects.create(group=parents, user=joined)
    api = client_for(joined)

    assert poll.pk not in listed(api)
    assert api.get(detail(poll)).status_code == 404

    api.post(REDEEM, {"code": codes_for(poll)[0]}, format="json")
    assert api.get(detail(poll)).json()["eligible"] is True


def test_an_inactive_managed_group_lets_nobody_in(client_for):
    committee = GroupFactory(kind=Group.Kind.MANAGED, is_active=False)
    poll = private_poll(groups=[committee])
    member = CitizenFactory()
    GroupMembership.objects.create(group=committee, user=member)

    assert client_for(member).get(detail(poll)).status_code == 404


def test_a_redeemed_code_opens_the_poll_even_where_groups_are_targeted(client_for):
    """A guest of a committee's poll is let in by the code the committee handed them: the code
    stands for the group rule. The poll's other rules still hold (here: its district)."""
    committee = GroupFactory(kind=Group.Kind.MANAGED)
    poll = private_poll(groups=[committee], districts=[JONGNO])
    guest, elsewhere = CitizenFactory(district_id=SAJIK), CitizenFactory(district_id=GANGNAM)
    guest_api, elsewhere_api = client_for(guest), client_for(elsewhere)
    first, second = codes_for(poll, n=2)

    assert guest_api.get(detail(poll)).status_code == 404
    response = guest_api.post(REDEEM, {"code": first}, format="json")

    assert (response.status_code, response.json()) == (200, {"poll": poll.pk})
    assert poll.pk in listed(guest_api, scope="mine")
    assert vote(guest_api, poll).status_code == 201
    # Seen, but the district rule is the poll's own: a resident of another gu may not vote.
    elsewhere_api.post(REDEEM, {"code": second}, format="json")
    assert elsewhere_api.get(detail(poll)).json()["ineligible_reason"] == "district"
    refused = vote(elsewhere_api, poll)
    assert (refused.status_code, refused.json()["reason"]) == (403, "district")


def test_the_audience_told_of_a_private_poll_is_its_list():
    """Notifications reach the audience (voting/notices.py): only the list, never the city."""
    committee = GroupFactory(kind=Group.Kind.MANAGED)
    poll = private_poll(groups=[committee])
    member, guest, _outsider = CitizenFactory(), CitizenFactory(), CitizenFactory()
    GroupMembership.objects.create(group=committee, user=member)
    invitations.redeem(code=codes_for(poll)[0], citizen=guest)

    assert set(eligibility.audience_of(poll)) == {member, guest}


# --- Codes ---------------------------------------------------------------------------------------


def test_codes_are_readable_aloud_and_only_a_keyed_hash_is_kept():
    poll = private_poll()

    codes = codes_for(poll, n=30, label="3층 회의실")

    assert len(set(codes)) == 30
    assert all(CODE.match(code) for code in codes)
    stored = list(PollInvitation.objects.filter(poll=poll).values_list("lookup", "label"))
    assert {label for _lookup, label in stored} == {"3층 회의실"}
    lookups = {lookup for lookup, _label in stored}
    assert lookups == {invitations.lookup(code) for code in codes}
    # Keyed: the plain hash of a code (which anyone could compute over all 2^40) is not it.
    plain = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert not lookups & plain
    # The audit entry says how many and for whom, never a code.
    entry = AuditEntry.objects.filter(subject_id=poll.pk).latest("seq")
    assert "3층 회의실" in str(entry.changes)
    assert not any(code in str(entry.changes) for code in codes)


def test_a_code_typed_loosely_still_redeems(client_for):
    poll = private_poll()
    code = codes_for(poll)[0]
    typed = f"  {code.lower().replace('-', ' ').replace('0', 'o').replace('1', 'l')} "

    response = client_for(CitizenFactory()).post(REDEEM, {"code": typed}, format="json")

    assert (response.status_code, response.json()) == (200, {"poll": poll.pk})


def test_a_code_is_single_use(client_for):
    poll = private_poll()
    code = codes_for(poll)[0]
    first, second = CitizenFactory(), CitizenFactory()

    assert client_for(first).post(REDEEM, {"code": code}, format="json").status_code == 200
    # Its holder redeeming it again is told the same: a retry after a lost answer is harmless.
    again = client_for(first).post(REDEEM, {"code": code}, format="json")
    assert (again.status_code, again.json()) == (200, {"poll": poll.pk})

    refused = client_for(second).post(REDEEM, {"code": code}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "invitation_used"
    assert client_for(second).get(detail(poll)).status_code == 404
    assert PollInvitation.objects.get().redeemed_by == first


def test_a_revoked_code_is_refused_and_a_revoked_redemption_closes_the_poll_again(client_for):
    poll = private_poll()
    unused, used = codes_for(poll, n=2)
    holder = CitizenFactory()
    holder_api = client_for(holder)
    holder_api.post(REDEEM, {"code": used}, format="json")
    assert holder_api.get(detail(poll)).status_code == 200

    revoked = invitations.revoke(
        invitations=PollInvitation.objects.filter(poll=poll), by=OfficialFactory()
    )

    assert revoked == 2
    refused = client_for(CitizenFactory()).post(REDEEM, {"code": unused}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "invitation_revoked")
    assert holder_api.get(detail(poll)).status_code == 404
    assert holder_api.post(REDEEM, {"code": used}, format="json").status_code == 409


@pytest.mark.parametrize("code", ["", "ABCD", "ABCD-EFGH-JKMN", "ABCD-EFG!", "ABCD-EFGU"])
def test_malformed_codes_are_refused_as_invalid(client_for, code):
    private_poll()
    response = client_for(CitizenFactory()).post(REDEEM, {"code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_invitation", "invalid_input")


@pytest.mark.parametrize(
    "body",
    [{}, {"code": None}, {"code": 12345678}, {"code": ["ABCD-EFGH"]}, {"code": "A" * 33}],
)
def test_hostile_bodies_are_a_400_and_redeem_nothing(client_for, body):
    poll = private_poll()
    codes_for(poll)

    response = client_for(CitizenFactory()).post(REDEEM, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_input", "invalid_invitation")
    assert not PollInvitation.objects.filter(redeemed_by__isnull=False).exists()


def test_an_unknown_code_says_invalid_not_which_codes_exist(client_for):
    poll = private_poll()
    codes_for(poll, n=5)

    response = client_for(CitizenFactory()).post(REDEEM, {"code": "2345-6789"}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_invitation")
    assert not PollInvitation.objects.filter(redeemed_by__isnull=False).exists()


def test_guessing_codes_is_throttled_per_citizen(client_for, settings):
    """Every attempt counts: after the limit even a right code waits, so eight symbols cannot
    be walked through. Another citizen is not held back by the guesser."""
    settings.INVITATION_REDEEM_THROTTLE = "5/min,20/day"
    poll = private_poll()
    right = codes_for(poll)[0]
    guesser = client_for(CitizenFactory())
    answers = [
        guesser.post(REDEEM, {"code": f"2345-{n:04d}"}, format="json").status_code for n in range(5)
    ]
    assert answers == [400] * 5

    throttled = guesser.post(REDEEM, {"code": right}, format="json")

    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert not PollInvitation.objects.filter(redeemed_by__isnull=False).exists()
    other = client_for(CitizenFactory()).post(REDEEM, {"code": right}, format="json")
    assert other.status_code == 200


def test_codes_are_only_for_private_polls():
    with pytest.raises(invitations.NotPrivate):
        codes_for(PollFactory())


def test_redeeming_needs_an_account(api):
    poll = private_poll()
    response = api.post(REDEEM, {"code": codes_for(poll)[0]}, format="json")

    assert response.status_code == 401
    assert not PollInvitation.objects.filter(redeemed_by__isnull=False).exists()


# --- One statement still -------------------------------------------------------------------------


def test_the_list_the_detail_and_the_ballot_keep_their_query_counts(client_for):
    """The closed list is a condition on the citizen's id, which the compiled statements already
    hold: a member's list is still one query (plus the page count), the ballot's verdicts one."""
    committee = GroupFactory(kind=Group.Kind.MANAGED)
    poll = private_poll(groups=[committee])
    member = CitizenFactory()
    GroupMembership.objects.create(group=committee, user=member)
    api = client_for(member)
    api.get("/api/v1/polls/")  # warm: templates compiled, cards cached
    api.get(detail(poll))

    with CaptureQueriesContext(connection) as listing:
        api.get("/api/v1/polls/")
    with CaptureQueriesContext(connection) as reading:
        api.get(detail(poll))

    poll_reads = [q for q in listing.captured_queries if '"voting_poll"' in q["sql"]]
    assert len(poll_reads) == 1
    assert len([q for q in reading.captured_queries if '"voting_poll"' in q["sql"]]) == 1
    assert vote(api, poll).status_code == 201
    assert Participation.objects.filter(poll=poll, voter=member).exists()


# --- The admin -----------------------------------------------------------------------------------


def admin_client(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def test_the_poll_form_has_the_private_box_in_its_audience_and_a_way_to_the_codes():
    official = OfficialFactory(role="official")
    poll = private_poll()

    page = admin_client(official).get(f"/admin/voting/poll/{poll.pk}/change/").content.decode()

    assert 'name="private"' in page
    assert f"/admin/voting/pollinvitation/add/?poll={poll.pk}" in page
    fieldsets = page.split("<fieldset")
    # The guided form's audience step (voting/admin/layout.py).
    audience = next(f for f in fieldsets if f.startswith(' class="module aligned step-audience"'))
    assert 'name="private"' in audience and 'name="groups"' in audience


def test_an_official_generates_codes_and_gets_them_once_on_a_printable_sheet(client_for):
    official = OfficialFactory(role="official")
    poll = private_poll()
    client = admin_client(official)

    form = client.get(f"/admin/voting/pollinvitation/add/?poll={poll.pk}")
    assert form.status_code == 200
    sheet = client.post(
        "/admin/voting/pollinvitation/add/",
        {"poll": poll.pk, "number": "12", "label": "3층 회의실"},
    )

    assert sheet.status_code == 200
    assert "no-store" in sheet["Cache-Control"]
    html = sheet.content.decode()
    printed = re.findall(r'<span class="code">([^<]+)</span>', html)
    assert len(printed) == 12 and all(CODE.match(code) for code in printed)
    assert html.count("주민자치회 회의 안건") >= 12  # the poll's title on every slip
    assert "3층 회의실" in html
    assert PollInvitation.objects.filter(poll=poll, created_by=official).count() == 12
    # What was printed is what opens the poll.
    citizen = CitizenFactory()
    assert client_for(citizen).post(REDEEM, {"code": printed[3]}, format="json").json() == {
        "poll": poll.pk
    }
    # The codes are never shown again: the list has labels and states, no code.
    listing = client.get(f"/admin/voting/pollinvitation/?poll__id__exact={poll.pk}")
    text = listing.content.decode()
    assert listing.status_code == 200 and "redeemed" in text
    assert not any(code in text for code in printed)
    assert citizen.phone not in text


def test_public_polls_and_out_of_range_numbers_are_not_offered():
    official = OfficialFactory(role="official")
    public = PollFactory(title="공개 투표")
    poll = private_poll()
    client = admin_client(official)

    for data in ({"poll": public.pk, "number": "5"}, {"poll": poll.pk, "number": "501"}):
        response = client.post("/admin/voting/pollinvitation/add/", data)
        assert response.status_code == 200
        assert response.context["form"].errors
    assert not PollInvitation.objects.exists()


def test_an_official_revokes_codes_from_the_list():
    official = OfficialFactory(role="official")
    poll = private_poll()
    codes_for(poll, n=3)
    chosen = list(PollInvitation.objects.values_list("pk", flat=True)[:2])

    response = admin_client(official).post(
        "/admin/voting/pollinvitation/",
        {"action": "revoke_selected", "_selected_action": chosen},
    )

    assert response.status_code == 302
    assert set(
        PollInvitation.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    ) == set(chosen)


def test_nobody_edits_or_deletes_a_code_in_the_admin():
    official = OfficialFactory(role="official")
    poll = private_poll()
    codes_for(poll)
    invitation = PollInvitation.objects.get()
    client = admin_client(official)

    page = client.get(f"/admin/voting/pollinvitation/{invitation.pk}/change/")
    assert page.status_code == 200 and 'name="label"' not in page.content.decode()
    assert client.get(f"/admin/voting/pollinvitation/{invitation.pk}/delete/").status_code == 403
    client.post(f"/admin/voting/pollinvitation/{invitation.pk}/change/", {"label": "바꿈"})
    assert PollInvitation.objects.get().label == ""

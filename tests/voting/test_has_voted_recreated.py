"""A citizen who voted, deleted the account and signed up again with the same phone may not vote
again (the participation keeps the phone's keyed hash): the list and the detail must say they
have voted, or the app offers a ballot the server will refuse."""

import pytest
from rest_framework.test import APIClient

from tests.accounts.test_auth_flows import sign_up
from tests.factories import CitizenFactory, PollFactory
from voting import casting

pytestmark = pytest.mark.django_db

PHONE = "+821055507777"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Two sign-ups of one number in a row: their pace is not what is tested here.
    settings.ACCOUNT_RATE_LIMITS = False


def _get(client: APIClient, token: str, path: str):
    response = client.get(path, HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200, response.content
    return response.json()


def _has_voted_in_list(client: APIClient, token: str) -> dict[int, bool]:
    body = _get(client, token, "/api/v1/polls/")
    return {item["id"]: item["has_voted"] for item in body["results"]}


def test_a_recreated_account_has_voted_where_its_number_voted():
    voted, other = PollFactory(), PollFactory()
    client = APIClient()
    token = sign_up(client, PHONE)
    option = voted.options.first()
    response = client.post(
        f"/api/v1/polls/{voted.pk}/ballots/",
        {"options": [option.pk]},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 201, response.content
    assert client.delete("/api/v1/me/", HTTP_X_SESSION_TOKEN=token).status_code == 204

    token = sign_up(client, PHONE)

    assert _has_voted_in_list(client, token) == {voted.pk: True, other.pk: False}
    assert _get(client, token, f"/api/v1/polls/{voted.pk}/")["has_voted"] is True
    assert _get(client, token, f"/api/v1/polls/{other.pk}/")["has_voted"] is False
    # What the flag promises: the ballot box refuses this number a second vote.
    again = client.post(
        f"/api/v1/polls/{voted.pk}/ballots/",
        {"options": [option.pk]},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_voted"


def test_another_number_has_not_voted(client_for):
    """The key is the phone's: a citizen of the same shape with another number has not voted,
    though both read through the same compiled statement."""
    poll = PollFactory()
    first, second = CitizenFactory(), CitizenFactory()
    casting.cast_ballot(poll=poll, voter=first, option_ids=[poll.options.first().pk])

    for citizen, expected in ((first, True), (second, False)):
        api = client_for(citizen)
        listed = api.get("/api/v1/polls/").json()["results"]
        assert {item["id"]: item["has_voted"] for item in listed} == {poll.pk: expected}
        assert api.get(f"/api/v1/polls/{poll.pk}/").json()["has_voted"] is expected

"""Query parameters through small serializers (core/filters.py): every view that reads its query
string answers a bad value, as a citizen's app or a curious citizen would send it, with 400
``invalid_input`` naming the parameter, and never ignores it, serves a default or fails (500)."""

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.filters import DigitsField, parse_query
from tests.factories import PollFactory
from tests.proposals.factories import ProposalFactory

# --- The helper and its field --------------------------------------------------------------------


class _Filter(serializers.Serializer):
    kind = serializers.ChoiceField(choices=("a", "b"), default="a")
    after = DigitsField(max_digits=3, default=0)


def _query(query: str) -> Request:
    return Request(APIRequestFactory().get("/x/" + query))


def test_parse_query_gives_the_defaults_and_the_typed_values():
    assert parse_query(_Filter, _query("")) == {"kind": "a", "after": 0}
    assert parse_query(_Filter, _query("?kind=b&after=007")) == {"kind": "b", "after": 7}


def test_an_empty_value_is_checked_not_taken_for_the_default():
    """A QueryDict's ``?kind=`` reads as "not given" in DRF; here it is a value, and invalid."""
    with pytest.raises(ValidationError) as caught:
        parse_query(_Filter, _query("?kind="))
    assert set(caught.value.detail) == {"kind"}


def test_a_repeated_parameter_counts_once_with_its_last_value():
    assert parse_query(_Filter, _query("?kind=a&kind=b"))["kind"] == "b"


@pytest.mark.parametrize(
    "after", ["-1", "+1", "1.0", " 1", "1 ", "1e2", "٣", "１", "1000", "0x1", "", "\x00"]
)
def test_digits_are_ascii_digits_only_and_at_most_max_digits(after):
    with pytest.raises(ValidationError) as caught:
        parse_query(_Filter, _query(f"?after={after}"))
    assert set(caught.value.detail) == {"after"}


# --- Every view that reads query parameters ------------------------------------------------------


def _poll_list(_db) -> str:
    return "/api/v1/polls/"


def _board(_db) -> str:
    return f"/api/v1/polls/{PollFactory(results_visibility='live').pk}/board/"


def _poll_comments(_db) -> str:
    return f"/api/v1/polls/{PollFactory().pk}/comments/"


def _proposals(_db) -> str:
    return "/api/v1/proposals/"


def _proposal_comments(_db) -> str:
    return f"/api/v1/proposals/{ProposalFactory().pk}/comments/"


def _districts(_db) -> str:
    return "/api/v1/districts/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        (_poll_list, "?status=bogus", "status"),
        (_poll_list, "?status=", "status"),
        (_poll_list, "?scope=everyone", "scope"),
        (_poll_list, "?category=" + "x" * 101, "category"),
        (_poll_list, "?category=%00", "category"),
        (_board, "?after=-1", "after"),
        (_board, "?after=abc", "after"),
        (_board, "?after=1.0", "after"),
        (_board, "?after=1234567890", "after"),
        (_poll_comments, "?order=oldest", "order"),
        (_poll_comments, "?order=", "order"),
        (_proposals, "?status=draft", "status"),
        (_proposals, "?order=random", "order"),
        (_proposals, "?district=seoul", "district"),
        (_proposals, "?district=1111000000%0A", "district"),
        (_proposal_comments, "?order=LIKES", "order"),
        (_districts, "?level=province", "level"),
        (_districts, "?parent=11110", "parent"),
        (_districts, "?include_inactive=maybe", "include_inactive"),
        (_districts, "?q=" + "가" * 101, "q"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_bad_query_parameter_is_400_invalid_input_naming_it(url, query, field, citizen_api, db):
    response = citizen_api.get(url(db) + query)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_input"
    assert list(body["fields"]) == [field]
    assert all(isinstance(message, str) and message for message in body["fields"][field])


@pytest.mark.django_db
def test_each_bad_parameter_is_named_at_once(citizen_api):
    """The app learns every mistake in one answer, not one per request."""
    response = citizen_api.get("/api/v1/polls/?status=soon&scope=everyone")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status", "scope"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/polls/?status=closed&scope=all&category=",
        "/api/v1/proposals/?status=expired&order=support&district=city",
        "/api/v1/districts/?q=&include_inactive=true",
    ],
)
def test_valid_parameters_and_an_empty_optional_text_are_served(url, citizen_api):
    assert citizen_api.get(url).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        ("/api/v1/polls/?status=draft", "status", "Choose open, upcoming or closed."),
        ("/api/v1/polls/?scope=everyone", "scope", "Choose mine or all."),
        ("/api/v1/polls/?category=" + "x" * 101, "category", "Not a category slug."),
        ("/api/v1/proposals/?order=top", "order", "Choose newest or support."),
        (
            "/api/v1/proposals/?district=seoul",
            "district",
            "Send a 10-digit gu code, or city for all of Seoul.",
        ),
    ],
)
def test_the_messages_say_what_to_send(url, field, message, citizen_api):
    response = citizen_api.get(url, HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["fields"] == {field: [message]}

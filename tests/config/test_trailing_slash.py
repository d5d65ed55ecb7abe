"""An app that forgets the trailing slash reaches the same view, for every method, as the app
would hit it: every operation of the served schema, called with and without its slash, by an
app's token (the lean lane) and without one (the full middleware chain)."""

import re

import pytest
from django.test import Client

from core.errors import api_not_found
from tests.conftest import make_session_token
from tests.discussion.factories import CommentFactory
from tests.district_codes import SEOUL
from tests.factories import CitizenFactory, PollFactory
from tests.proposals.factories import ProposalFactory

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def _operations() -> list[tuple[str, str]]:
    schema = Client().get("/api/schema/?format=json").json()
    return [
        (path, method)
        for path, item in schema["paths"].items()
        for method in METHODS
        if method in item and path.startswith("/api/v1/")
    ]


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: ids.get(match.group(1), "1"), path)


def _call(client: Client, method: str, path: str, **headers: str):
    if method == "get":
        return client.get(path, **headers)
    return getattr(client, method)(path, data=b"{}", content_type="application/json", **headers)


def _route(response) -> str | None:
    # The view Django resolved for the request actually handled (after the slash was added).
    match = response.wsgi_request.resolver_match
    assert match is not None
    assert match.func is not api_not_found, response.wsgi_request.path_info
    return match.route


@pytest.mark.parametrize("with_token", [True, False], ids=["app-token", "anonymous"])
def test_every_operation_answers_the_same_with_and_without_its_slash(with_token):
    citizen = CitizenFactory()
    poll = PollFactory()
    ids = {
        "poll_id": str(poll.pk),
        "proposal_id": str(ProposalFactory().pk),
        "comment_id": str(CommentFactory().pk),
        "code": SEOUL,
        "group_id": "1",
        "token": "x" * 40,
    }
    headers = {"HTTP_X_SESSION_TOKEN": make_session_token(citizen)} if with_token else {}
    operations = _operations()
    assert len(operations) > 20  # the schema was read, not an empty list
    for path, method in operations:
        slashed = _fill(path, ids)
        assert slashed.endswith("/"), f"{path}: the schema lists the canonical (slashed) path"
        # Safe methods first on the slashless form, so a write cannot change what GET sees.
        without = _call(Client(), method, slashed.rstrip("/"), **headers)
        with_slash = _call(Client(), method, slashed, **headers)
        label = f"{method.upper()} {slashed.rstrip('/')}"
        assert without.status_code != 301, label
        assert _route(without) == _route(with_slash), label
        if method == "get" or without.status_code >= 400:
            # A refused write is refused alike; a read reads alike.
            assert without.status_code == with_slash.status_code, label


def test_a_body_reaches_the_view_of_a_slashless_post():
    """POST without the slash keeps its body: no redirect, the ballot is cast."""
    citizen = CitizenFactory()
    poll = PollFactory()
    option = poll.options.first()
    response = Client().post(
        f"/api/v1/polls/{poll.pk}/ballots",
        data={"options": [option.pk]},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=make_session_token(citizen),
    )
    assert response.status_code == 201, response.content
    assert response.json()["options"] == [option.pk]


def test_unknown_api_paths_stay_json_404s():
    for path in ("/api/v1/nothing", "/api/v1/nothing/", "/api/v1/polls/abc", "/api/v2/polls"):
        response = Client().get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_the_schema_lists_one_path_per_operation():
    schema = Client().get("/api/schema/?format=json").json()
    paths = [path for path in schema["paths"] if path.startswith("/api/v1/")]
    assert all(path.endswith("/") for path in paths)
    assert not {path.rstrip("/") for path in paths} & set(paths)


def test_the_lean_lane_and_the_full_chain_share_the_middleware():
    from django.conf import settings

    assert "config.middleware.ApiCommonMiddleware" in settings.MIDDLEWARE
    assert "django.middleware.common.CommonMiddleware" not in settings.MIDDLEWARE

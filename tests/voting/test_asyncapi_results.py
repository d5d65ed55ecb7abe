"""Live frames of ranked and score polls, and of a final poll with its evidence, are what the
AsyncAPI document says — and what the REST API's results say, in the same shapes."""

import pytest
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from tests.ballot_box import close_and_count, count_now
from tests.factories import CitizenFactory, PollFactory
from tests.voting.asyncapi_components import ROOTS, converted
from tests.voting.test_asyncapi import _assert_valid, _document
from voting import casting, counting, evidence, results, tallies
from voting.live.snapshot import snapshot
from voting.models import Poll


def openapi_in_korean() -> dict:
    # Enum descriptions are the choices' labels, in the active language: the copies are Korean.
    with translation.override("ko"):
        return SchemaGenerator().get_schema(request=None, public=True)


def test_the_frames_results_components_are_the_rest_apis():
    openapi = openapi_in_korean()
    copies = converted(openapi)
    schemas = _document()["components"]["schemas"]

    assert set(ROOTS) <= set(copies)
    assert {name: schemas.get(name) for name in copies} == copies


def test_the_comparison_can_fail():
    openapi = openapi_in_korean()
    openapi["components"]["schemas"]["ScoreResults"]["properties"]["spread"] = {"type": "number"}

    assert (
        converted(openapi)["ScoreResults"] != _document()["components"]["schemas"]["ScoreResults"]
    )


def rest_document(poll: Poll) -> dict:
    poll = Poll.objects.select_related("count_state").get(pk=poll.pk)
    with translation.override("ko"):
        return results.build(poll, tallies.read(poll.pk), evidence=evidence.published(poll))


def cast(poll: Poll, ballots: list[dict]) -> None:
    for ballot in ballots:
        casting.cast_ballot(poll=poll, voter=CitizenFactory(), **ballot)


@pytest.mark.django_db
def test_a_ranked_polls_frame_carries_its_rounds_as_the_api_does():
    k = counting.k()
    poll = PollFactory(kind="ranked", min_choices=1, max_choices=2, options=["가", "나", "다"])
    a, b, c = poll.options.order_by("position").values_list("pk", flat=True)
    cast(poll, [{"ranking": [a, b]}] * k + [{"ranking": [c, b]}] * k + [{"ranking": [b]}] * k)
    assert count_now() == 2 * k

    frame = snapshot(poll.pk)

    _assert_valid("tally", frame)
    assert frame["kind"] == "ranked"
    assert frame["ranked"]["rounds"]
    assert frame["ranked"] == rest_document(poll)["ranked"]
    assert frame["scores"] is None and frame["evidence"] is None


@pytest.mark.django_db
def test_a_score_polls_frame_carries_its_distributions_as_the_api_does():
    k = counting.k()
    poll = PollFactory(kind="score", score_min=0, score_max=10, options=["가", "나"])
    a, b = poll.options.order_by("position").values_list("pk", flat=True)
    cast(poll, [{"scores": [(a, 10), (b, 0)]}] * k + [{"scores": [(a, 7)]}] * k)
    close_and_count(poll)

    frame = snapshot(poll.pk)

    _assert_valid("tally", frame)
    assert frame["kind"] == "score"
    assert frame["scores"] == rest_document(poll)["scores"]
    assert [option["raters"] for option in frame["scores"]["options"]] == [2 * k, k]
    # A final score poll's evidence: coverage only, no weighted shares (not applicable).
    assert frame["evidence"]["status"] == "not_applicable"


@pytest.mark.django_db
def test_a_final_polls_frame_carries_the_evidence_it_published():
    k = counting.k()
    poll = PollFactory(options=["찬성", "반대"])
    yes, no = poll.options.order_by("position").values_list("pk", flat=True)
    cast(poll, [{"option_ids": [yes]}] * k + [{"option_ids": [no]}] * k)
    close_and_count(poll)

    frame = snapshot(poll.pk)

    _assert_valid("tally", frame)
    assert frame["evidence"] is not None
    assert frame["evidence"] == rest_document(poll)["evidence"]

"""What the ballot page offers an identified caller: their own eligibility, every question kind."""

import pytest

from tests.assisted.conftest import identify_by_sms
from tests.district_codes import JONGNO, MAPO, SAJIK
from tests.factories import PollFactory
from voting.models import Channel, Participation

pytestmark = pytest.mark.django_db


def test_a_caller_outside_the_audience_is_told_why_and_cannot_be_cast_for(operator_client, caller):
    caller.district_id = SAJIK  # in Jongno
    caller.save()
    mapo_only = PollFactory(title="마포 주민 투표", districts=[MAPO])
    identification_id = identify_by_sms(operator_client, poll_id=mapo_only.pk)
    ballot = f"/assist/calls/{identification_id}/ballot/"

    page = operator_client.get(ballot).content.decode()
    assert 'data-state="refused"' in page
    assert 'class="ballot"' not in page

    option = mapo_only.options.first()
    refused = operator_client.post(ballot, {"option": [option.pk]})
    assert refused.status_code == 403
    assert 'data-code="not_eligible"' in refused.content.decode()
    assert not Participation.objects.exists()


def test_a_caller_in_the_audience_gets_the_options(operator_client, caller):
    caller.district_id = SAJIK
    caller.save()
    jongno = PollFactory(title="종로 주민 투표", districts=[JONGNO], options=["가", "나"])
    identification_id = identify_by_sms(operator_client, poll_id=jongno.pk)

    page = operator_client.get(f"/assist/calls/{identification_id}/ballot/").content.decode()

    assert 'class="ballot"' in page and "가" in page and "나" in page


def test_a_ranked_ballot_is_cast_from_the_ranks_typed(operator_client, caller):
    ranked = PollFactory(kind="ranked", max_choices=3, options=["가", "나", "다"])
    first, second, third = ranked.options.order_by("position")
    identification_id = identify_by_sms(operator_client, poll_id=ranked.pk)

    response = operator_client.post(
        f"/assist/calls/{identification_id}/ballot/",
        {f"rank_{third.pk}": "1", f"rank_{first.pk}": "2", f"rank_{second.pk}": ""},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    receipt = operator_client.get(response["Location"])
    assert receipt.status_code == 200
    assert Participation.objects.get(poll=ranked).channel == Channel.ASSISTED


def test_a_score_ballot_is_cast_from_the_scores_typed(operator_client, caller):
    scored = PollFactory(kind="score", score_min=1, score_max=5, options=["가", "나"])
    first, second = scored.options.order_by("position")
    identification_id = identify_by_sms(operator_client, poll_id=scored.pk)

    response = operator_client.post(
        f"/assist/calls/{identification_id}/ballot/",
        {f"score_{first.pk}": "5", f"score_{second.pk}": "2"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]


def test_an_invalid_choice_is_shown_and_the_caller_may_still_vote(operator_client, caller, poll):
    identification_id = identify_by_sms(operator_client, poll_id=poll.pk)
    ballot = f"/assist/calls/{identification_id}/ballot/"

    refused = operator_client.post(ballot, {})

    assert refused.status_code == 400
    assert 'data-code="invalid_choice"' in refused.content.decode()
    yes = poll.options.get(label="찬성")
    assert operator_client.post(ballot, {"option": [yes.pk]}).status_code == 302

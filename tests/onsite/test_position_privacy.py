"""The phone's position is checked and discarded: after an accepted ballot, a refused one (out of
the circle) and an invalid one, neither the database nor any log line holds its coordinates."""

import logging

import pytest
from django.apps import apps
from django.core import serializers

from tests.factories import CitizenFactory, PollFactory
from tests.onsite.support import (
    BALLOTS_URL,
    CITY_HALL,
    FAR,
    NEAR,
    location,
    make_session,
    token_now,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# Loggers that do not hand their records up to the root logger (config/settings.py LOGGING),
# where pytest's caplog listens: listened to directly.
SILOED_LOGGERS = ("django.request", "django.server", "mvoting.access")


@pytest.fixture
def every_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    for name in SILOED_LOGGERS:
        logging.getLogger(name).addHandler(caplog.handler)
    yield caplog
    for name in SILOED_LOGGERS:
        logging.getLogger(name).removeHandler(caplog.handler)


def digits_of(point: tuple[float, float]) -> list[str]:
    # As sent, and rounded to 4 places (about 10 m): how a coordinate would be written if it were.
    return [str(value) for value in point] + [f"{value:.4f}" for value in point]


def database_text() -> str:
    """Every row of every table, as JSON."""
    parts = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        parts.append(serializers.serialize("json", model._default_manager.all()))
    return "\n".join(parts)


def test_the_position_is_in_no_row_and_no_log_line(client_for, every_log_line):
    poll = PollFactory()
    session = make_session(poll, circle=(*CITY_HALL, 100))
    yes, _no = poll.options.all()
    near_voter, far_voter = client_for(CitizenFactory()), client_for(CitizenFactory())

    accepted = near_voter.post(
        BALLOTS_URL,
        {"token": token_now(session), "options": [yes.pk], "location": location(NEAR)},
        format="json",
    )
    out_of_radius = far_voter.post(
        BALLOTS_URL,
        {"token": token_now(session), "options": [yes.pk], "location": location(FAR)},
        format="json",
    )
    # Refused for its token after the position was read: nothing of it in the answer either.
    bad_token = far_voter.post(
        BALLOTS_URL,
        {"token": "x" * 32, "options": [yes.pk], "location": location(FAR)},
        format="json",
    )

    assert accepted.status_code == 201, accepted.json()
    assert out_of_radius.status_code == 403
    assert bad_token.status_code == 400
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}"
        for record in every_log_line.records
    )
    assert every_log_line.records, "the requests were logged (the access log at least)"
    stored = database_text()
    for fragment in digits_of(NEAR) + digits_of(FAR):
        assert fragment not in logged, f"{fragment} logged"
        assert fragment not in stored, f"{fragment} stored"
    for response in (accepted, out_of_radius, bad_token):
        for fragment in digits_of(NEAR) + digits_of(FAR):
            assert fragment not in response.content.decode()

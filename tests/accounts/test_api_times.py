"""Every time in a REST answer is in Asia/Seoul (+09:00), error bodies included: an app parses one
offset, and a citizen shown "until 2026-12-01T15:00+00:00" reads the wrong hour."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from tests.district_codes import SAJIK, YEOKSAM1

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def _seoul(text: str) -> datetime:
    assert text.endswith("+09:00"), text
    return datetime.fromisoformat(text)


def test_residence_change_too_soon_says_when_in_seoul_time(citizen, citizen_api, settings):
    settings.RESIDENCE_CHANGE_COOLDOWN_DAYS = 30
    assert citizen_api.patch(ME, {"district": SAJIK}, format="json").status_code == 200

    response = citizen_api.patch(ME, {"district": YEOKSAM1}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "residence_change_too_soon"
    changed_at = User.objects.get(pk=citizen.pk).district_changed_at
    assert _seoul(body["next_change_at"]) == changed_at + timedelta(days=30)
    # The profile says the same instant, the same way.
    me = citizen_api.get(ME).json()
    assert me["next_change_at"]["residence"] == body["next_change_at"]


@pytest.mark.parametrize(("field", "first", "second"), [("birth_year", 1990, 2004)])
def test_profile_change_too_soon_says_when_in_seoul_time(citizen_api, field, first, second):
    before = timezone.now()
    assert citizen_api.patch(ME, {field: first}, format="json").status_code == 200

    response = citizen_api.patch(ME, {field: second}, format="json")

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "profile_change_too_soon"
    assert _seoul(body["next_change_at"]) > before
    assert citizen_api.get(ME).json()["next_change_at"][field] == body["next_change_at"]

"""Two sign-ups for the same new number at the same instant: one account, no 500."""

import threading

import pytest
from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SIGNUP = "/_allauth/app/v1/auth/signup"


def test_simultaneous_signups_for_one_new_number_make_one_account(monkeypatch):
    # Both requests pass allauth's checks ("is the number taken?", the per-number limit), then
    # meet here, just before saving: the race the unique index has to settle.
    barrier = threading.Barrier(2)
    save_user = DefaultAccountAdapter.save_user

    def save_together(self, *args, **kwargs):
        barrier.wait(timeout=30)
        return save_user(self, *args, **kwargs)

    monkeypatch.setattr(DefaultAccountAdapter, "save_user", save_together)

    def sign_up() -> int:
        return APIClient().post(SIGNUP, {"phone": "010-7777-8888"}, format="json").status_code

    statuses = run_at_once([sign_up, sign_up], timeout=60)  # (an error raised: a 500)
    # 401: the winner's pending "verify your phone" flow; 429: the loser, as a second attempt.
    assert sorted(statuses) == [401, 429]
    assert get_user_model().objects.filter(phone="+821077778888").count() == 1

"""Upgrading to hashed session keys logs nobody out, and leaves no usable key in the database.

Without it every citizen would sign in again after the upgrade: one SMS each, which the city pays
for and which the SMS budget would refuse at city scale.
"""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as PlainStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from accounts.sessions import stored_key
from tests.factories import CitizenFactory

BEFORE = [("accounts", "0004_profile_history_and_change_requests")]
AFTER = [("accounts", "0005_hash_existing_session_keys")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_sessions_from_before_the_upgrade_keep_working_and_their_keys_leave_the_database():
    _migrate(BEFORE)
    citizen = CitizenFactory()
    # A session as the old engine wrote it: the raw key is the row's primary key.
    old = PlainStore()
    old[SESSION_KEY] = str(citizen.pk)
    old[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    old[HASH_SESSION_KEY] = citizen.get_session_auth_hash()
    old.create()
    token = old.session_key
    assert Session.objects.filter(session_key=token).exists()

    _migrate(AFTER)

    assert not Session.objects.filter(session_key=token).exists()
    assert Session.objects.filter(session_key=stored_key(token)).exists()
    response = APIClient().get("/api/v1/me/", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == citizen.pk

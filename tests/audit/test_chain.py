"""The audit log is a keyed hash chain: whoever can write the database but lacks the key cannot
edit, remove, insert or reorder an entry without ``manage.py verify_audit`` naming it.

The attackers here: a database writer (a leaked owner password, a DBA, a restored backup edited
by hand) who goes around the app — on PostgreSQL they are the owner, so they switch the
append-only trigger off first — and an official whose admin work must be on the record. These
run on SQLite and on PostgreSQL; tests/security/test_db_roles.py covers what the server's own
role cannot do at all, and concurrent appends.
"""

import itertools

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from audit import services as audit
from audit.chain import GENESIS, content_of, entry_hash, verify_chain
from audit.models import AuditEntry
from tests.factories import CategoryFactory, CitizenFactory, OfficialFactory, PollFactory
from voting.models import Category
from voting.services.snapshots import record_poll

pytestmark = pytest.mark.django_db


def as_database_writer(statement: str, params: list | None = None) -> None:
    """Run SQL as someone with write access who goes around the app (and, on PostgreSQL, owns
    the table: the append-only trigger is switched off first, inside the test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only"
            )
        cursor.execute(statement, params or [])
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only"
            )


def some_history(n: int = 5) -> list[AuditEntry]:
    """``n`` entries written the way the app writes them: polls, moderation, citizens."""
    official = OfficialFactory()
    poll = PollFactory(title="버스 노선 개편")
    entries = [
        record_poll(actor=official, poll=poll, action=AuditEntry.Action.PUBLISH),
        audit.record(
            actor=official,
            subject_type=AuditEntry.Subject.PROPOSAL,
            subject_id=7,
            title="공원 조성",
            action=AuditEntry.Action.ACCEPT,
            changes={"note": "좋은 제안", "score": 1.5, "tags": ["a", "b"]},
        ),
    ]
    while len(entries) < n:
        entries.append(
            audit.record_event(
                actor=official,
                subject_type=AuditEntry.Subject.CITIZEN,
                subject_id=100 + len(entries),
                title=f"citizen #{100 + len(entries)}",
                action=AuditEntry.Action.REQUEST_CHANGE,
                changes={"residence": ["종로구", "강남구"], "reason": "이사"},
            )
        )
    return entries


def verify(*heads: str) -> str:
    """``manage.py verify_audit`` as an operator runs it: its output, or the CommandError
    (exit status 1) it raised."""
    from io import StringIO

    out = StringIO()
    args = [arg for head in heads for arg in ("--head", head)]
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken(*heads: str) -> str:
    with pytest.raises(CommandError) as caught:
        verify(*heads)
    return str(caught.value)


def head_of(output: str) -> str:
    """ "SEQ:HASH" from verify_audit's OK line, as an operator would write it down."""
    words = output.split()
    return f"{words[words.index('seq') + 1]}:{words[words.index('hash') + 1]}"


# --- The chain as the app writes it -------------------------------------------------------------


def test_every_recorder_appends_to_one_numbered_linked_chain():
    """Poll entries, moderation and events all go through one writer: entries numbered
    1..n without gaps, each linked to the one before, each hash the keyed HMAC of its content;
    verify_audit says OK with the count and the head an operator records."""
    entries = some_history(5)

    stored = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    assert stored[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(stored))
    for entry in stored:
        assert entry.hash == entry_hash(prev_hash=entry.prev_hash, content=content_of(entry))
    assert [e.hash for e in entries] == [e.hash for e in stored]  # what was hashed was stored
    output = verify()
    assert output.strip() == f"audit log OK: 5 entries; head seq 5 hash {stored[-1].hash}"
    assert verify(head_of(output)).startswith("audit log OK")


def test_an_empty_log_verifies():
    assert verify().strip() == f"audit log OK: 0 entries; head seq 0 hash {GENESIS}"


def test_the_chain_is_keyed_a_writer_without_the_key_cannot_recompute_it():
    """The same content hashed with another key (say, a guess at the server's secret) gives
    another hash: the HMAC, not a plain digest, is what a database writer cannot forge."""
    entry = some_history(1)[0]
    content = content_of(entry)
    assert entry_hash(prev_hash=GENESIS, content=content) == entry.hash
    assert entry_hash(prev_hash=GENESIS, content=content, key="guessed") != entry.hash
    assert not verify_chain(key="guessed").ok


# --- A database writer who goes around the app --------------------------------------------------


def test_an_edited_entry_is_named():
    """A writer rewrites who did something in entry 3 (the action, the actor's name): the
    chain breaks at that entry, named by id and seq."""
    entries = some_history(5)
    victim = entries[2]
    as_database_writer(
        "UPDATE audit_auditentry SET actor_name = %s, changes = %s WHERE id = %s",
        ["someone-else", '{"residence": ["종로구", "종로구"]}', victim.pk],
    )

    message = broken()
    assert f"audit log BROKEN at entry id {victim.pk} (seq 3)" in message
    assert "does not match its hash" in message
    assert f"The 2 entries before it verify; their head is seq 2 hash {entries[1].hash}" in message


def test_an_edited_timestamp_is_named():
    entries = some_history(3)
    as_database_writer(
        "UPDATE audit_auditentry SET at = %s WHERE id = %s",
        ["2020-01-01T00:00:00Z", entries[1].pk],
    )
    assert f"entry id {entries[1].pk} (seq 2)" in broken()


def test_a_deleted_entry_in_the_middle_is_a_gap():
    entries = some_history(5)
    as_database_writer("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].pk])

    message = broken()
    assert f"entry id {entries[3].pk} (seq 4): expected seq 3: entries 3..3 are missing" in message


def test_a_deleted_entry_hidden_by_renumbering_is_named():
    """The writer deletes entry 3, then renumbers and relinks the rest so no gap shows: they
    cannot recompute the hashes without the key, so the first renumbered entry is named."""
    entries = some_history(5)
    as_database_writer("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].pk])
    as_database_writer(
        "UPDATE audit_auditentry SET seq = -seq WHERE seq > 3",
    )
    as_database_writer("UPDATE audit_auditentry SET seq = -seq - 1 WHERE seq < 0")
    as_database_writer(
        "UPDATE audit_auditentry SET prev_hash = %s WHERE id = %s",
        [entries[1].hash, entries[3].pk],
    )

    message = broken()
    assert f"entry id {entries[3].pk} (seq 3)" in message
    assert "does not match its hash" in message


def test_the_first_entries_deleted_are_a_gap_at_the_start():
    entries = some_history(3)
    as_database_writer("DELETE FROM audit_auditentry WHERE seq = 1")
    assert f"entry id {entries[1].pk} (seq 2): expected seq 1" in broken()


def test_a_forged_entry_appended_is_named():
    """A writer adds an entry after the head, linked correctly, with a hash made without the
    key (here: with a wrong one)."""
    entries = some_history(3)
    forged = AuditEntry(
        seq=4,
        prev_hash=entries[-1].hash,
        at=entries[-1].at,
        actor_name="admin",
        subject_type=AuditEntry.Subject.CITIZEN,
        subject_id=5,
        title="citizen #5",
        action=AuditEntry.Action.APPROVE_VERIFICATION,
        changes={},
    )
    digest = entry_hash(prev_hash=forged.prev_hash, content=content_of(forged), key="guess")
    as_database_writer(
        "INSERT INTO audit_auditentry (seq, prev_hash, hash, at, actor_name, subject_type,"
        " subject_id, title, action, changes) VALUES (4, %s, %s, %s, 'admin', 'citizen', 5,"
        " 'citizen #5', 'approve_verification', '{}')",
        [forged.prev_hash, digest, forged.at],
    )

    message = broken()
    assert "(seq 4)" in message and "does not match its hash" in message


def test_a_forged_entry_inserted_in_the_middle_is_named():
    """Inserting between 2 and 3 means taking seq 3 (the old 3.. move up): the inserted entry
    cannot carry a valid hash, and the moved ones no longer hash to what they say."""
    entries = some_history(4)
    as_database_writer("UPDATE audit_auditentry SET seq = -seq - 1 WHERE seq >= 3")
    as_database_writer("UPDATE audit_auditentry SET seq = -seq WHERE seq < 0")
    as_database_writer(
        "INSERT INTO audit_auditentry (seq, prev_hash, hash, at, actor_name, subject_type,"
        " subject_id, title, action, changes) VALUES (3, %s, %s, %s, 'admin', 'citizen', 5,"
        " 'citizen #5', 'approve_verification', '{}')",
        [entries[1].hash, "f" * 64, entries[1].at],
    )

    assert "(seq 3)" in broken()


def test_swapped_entries_are_named():
    """Reordering: entries 2 and 3 swap places (numbers and links swapped too)."""
    entries = some_history(4)
    second, third = entries[1], entries[2]
    as_database_writer("UPDATE audit_auditentry SET seq = -1 WHERE id = %s", [second.pk])
    as_database_writer(
        "UPDATE audit_auditentry SET seq = 2, prev_hash = %s WHERE id = %s",
        [entries[0].hash, third.pk],
    )
    as_database_writer(
        "UPDATE audit_auditentry SET seq = 3, prev_hash = %s WHERE id = %s",
        [third.hash, second.pk],
    )

    assert f"entry id {third.pk} (seq 2)" in broken()


def test_the_newest_entries_cut_off_are_caught_by_a_recorded_head():
    """Removing the newest entries leaves a chain that holds: only the head an operator
    recorded earlier shows it. verify_audit --head SEQ:HASH fails once that entry is gone."""
    some_history(5)
    recorded = head_of(verify())
    as_database_writer("DELETE FROM audit_auditentry WHERE seq >= 4")

    assert verify().startswith("audit log OK: 3 entries")  # the chain alone cannot tell
    message = broken(recorded)
    assert "audit log TRUNCATED: the recorded head seq 5 is past the last entry (seq 3)" in message


def test_a_chain_rebuilt_with_the_key_is_caught_by_a_recorded_head(settings):
    """Even someone who stole the key and rebuilt the chain after an edit is caught by an
    earlier head: the entry at that seq no longer hashes to what was recorded."""
    entries = some_history(4)
    recorded = head_of(verify())
    as_database_writer(
        "UPDATE audit_auditentry SET actor_name = 'nobody' WHERE id = %s", [entries[1].pk]
    )
    prev_hash = entries[0].hash
    for entry in AuditEntry.objects.filter(seq__gte=2).order_by("seq"):
        digest = entry_hash(prev_hash=prev_hash, content=content_of(entry))
        as_database_writer(
            "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev_hash, digest, entry.pk],
        )
        prev_hash = digest

    assert verify().startswith("audit log OK: 4 entries")
    assert "audit log REWRITTEN: entry seq 4 hashes to" in broken(recorded)


def test_a_malformed_head_is_refused():
    assert "--head must be SEQ:HASH" in broken("12:abc")


# --- Officials' admin work is on the record -----------------------------------------------------


def superuser_client() -> tuple[Client, object]:
    admin = OfficialFactory(is_superuser=True)
    client = Client(headers={"accept-language": "en"})
    client.force_login(admin)
    return client, admin


def test_admin_changes_appear_in_the_chain():
    """An official adds, edits and bulk-deletes through the Django admin (real POSTs): each
    history row Django writes — the bulk deletion's too, written without post_save signals —
    has its audit entry, in the chain, naming the admin row, the object and what changed."""
    client, admin = superuser_client()
    kept, gone = (
        CategoryFactory(slug="culture", name="문화"),
        CategoryFactory(slug="old", name="옛"),
    )

    added = client.post(
        "/admin/voting/category/add/",
        {"slug": "environment", "name": "환경", "name_en": "Environment", "position": "2"},
    )
    changed = client.post(
        f"/admin/voting/category/{kept.pk}/change/",
        {"slug": "culture", "name": "문화·예술", "name_en": "Culture", "position": "3"},
    )
    new = Category.objects.get(slug="environment")
    deleted = client.post(
        "/admin/voting/category/",
        {"action": "delete_selected", "_selected_action": [gone.pk, new.pk], "post": "yes"},
    )
    assert (added.status_code, changed.status_code, deleted.status_code) == (302, 302, 302)
    assert not Category.objects.filter(pk__in=[gone.pk, new.pk]).exists()

    logs = list(LogEntry.objects.order_by("pk"))
    assert len(logs) == 4  # addition, change, two deletions
    mirrored = list(AuditEntry.objects.filter(subject_type="admin").order_by("seq"))
    assert [m.subject_id for m in mirrored] == [log.pk for log in logs]
    assert {m.action for m in mirrored} == {AuditEntry.Action.ADMIN_LOG}
    assert {m.actor_id for m in mirrored} == {admin.pk}
    assert [m.changes["action_flag"] for m in mirrored] == [
        "addition",
        "change",
        "deletion",
        "deletion",
    ]
    assert {m.changes["content_type"] for m in mirrored} == {"voting.category"}
    assert mirrored[1].changes["object_id"] == str(kept.pk)
    assert "Name" in mirrored[1].changes["change_message"]  # the fields changed, by name
    assert mirrored[1].title == "문화·예술"  # categories are officials' text
    assert verify().startswith("audit log OK: 4 entries")


def test_admin_history_of_a_citizen_keeps_no_personal_data():
    """A history row about a citizen's account keeps no phone number or name in the audit log:
    the label is "citizen #<id>", whatever ``object_repr`` Django wrote."""
    _client, admin = superuser_client()
    citizen = CitizenFactory(phone="+821012345678", display_name="홍길동")
    (log,) = LogEntry.objects.log_actions(
        admin.pk, [citizen], CHANGE, [{"changed": {"fields": ["Residence"]}}]
    )
    official = OfficialFactory(username="kim.official")
    LogEntry.objects.log_actions(admin.pk, [official], CHANGE, "")

    citizen_entry, official_entry = AuditEntry.objects.filter(subject_type="admin").order_by("seq")
    assert citizen_entry.subject_id == log.pk
    assert citizen_entry.title == f"citizen #{citizen.pk}"
    assert official_entry.title == f"official #{official.pk}"
    text = repr(AuditEntry.objects.filter(subject_type="admin").values())
    assert "12345678" not in text and "홍길동" not in text
    assert citizen_entry.changes["content_type"] == "accounts.user"
    assert verify().startswith("audit log OK")


def test_an_audit_entry_rolls_back_with_what_it_records():
    """Appends take part in the caller's transaction: nothing half-recorded, no gap left."""
    from django.db import transaction

    some_history(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record_event(
            actor=None,
            subject_type=AuditEntry.Subject.GROUP,
            subject_id=1,
            title="그룹",
            action=AuditEntry.Action.REPLACE_MEMBERS,
            changes={"members": [10, 12]},
        )
        raise RuntimeError("the change itself failed")
    entry = audit.record_event(
        actor=None,
        subject_type=AuditEntry.Subject.GROUP,
        subject_id=1,
        title="그룹",
        action=AuditEntry.Action.REPLACE_MEMBERS,
    )
    assert entry.seq == 3
    assert verify().startswith("audit log OK: 3 entries")

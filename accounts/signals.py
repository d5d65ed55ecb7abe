"""Signals accounts sends, so higher layers (the audit log) hear of changes without accounts
importing them."""

from django.dispatch import Signal

# Sent inside the transaction that changed a citizen, by an official or by the citizen's phone
# number changing. Arguments: actor (User | None), citizen_id (int), action (str), changes (dict:
# masked values only — never a phone number, a full birth year or a dong).
citizen_changed = Signal()

"""Live tallies for the officials' dashboards.

Two halves, one per direction, both coalescing to at most one message per poll per
``LIVE_MIN_INTERVAL`` (0.1 s) however fast ballots arrive, and always ending on the latest state:

- **Publisher** (``publisher.py``; the counter, after each batch it commits; any process, after
  an official's action on a poll): the poll is marked changed; one task per poll reads the current
  totals (a single counter query) and sends the full snapshot through the channel layer to the
  poll's group. Casting a ballot publishes nothing: totals move only when a batch of at least
  ``BALLOT_BATCH_MIN`` is counted, so no message follows a single citizen's ballot.
- **Relay** (``relay.py``; where dashboards are connected): each server process joins the poll's
  group once, with one channel of its own, and hands each message to its local sockets in memory.
  Redis then carries one message per poll per process, not one per dashboard.

Every message is the full current state (``snapshot.py``), so a lost one is healed by the next;
PostgreSQL stays the source of truth and nothing here can lose or delay a ballot.
"""

import asyncio

from voting.live import publisher as _publisher_module
from voting.live import relay as _relay_module
from voting.live.publisher import Publisher, poll_changed, tally_changed, wait_for_sends
from voting.live.relay import Deliver, Relay, relay
from voting.live.snapshot import group_name, snapshot

__all__ = [
    "Deliver",
    "Publisher",
    "Relay",
    "group_name",
    "poll_changed",
    "relay",
    "snapshot",
    "stop_all",
    "tally_changed",
    "wait_for_sends",
]


def stop_all() -> None:
    """Cancel this loop's relay and scheduled sends (tests; server shutdown)."""
    loop = asyncio.get_running_loop()
    _relay_module.stop(loop)
    _publisher_module.stop(loop)

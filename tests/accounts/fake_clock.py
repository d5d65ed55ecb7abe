"""An hour of attack in a few seconds: ``time.time`` moves only when the test moves it.

allauth's rate limits, the SMS budget's windows and the local-memory cache's expiry all read
``time.time()``; on Redis, new windows are new keys, so the same tests run there. The clock
starts at 01:00 UTC of today, so an hour's and a day's windows start with the test.
"""

import time
from dataclasses import dataclass

import pytest


@dataclass
class Clock:
    now: float

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    start = time.time() // 86400 * 86400 + 3600 + 0.5
    fake = Clock(now=start)
    monkeypatch.setattr(time, "time", lambda: fake.now)
    return fake

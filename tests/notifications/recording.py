"""A push backend for the worker tests: it stands in for the provider's endpoint, outside the
worker, by appending every message it is handed to a file (one line each, flushed at once).

``PUSH_RECORD_PATH`` names the file; ``PUSH_RECORD_DELAY`` (seconds per message) slows a batch
down so that a test can kill the worker in the middle of one.
"""

import os
import time
from collections.abc import Sequence

from notifications.push import BasePushBackend, PushMessage


class FilePushBackend(BasePushBackend):
    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        delay = float(os.environ.get("PUSH_RECORD_DELAY", "0"))
        with open(os.environ["PUSH_RECORD_PATH"], "a", encoding="utf-8") as record:
            for message in messages:
                record.write(f"{message.key} {message.user_id}\n")
                record.flush()
                if delay:
                    time.sleep(delay)
        return len(messages)

"""The benchmark's push backend: accepts every message and sends nothing, so the notification
figures measure the product (outbox, fan-out, batching), not a provider's latency."""

from collections.abc import Sequence

from notifications.push import BasePushBackend, PushMessage


class NullPushBackend(BasePushBackend):
    def send_messages(self, messages: Sequence[PushMessage]) -> int:
        return len(messages)

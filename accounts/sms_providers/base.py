"""What a provider's client answers, in terms the delivery task acts on.

Three outcomes, because the task does three different things: record the acceptance, record a
refusal and stop (retrying an invalid number costs money and never works), or wait and try again
(rate limited, outage). Provider codes are kept as the provider spells them, for the operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.sms import SMSError


@dataclass(frozen=True)
class Accepted:
    """The provider took the text: its id for it, what it charged, and the kind it billed
    (``SMS``/``LMS``: a long text costs more)."""

    message_id: str
    cost: Decimal
    kind: str = ""


class ProviderRefused(SMSError):
    """The provider will never send this text as it stands (invalid number, bad credentials,
    no balance): not retried. ``alert`` marks refusals an operator must act on (every text
    fails until they do)."""

    def __init__(self, code: str, *, alert: bool = False) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.alert = alert


class ProviderUnavailable(SMSError):
    """Try again later: rate limited (``retry_after`` when the provider says how long), an
    outage, a timeout or a refused connection."""

    def __init__(self, code: str, *, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.retry_after = retry_after

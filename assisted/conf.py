"""The assisted channel's settings, with their defaults (config/settings.py may override each)."""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Assisted ballots one operator may cast per hour (core.ratelimit notation).
    "ASSISTED_RATE": "60/h",
    # Identifications one operator may start per hour, and SMS codes per caller's number.
    "ASSISTED_IDENTIFY_RATE": "60/h",
    "ASSISTED_PHONE_RATE": "3/h",
    # Codes and PINs one operator may type per hour (each identification also allows 5 tries).
    "ASSISTED_ATTEMPT_RATE": "120/h",
    # An SMS code's life, and the wrong codes (or PINs) tolerated before it is void.
    "ASSISTED_CODE_SECONDS": 300,
    "ASSISTED_CODE_ATTEMPTS": 5,
    # How long a visit-verified PIN stays usable.
    "ASSISTED_PIN_DAYS": 90,
    # An operator's last hour is an anomaly above FACTOR × the centre's median and above MIN.
    "ASSISTED_ANOMALY_FACTOR": 3,
    "ASSISTED_ANOMALY_MIN": 20,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])

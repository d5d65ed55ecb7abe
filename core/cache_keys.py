"""The cache's key function: no phone number or address readable in Redis.

allauth names its rate-limit counters ``allauth:rl:<app>:<action>:<rate>:`` followed by the
client's IP in clear or an unkeyed SHA-256 of the phone number, which anyone reading Redis can
reverse by hashing every Korean mobile number (10^8 of them: seconds). Those keys are replaced by
an HMAC under the server's secret; every other key is Django's default.
"""

import hashlib
import hmac

from django.conf import settings

_ALLAUTH_RATE_LIMITS = "allauth:rl:"


def make_key(key: str, key_prefix: str, version: int) -> str:
    if key.startswith(_ALLAUTH_RATE_LIMITS):
        secret = f"cache-keys:{settings.SECRET_KEY}".encode()
        digest = hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:40]
        key = f"{_ALLAUTH_RATE_LIMITS}{digest}"
    return f"{key_prefix}:{version}:{key}"

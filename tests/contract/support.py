"""What both contract tests share: the world the app flow expects, the live schemas, the SMS code
read the way a citizen reads it, and the strict check of every recorded answer.

The flows run against pytest-django's ``live_server`` (a real HTTP server on a free port, in a
thread of the test process, on the test database): the SMS outbox and the settings are the
test's, so the test reads the codes the server sent, as tests/accounts/test_auth_flows.py does.
"""

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from django.utils import timezone

from accounts import sms
from tests.factories import PollFactory
from tests.openapi_strict import strict_schema, validate_response

API_SCHEMA = "/api/schema/?format=json"
ALLAUTH_SCHEMA = "/_allauth/openapi.json"
# Both flows sign up a citizen living here: the poll below is for all of Seoul.
DISTRICT = "1111053000"  # 종로구 사직동

# allauth's user codes (see tests/accounts/test_auth_flows.py): six digits under our settings.
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def open_poll() -> Any:
    """The poll the app finds open and votes in: all of Seoul, results shown live (so the app
    reads them right after voting), closing in a week."""
    return PollFactory(
        title="심야 버스 노선 확대",
        results_visibility="live",
        closes_at=timezone.now() + timedelta(days=7),
    )


def sms_code(phone: str) -> str:
    """The code in the last text message sent to ``phone``."""
    texts = [message.body for message in sms.outbox if message.to == phone]
    assert texts, f"no SMS was sent to {phone}"
    match = _CODE.search(texts[-1])
    assert match, f"no code in the SMS {texts[-1]!r}"
    return match.group(1)


@dataclass(frozen=True)
class Schemas:
    """The schemas as the live server serves them, closed (additionalProperties: false)."""

    api: dict[str, Any]
    allauth: dict[str, Any]

    def for_path(self, path: str) -> dict[str, Any]:
        return self.allauth if path.startswith("/_allauth/") else self.api


def fetch_schemas(base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(API schema, allauth's schema) as served, unmodified: what the generators read."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        api = client.get(API_SCHEMA)
        allauth = client.get(ALLAUTH_SCHEMA)
    assert api.status_code == 200, api.text[:500]
    assert allauth.status_code == 200, allauth.text[:500]
    return api.json(), allauth.json()


def strict(api: Mapping[str, Any], allauth: Mapping[str, Any]) -> Schemas:
    return Schemas(api=strict_schema(api), allauth=strict_schema(allauth))


@dataclass(frozen=True)
class Exchange:
    """One answer the app received."""

    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    body: Any
    template: str | None = None

    @classmethod
    def from_raw(
        cls,
        *,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        text: str,
        template: str | None = None,
    ) -> "Exchange":
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        body: Any = None
        if text:
            body = json.loads(text) if "json" in content_type else text
        return cls(method.upper(), path, status, dict(headers), body, template)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class Recorder:
    """Keeps every answer a generated client received (an httpx response hook)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.exchanges.append(
            Exchange.from_raw(
                method=response.request.method,
                path=response.request.url.path,
                status=response.status_code,
                headers=dict(response.headers),
                text=response.text,
            )
        )


def read_log(path: str) -> list[Exchange]:
    """The JSON lines the TypeScript flow wrote, one per answer."""
    exchanges = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            if line.strip():
                entry = json.loads(line)
                exchanges.append(
                    Exchange.from_raw(
                        method=entry["method"],
                        path=entry["path"],
                        status=entry["status"],
                        headers=entry["headers"],
                        text=entry["body"],
                        template=entry.get("template"),
                    )
                )
    return exchanges


def contract_failures(schemas: Schemas, exchanges: Iterable[Exchange]) -> list[str]:
    """Every answer that the schema does not document exactly (status, body with
    additionalProperties: false, headers), one message each."""
    failures = []
    for exchange in exchanges:
        try:
            validate_response(
                schemas.for_path(exchange.path),
                method=exchange.method,
                path=exchange.path,
                status=exchange.status,
                body=exchange.body,
                headers=exchange.headers,
            )
        except AssertionError as error:
            failures.append(str(error))
    return failures


def assert_contract_kept(schemas: Schemas, exchanges: list[Exchange], *, expected: int) -> None:
    """All answers were recorded (at least ``expected``) and each one matches the schema."""
    assert len(exchanges) >= expected, (
        f"only {len(exchanges)} answers recorded, expected at least {expected}:\n"
        + "\n".join(exchange.label for exchange in exchanges)
    )
    failures = contract_failures(schemas, exchanges)
    assert not failures, (
        f"{len(failures)} of {len(exchanges)} answers break the schema:\n\n" + "\n\n".join(failures)
    )


def assert_strictness_bites(schemas: Schemas, exchange: Exchange) -> None:
    """The check is strict: the same answer with one undocumented key fails it."""
    assert isinstance(exchange.body, dict), exchange
    tampered = dataclasses.replace(exchange, body={**exchange.body, "undocumented": 1})
    [failure] = contract_failures(schemas, [tampered])
    assert "undocumented" in failure, failure

"""The contract as a Python app sees it (issue 17).

``openapi-python-client`` generates a client from the schema the live server serves; the app flow
signs up through allauth (plain httpx: allauth's endpoints are in its own spec), then drives the
API only through the generated client: profile, list, vote, replay, results, receipt, comment,
proposal. Every answer must parse into the generated models (errors too: an ``Error``, never a
raw dict or None), and every raw answer must match the schema with ``additionalProperties: false``.
"""

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
import yaml

from tests.contract.support import (
    DISTRICT,
    Recorder,
    assert_contract_kept,
    assert_strictness_bites,
    fetch_schemas,
    open_poll,
    sms_code,
    strict,
)

# The live server commits: transactional, and tests/conftest.py reloads the districts after.
pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "mvoting_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PHONE = "+821055501818"
ALLAUTH = "/_allauth/app/v1"


class Generated:
    """The generated package: ``generated.op("v1_polls_retrieve")`` is an endpoint's module,
    ``generated.models`` the models."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client: ModuleType = importlib.import_module(f"{PACKAGE}.client")
        self.models: ModuleType = importlib.import_module(f"{PACKAGE}.models")

    def op(self, operation_id: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.api.v1.{operation_id}")


@pytest.fixture
def generate(tmp_path: Path) -> Iterator[Any]:
    """Generates the client from a schema into a temporary directory and imports it; forgets it
    afterwards, so a later test imports its own."""

    def build(schema: dict[str, Any]) -> Generated:
        source = tmp_path / "schema.json"
        source.write_text(httpx.Response(200, json=schema).text)
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "project_name_override": PACKAGE,
                    "package_name_override": PACKAGE,
                    # No formatter run on the output: the test imports it, nobody reads it.
                    "post_hooks": [],
                }
            )
        )
        output = tmp_path / PACKAGE
        result = subprocess.run(
            [
                str(GENERATOR),
                "generate",
                "--path",
                str(source),
                "--output-path",
                str(output),
                "--config",
                str(config),
                "--meta",
                "none",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        # Warnings mean endpoints or models it could not generate: the contract is incomplete.
        assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
        sys.path.insert(0, str(tmp_path))
        return Generated(output)

    yield build
    sys.path[:] = [entry for entry in sys.path if entry != str(tmp_path)]
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def sign_up(base_url: str, recorder: Recorder) -> str:
    """Sign up by phone and verify the SMS code (allauth headless, app client): the token."""
    with httpx.Client(base_url=base_url, event_hooks={"response": [recorder]}) as http:
        signup = http.post(f"{ALLAUTH}/auth/signup", json={"phone": PHONE})
        assert signup.status_code == 401, signup.text
        token = signup.json()["meta"]["session_token"]
        verified = http.post(
            f"{ALLAUTH}/auth/phone/verify",
            json={"code": sms_code(PHONE)},
            headers={"X-Session-Token": token},
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["meta"]["is_authenticated"] is True
        return verified.json()["meta"]["session_token"]


def is_model(value: Any, name: str, generated: Generated) -> bool:
    return isinstance(value, getattr(generated.models, name))


def test_python_app_flow_against_the_live_server(live_server, generate):
    poll = open_poll()
    api_schema, allauth_schema = fetch_schemas(live_server.url)
    generated = generate(api_schema)
    models = generated.models
    recorder = Recorder()
    token = sign_up(live_server.url, recorder)
    http_args = {"event_hooks": {"response": [recorder]}}
    language = {"Accept-Language": "en"}
    anonymous = generated.client.Client(
        base_url=live_server.url, headers=language, httpx_args=http_args
    )
    client = generated.client.AuthenticatedClient(
        base_url=live_server.url,
        token=token,
        prefix="",
        auth_header_name="X-Session-Token",
        headers=language,
        httpx_args=http_args,
    )

    # Profile: an error parses into Error; the profile into Me.
    refused = generated.op("me_retrieve").sync_detailed(client=anonymous)
    assert refused.status_code == 401
    assert is_model(refused.parsed, "Error", generated)
    assert refused.parsed.code == "authentication_required"
    me = generated.op("me_retrieve").sync_detailed(client=client)
    assert is_model(me.parsed, "Me", generated), me.content
    assert me.parsed.phone == PHONE
    profile = models.PatchedMeUpdateRequest(
        district=DISTRICT, birth_year=1987, gender=models.GenderEnum("female")
    )
    updated = generated.op("me_update").sync_detailed(client=client, body=profile)
    assert is_model(updated.parsed, "Me", generated), updated.content
    assert updated.parsed.district.code == DISTRICT
    assert updated.parsed.birth_year == 1987
    invalid = generated.op("me_update").sync_detailed(
        client=client, body=models.PatchedMeUpdateRequest(birth_year=1800)
    )
    assert invalid.status_code == 400
    assert is_model(invalid.parsed, "Error", generated)
    assert invalid.parsed.code == "invalid_input"
    assert "birth_year" in invalid.parsed.fields.additional_properties

    # List and detail.
    listed = generated.op("v1_polls_list").sync_detailed(client=client)
    assert is_model(listed.parsed, "PaginatedPollListItemList", generated), listed.content
    [item] = [entry for entry in listed.parsed.results if entry.id == poll.pk]
    assert is_model(item, "PollListItem", generated)
    assert item.eligible is True and item.has_voted is False
    detail = generated.op("v1_polls_retrieve").sync_detailed(poll_id=poll.pk, client=client)
    assert is_model(detail.parsed, "PollDetail", generated), detail.content
    option = detail.parsed.options[0]
    assert is_model(option, "Option", generated)

    # Vote, replay the same request, vote again.
    ballots = generated.op("v1_polls_ballots_create")
    key = str(uuid.uuid4())
    ballot = models.BallotRequestRequest(options=[option.id])
    cast = ballots.sync_detailed(poll_id=poll.pk, client=client, body=ballot, idempotency_key=key)
    assert cast.status_code == 201, cast.content
    assert is_model(cast.parsed, "BallotResponse", generated)
    assert "Idempotent-Replayed" not in cast.headers
    replay = ballots.sync_detailed(poll_id=poll.pk, client=client, body=ballot, idempotency_key=key)
    assert replay.status_code == 201, replay.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.to_dict() == cast.parsed.to_dict()
    again = ballots.sync_detailed(
        poll_id=poll.pk, client=client, body=ballot, idempotency_key=str(uuid.uuid4())
    )
    assert again.status_code == 409
    assert is_model(again.parsed, "Error", generated), again.content
    assert again.parsed.code == "already_voted"
    voted = generated.op("v1_polls_retrieve").sync_detailed(poll_id=poll.pk, client=client)
    assert voted.parsed.has_voted is True

    # Results (withheld below a batch, but listing every option) and the receipt.
    results = generated.op("v1_polls_results_retrieve").sync_detailed(
        poll_id=poll.pk, client=client
    )
    assert is_model(results.parsed, "Results", generated), results.content
    assert results.parsed.poll == poll.pk
    assert option.id in [entry.id for entry in results.parsed.options]
    assert all(attrs.has(type(entry)) for entry in results.parsed.options)
    assert results.parsed.withheld is True and results.parsed.total is None
    receipt = generated.op("v1_receipts_retrieve").sync_detailed(
        code=cast.parsed.receipt, client=client
    )
    assert is_model(receipt.parsed, "Receipt", generated), receipt.content
    assert receipt.parsed.poll == poll.pk
    assert receipt.parsed.status in (
        models.ReceiptStatusEnum("sealed"),
        models.ReceiptStatusEnum("counted"),
    )

    # Comment.
    text = "막차 시간이 늘면 좋겠습니다."
    comment = generated.op("v1_polls_comments_create").sync_detailed(
        poll_id=poll.pk,
        client=client,
        body=models.CommentRequestRequest(body=text),
        idempotency_key=str(uuid.uuid4()),
    )
    assert comment.status_code == 201, comment.content
    assert is_model(comment.parsed, "Comment", generated)
    assert comment.parsed.body == text and comment.parsed.is_mine is True

    # Proposal, and a refused one.
    proposals = generated.op("v1_proposals_create")
    proposal = proposals.sync_detailed(
        client=client,
        body=models.ProposalCreateRequest(
            title="지하철 심야 연장 운행",
            description="금·토 지하철을 새벽 2시까지 운행할까요?",
            options=["찬성", "반대"],
            district=None,
            duration_days=14,
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert proposal.status_code == 201, proposal.content
    assert is_model(proposal.parsed, "ProposalDetail", generated)
    assert proposal.parsed.status == models.ProposalStatusEnum("open")
    assert proposal.parsed.is_mine is True and proposal.parsed.district is None
    refused_proposal = proposals.sync_detailed(
        client=client,
        body=models.ProposalCreateRequest(
            title="", description="", options=["하나"], duration_days=14
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    assert refused_proposal.status_code == 400
    assert is_model(refused_proposal.parsed, "Error", generated)
    assert refused_proposal.parsed.code == "invalid_input"

    schemas = strict(api_schema, allauth_schema)
    assert_contract_kept(schemas, recorder.exchanges, expected=17)
    assert_strictness_bites(schemas, next(e for e in recorder.exchanges if e.status == 201))

"""The contract as a TypeScript app sees it (issue 17).

From the schemas the live server serves, ``openapi-typescript`` generates the types; the app flow
(contract/src/flow.ts) must type-check against them with ``tsc --noEmit --strict`` (a renamed
field or an undocumented body breaks the build, as it would break the app's), then runs against
the live server: sign up by SMS code, profile, list, vote, replay, results, receipt, comment,
proposal. Every answer it received must match the schema with ``additionalProperties: false``.

Skips only where Node.js or npm is absent. The npm packages are the ones contract/package-lock.json
pins, installed with ``npm ci`` once (again only when the lock file changes).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.contract.support import (
    DISTRICT,
    assert_contract_kept,
    assert_strictness_bites,
    fetch_schemas,
    open_poll,
    read_log,
    sms_code,
    strict,
)
from tests.openapi_strict import find_operation

CONTRACT = Path(settings.BASE_DIR) / "contract"
NODE_MODULES = CONTRACT / "node_modules"
STAMP = NODE_MODULES / ".package-lock.sha256"
NODE = shutil.which("node")
NPM = shutil.which("npm")
PHONE = "+821055501717"
FLOW_TIMEOUT = 60.0

pytestmark = [
    # The live server commits: transactional, and tests/conftest.py reloads the districts after.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        NODE is None or NPM is None,
        reason="needs Node.js and npm on PATH (they generate and run the TypeScript client)",
    ),
]


def run(command: list[str], *, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """contract/node_modules as package-lock.json pins it: ``npm ci`` when the lock file changed
    since the last install (a stamp records its hash), under a lock so that concurrent test runs
    do not install over each other."""
    assert NPM is not None  # (the module skips without it)
    lock_hash = hashlib.sha256((CONTRACT / "package-lock.json").read_bytes()).hexdigest()
    lock_path = Path(tempfile.gettempdir()) / "mvoting-contract-npm.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (STAMP.exists() and STAMP.read_text() == lock_hash):
                run(
                    [NPM, "ci", "--prefer-offline", "--no-audit", "--no-fund"],
                    cwd=CONTRACT,
                    timeout=300,
                )
                STAMP.write_text(lock_hash)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return NODE_MODULES


@pytest.fixture
def build_dir(node_modules: Path) -> Iterator[Path]:
    """A copy of the flow with node_modules linked: the generated types are the test's own, so
    runs on several databases at once do not write over each other."""
    with tempfile.TemporaryDirectory(prefix="mvoting-contract-ts-") as tmp:
        root = Path(tmp)
        shutil.copytree(CONTRACT / "src", root / "src", ignore=shutil.ignore_patterns("generated"))
        (root / "node_modules").symlink_to(node_modules)
        # package.json too: its "type": "module" makes tsc emit, and node run, ES modules.
        for name in ("tsconfig.json", "package.json"):
            shutil.copy(CONTRACT / name, root / name)
        yield root


def generate_types(root: Path, *, api: dict, allauth: dict) -> None:
    generated = root / "src" / "generated"
    generated.mkdir(parents=True)
    tool = str(root / "node_modules" / ".bin" / "openapi-typescript")
    for name, schema in (("api", api), ("allauth", allauth)):
        source = root / f"{name}.json"
        source.write_text(json.dumps(schema))
        run([tool, str(source), "-o", str(generated / f"{name}.d.ts")], cwd=root)


def compile_flow(root: Path) -> Path:
    """Type-check strictly, then emit: the JavaScript node runs."""
    tsc = str(root / "node_modules" / ".bin" / "tsc")
    run([tsc, "--noEmit", "--strict", "-p", "tsconfig.json"], cwd=root)
    # The types were just checked: emitting needs no second check.
    run([tsc, "--noCheck", "-p", "tsconfig.json"], cwd=root)
    return root / "dist" / "flow.js"


def run_flow(script: Path, *, base_url: str, log: Path) -> tuple[list[str], str]:
    """Run the flow, answering its SMS-code prompts from the outbox; (stdout lines, stderr)."""
    assert NODE is not None  # (the module skips without it)
    env = {
        **os.environ,
        "CONTRACT_BASE_URL": base_url,
        "CONTRACT_PHONE": PHONE,
        "CONTRACT_DISTRICT": DISTRICT,
        "CONTRACT_LOG": str(log),
    }
    process = subprocess.Popen(
        [NODE, str(script)],
        cwd=script.parent,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The server is a thread of this process: the watchdog ends a flow that hangs on it.
    watchdog = threading.Timer(FLOW_TIMEOUT, process.kill)
    watchdog.start()
    lines = []
    try:
        assert process.stdout is not None and process.stdin is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("SMS_CODE? "):
                process.stdin.write(sms_code(line.split(" ", 1)[1].strip()) + "\n")
                process.stdin.flush()
        stderr = process.stderr.read() if process.stderr else ""
        process.wait()
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    assert process.returncode == 0, (
        f"the TypeScript flow failed (exit {process.returncode}):\n"
        + "\n".join(lines)
        + f"\n{stderr}"
    )
    return lines, stderr


def test_typescript_app_flow_against_the_live_server(live_server, build_dir):
    poll = open_poll()
    api, allauth = fetch_schemas(live_server.url)
    generate_types(build_dir, api=api, allauth=allauth)
    script = compile_flow(build_dir)
    log = build_dir / "responses.jsonl"

    lines, _stderr = run_flow(script, base_url=live_server.url, log=log)

    assert lines[-1] == "FLOW OK", lines
    steps = [line.removeprefix("STEP ") for line in lines if line.startswith("STEP ")]
    assert steps == [
        "sign up",
        "profile",
        "list",
        "vote",
        "replay",
        "results",
        "receipt",
        "comment",
        "proposal",
    ]
    exchanges = read_log(str(log))
    schemas = strict(api, allauth)
    # The operation the flow called (openapi-fetch's schemaPath) is the one its answer is
    # checked against.
    for exchange in exchanges:
        template, _operation = find_operation(
            schemas.for_path(exchange.path), method=exchange.method, path=exchange.path
        )
        assert exchange.template == template, exchange
    voted = [e for e in exchanges if e.method == "POST" and e.path.endswith("/ballots/")]
    assert [e.status for e in voted] == [201, 201, 409]
    assert voted[0].body["poll"] == poll.pk
    assert_contract_kept(schemas, exchanges, expected=20)
    assert_strictness_bites(schemas, voted[0])

"""The image and the compose file, checked without a Docker engine.

- `.dockerignore` read with Docker's own matching rules: a developer's database (with the demo
  official), virtualenv, git history, secrets and caches stay out of the build context, and
  everything git tracks (the code, locale, static sources, data) goes in.
- The Dockerfile's build step starts production settings; the server runs as a fixed non-root
  uid with a media directory of its own.
- The healthcheck docker-compose.yml gives `web` and `ws` is run against a production server
  whose ALLOWED_HOSTS is a real domain.
"""

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.config.production_env import ROOT, free_port, production_env, secret_keys

# --- .dockerignore, as Docker reads it (moby/patternmatcher) ------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over a context-relative path: `**` spans
    any number of directories, `*` and `?` stay inside one name."""
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" also matches no directory at all
                i += 1
                out += "(?:.*/)?"
            else:
                out += ".*"
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        i += 1
    return re.compile(out + r"\Z")


@cache
def _rules() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        rules.append((negated, _pattern_regex(pattern)))
    return tuple(rules)


def excluded(path: str) -> bool:
    """Whether Docker leaves `path` out of the context: the last rule matching the path or one
    of its parent directories decides (an excluded directory takes its contents with it)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for negated, regex in _rules():
        if any(regex.match(candidate) for candidate in candidates):
            verdict = not negated
    return verdict


def test_the_matcher_follows_dockers_rules():
    # The matcher is what the other checks stand on: a wrong one would pass anything.
    assert _pattern_regex("**/*.pyc").match("a/b/c.pyc")
    assert _pattern_regex("**/*.pyc").match("c.pyc")
    assert not _pattern_regex("*.pyc").match("a/c.pyc")
    assert _pattern_regex("db.sqlite3*").match("db.sqlite3-wal")
    assert not _pattern_regex("media").match("voting/media")


@pytest.mark.parametrize(
    "path",
    [
        ".venv/lib/python3.11/site-packages/django/__init__.py",
        "db.sqlite3",
        "db.sqlite3-wal",
        "db.sqlite3-shm",
        ".git/HEAD",
        ".env",
        "bench/results/latest.json",
        "media/polls/photo.jpg",
        "private-media/outcomes/draft.pdf",
        "staticfiles/admin/css/base.css",
        "node_modules/left-pad/index.js",
        "voting/__pycache__/models.cpython-311.pyc",
        "voting/models.pyc",
        "manage.pyc",
        ".pytest_cache/v/cache/nodeids",
        "tests/.pytest_cache/README.md",
        ".mypy_cache/3.11/cache.db",
        ".ruff_cache/CACHEDIR.TAG",
        ".import_linter_cache/x.json",
        ".hypothesis/constants/abc",
        "mvoting.egg-info/PKG-INFO",
        "celerybeat-schedule.db",
    ],
)
def test_dockerignore_keeps_the_developers_tree_out(path):
    assert excluded(path), f"{path} would be copied into the image"


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "config/settings.py",
        "voting/models/__init__.py",
        "voting/static/voting/dashboard.js",
        "voting/templates/voting/dashboard/poll.html",
        "locale/ko/LC_MESSAGES/django.po",
        "locale/ko/LC_MESSAGES/django.mo",
        "districts/data/seoul-2025-07-01.tsv",
        "verifier/verify_board.py",
        "deploy/nginx.conf",
    ],
)
def test_dockerignore_keeps_what_the_image_needs(path):
    assert not excluded(path), f"{path} would be missing from the image"


def _git(*args: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return [line for line in result.stdout.splitlines() if line]


def test_everything_git_tracks_goes_into_the_image():
    """The code, the templates, static sources, locale and data are what git tracks: none of it
    may be excluded (the image would start without it)."""
    left_out = [path for path in _git("ls-files") if excluded(path)]
    assert left_out == []


def test_everything_git_ignores_stays_out_of_the_image():
    """What git ignores in this tree (the virtualenv, databases, caches, results) is local: none
    of it may reach the image."""
    ignored = [
        path.rstrip("/")
        for path in _git("ls-files", "--others", "--ignored", "--exclude-standard", "--directory")
    ]
    assert ignored, "expected a developer's tree with ignored files"
    copied = [path for path in ignored if not excluded(path)]
    assert copied == []


# --- The Dockerfile -----------------------------------------------------------------------------


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_the_server_runs_as_a_fixed_non_root_user_that_owns_only_media_and_tmp():
    text = _dockerfile()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, "the image would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, "a numeric uid, not root or a name like nobody"
    assert gid.isdigit() and int(gid) > 0
    assert re.search(r"^\s*MEDIA_ROOT=/app/media\b", text, flags=re.MULTILINE)
    assert re.search(r"\bPRIVATE_MEDIA_ROOT=/app/private-media\b", text)
    assert re.search(rf"install -d -o {uid} -g {gid} -m 07[0-7]0 /app/media\b", text)
    # Private files (outcome attachments before publication) readable by the server alone.
    assert re.search(rf"install -d -o {uid} -g {gid} -m 0700 /app/private-media\b", text)
    assert "chmod 1777 /tmp" in text
    # Nothing else is handed to the server: the code stays root's, so it cannot rewrite itself.
    assert not re.search(r"chown\s+-R", text)


def _collectstatic_env() -> dict[str, str]:
    run = re.search(
        r"^RUN ((?:[A-Z_]+=\S+\s+(?:\\\n\s*)?)+)python manage.py collectstatic",
        _dockerfile(),
        flags=re.MULTILINE,
    )
    assert run, "the Dockerfile no longer runs collectstatic with inline settings"
    return dict(re.findall(r"([A-Z_]+)=(\S+)", run.group(1)))


def test_the_build_step_starts_production_settings(tmp_path):
    """`docker build` runs collectstatic with DEBUG off and placeholders: every setting production
    requires must be among them, or the build stops at the settings' configuration error."""
    build_env = _collectstatic_env()
    assert build_env["DEBUG"] == "false"
    env = production_env(tmp_path)
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "BALLOT_SEALING_PUBLIC_KEY",
        "BOARD_VERIFY_KEY",
        *secret_keys(),
    ):
        env.pop(name)
    env.update(build_env)
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]


# --- docker-compose.yml's healthchecks -----------------------------------------------------------


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _healthcheck_code(service: str) -> str:
    test = _compose()["services"][service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    return test[3]


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """gunicorn on production settings, ALLOWED_HOSTS a real domain (and a subdomain pattern)."""
    workdir = tmp_path_factory.mktemp("healthcheck")
    port = free_port()
    env = production_env(workdir, ALLOWED_HOSTS="vote.seoul.go.kr,.seoul.go.kr")
    env.pop("REDIS_URL", None)
    log = (workdir / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/healthz", headers={"Host": "vote.seoul.go.kr"}
                )
                urllib.request.urlopen(request, timeout=5)  # noqa: S310 (http, built above)
                break
            except OSError:  # not listening yet, or still booting
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((workdir / "server.log").read_text()[-3000:])
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _run_healthcheck(code: str, port: int, allowed_hosts: str) -> subprocess.CompletedProcess:
    assert code.count("127.0.0.1:8000") == 1, code
    return subprocess.run(
        [sys.executable, "-c", code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
        env={"ALLOWED_HOSTS": allowed_hosts, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("service", ["web", "ws"])
@pytest.mark.parametrize("allowed_hosts", ["vote.seoul.go.kr", ".seoul.go.kr,vote.seoul.go.kr"])
def test_the_healthcheck_passes_once_allowed_hosts_is_the_real_domain(
    production_server, service, allowed_hosts
):
    result = _run_healthcheck(_healthcheck_code(service), production_server, allowed_hosts)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_healthcheck_without_the_host_would_fail_there(production_server):
    """The check the compose file had before: 127.0.0.1 as Host, refused with a 400 by a server
    whose ALLOWED_HOSTS is the real domain. Proves the server above really checks the host."""
    old = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
    result = _run_healthcheck(old, production_server, "vote.seoul.go.kr")
    assert result.returncode != 0
    assert "400" in result.stderr


def test_compose_passes_the_required_keys_to_every_server():
    """The server refuses to start without these keys (tests/config/test_settings.py): compose
    must pass each, and refuse to start the stack when one is unset (`:?`)."""
    text = (ROOT / "docker-compose.yml").read_text()
    app_env = _compose()["x-app-env"]
    for name in ("SECRET_KEY", *secret_keys()):
        assert app_env[name] == f"${{{name}:?set {name}}}", name
    assert "EMAIL_URL" in app_env
    for service in ("migrate", "web", "worker", "counter", "beat", "ws"):
        environment = _compose()["services"][service]["environment"]
        assert environment["VOTER_KEY_SECRET"] == app_env["VOTER_KEY_SECRET"], service
    assert "x-healthcheck: &app-healthcheck" in text

"""deploy/nginx.conf run by a real nginx (Debian's package) on 127.0.0.1, in front of a server
that records the headers it receives: an upstream TLS terminator's X-Forwarded-Proto reaches the
app unchanged, and without one the app hears the scheme nginx itself was reached by.

Only the upstream addresses and the listening port are rewritten (compose's service names do not
resolve here); every directive the file holds is nginx's to check (`nginx -t` first).
"""

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.config.production_env import ROOT, free_port

CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)


def test_both_locations_forward_the_kept_scheme():
    """Read without nginx too: no location may overwrite the header with nginx's own $scheme."""
    text = CONF.read_text()
    assert re.search(
        r"map \$http_x_forwarded_proto \$forwarded_proto \{\s*default \$http_x_forwarded_proto;"
        r"\s*''\s+\$scheme;\s*\}",
        text,
    )
    locations = re.findall(r"location [^{]+\{[^}]*\}", text)
    assert len(locations) == 2
    for location in locations:
        assert "proxy_set_header X-Forwarded-Proto $forwarded_proto;" in location
    assert "X-Forwarded-Proto $scheme" not in text


class _Recorder(BaseHTTPRequestHandler):
    """Answers each request with the headers it arrived with, as JSON."""

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[int]:
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")
    workdir = tmp_path_factory.mktemp("nginx")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    upstream_port = upstream.server_address[1]
    port = free_port()

    site = CONF.read_text()
    rewrites = {
        "server web:8000;": f"server 127.0.0.1:{upstream_port};",
        "server ws:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80;": f"listen 127.0.0.1:{port};",
    }
    for old, new in rewrites.items():
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    (workdir / "site.conf").write_text(site)
    # What the nginx image's main file gives the conf.d snippet, with paths a test may write.
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (workdir / "nginx.conf").write_text(
        f"""
daemon off;
master_process off;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    access_log {workdir / "access.log"};
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {workdir / "site.conf"};
}}
"""
    )
    main = str(workdir / "nginx.conf")
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(workdir), "-c", main], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(
        [NGINX, "-p", str(workdir), "-c", main],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((workdir / "error.log").read_text()[-3000:])
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()


def _through(port: int, path: str, headers: dict[str, str]) -> dict[str, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http, built above)
        received = json.loads(response.read())
    assert received["path"] == path
    return {name.lower(): value for name, value in received["headers"].items()}


@pytest.mark.parametrize("path", ["/api/v1/polls/", "/ws/live/1/"])
def test_an_upstream_terminators_scheme_reaches_the_app(proxy, path):
    received = _through(proxy, path, {"X-Forwarded-Proto": "https", "Host": "vote.seoul.go.kr"})
    assert received["x-forwarded-proto"] == "https"
    assert received["host"] == "vote.seoul.go.kr"


@pytest.mark.parametrize("path", ["/api/v1/polls/", "/ws/live/1/"])
def test_without_a_terminator_the_app_hears_nginxs_own_scheme(proxy, path):
    received = _through(proxy, path, {"Host": "vote.seoul.go.kr"})
    assert received["x-forwarded-proto"] == "http"
